/**
 * What a caller presents in `Authorization: Bearer <credential>`, told apart by shape alone (no read):
 * a tollgate key is `tg_…` with no dot; a JWT is three base64url segments joined by dots (RFC 7515
 * compact serialization). Anything else is malformed.
 */

/** API Gateway accepts headers up to 10 KB; tokens with many groups run to a few KB, nothing needs more. */
export const MAX_AUTHORIZATION_LENGTH = 8192;
/** A JOSE header is a few fields (alg, kid, typ): a longer one is an attack on the parser, refused unread. */
export const MAX_JWT_HEADER_SEGMENT = 1024;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export type PresentedCredential = { readonly kind: 'key'; readonly value: string } | { readonly kind: 'jwt'; readonly value: string };

export function credentialKind(credential: string): PresentedCredential['kind'] {
  return credential.includes('.') ? 'jwt' : 'key';
}

/** A JWT's shape (three base64url segments, a header of sane length); the signature is checked later. */
export function isJwtShaped(credential: string): boolean {
  if (credential.length > MAX_AUTHORIZATION_LENGTH || !JWT_SHAPE.test(credential)) return false;
  return credential.indexOf('.') <= MAX_JWT_HEADER_SEGMENT;
}
