/**
 * The package's public surface, on purpose: the construct, its props and the errors its validation
 * throws. The client helper is `tollgate/client`; everything else is private.
 */
export { Tollgate, TOLLGATE_PROP_NAMES, type TollgatePlanProps, type TollgateProps } from './tollgate';
export { ConfigError, type CreditPack, type ReservedConcurrency } from './config/tollgate-config';
export { ApiDocumentError } from './openapi/load';
export { OpenApiError } from './openapi/build';
