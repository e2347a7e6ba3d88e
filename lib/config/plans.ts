import type { UsagePlan } from '../../lambda/metering/rules';
import type { TollgateConfig } from './tollgate-config';

/** The configured usage plans (cdk.json `tollgate:plans`), by Stripe price; none when the configuration declares none. */
export function configuredPlans(config: TollgateConfig): Readonly<Record<string, UsagePlan>> {
  return (config as { readonly plans?: Readonly<Record<string, UsagePlan>> }).plans ?? {};
}
