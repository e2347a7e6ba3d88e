import type { TollgateConfig } from './tollgate-config';

/**
 * Settings that run fine locally but are wrong in a deployment: a Stripe test-mode payment link sends
 * real customers to a sample page, and API Gateway cannot reach a loopback or private backend. The
 * stack reports each as a synth warning (`cdk deploy --strict` refuses to deploy with any).
 */

export interface DeployWarning {
  /** The setting, as it is named in cdk.json. */
  readonly setting: string;
  readonly message: string;
}

/** Stripe's test-mode Payment Links, Checkout and customer portal links. */
function isStripeTestLink(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  if (host === 'buy.stripe.com') return url.pathname.startsWith('/test_');
  if (host === 'billing.stripe.com') return /^\/p\/login\/test_/.test(url.pathname);
  if (host === 'checkout.stripe.com') return url.pathname.includes('/cs_test_');
  return false;
}

/** Hosts API Gateway, on the public internet, can never reach. */
function isUnreachableHost(url: URL): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) return true;
  if (host.includes(':')) return host === '::1' || host === '::' || /^f[cd]/.test(host) || host.startsWith('fe80:');
  const octets = host.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o))) return false;
  const [a, b] = octets as [number, number, number, number];
  return a === 0 || a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

export function deployWarnings(config: TollgateConfig): DeployWarning[] {
  const warnings: DeployWarning[] = [];
  for (const setting of ['checkoutUrl', 'portalUrl'] as const) {
    const value = config[setting];
    if (value !== undefined && isStripeTestLink(new URL(value))) {
      warnings.push({
        setting: `tollgate:${setting}`,
        message: `tollgate:${setting} is a Stripe test-mode link (${value}): paying customers would be sent to a sample page; set your live link, or remove it`,
      });
    }
  }
  if (config.backendUrl !== undefined && isUnreachableHost(new URL(config.backendUrl))) {
    warnings.push({
      setting: 'tollgate:backendUrl',
      message: `tollgate:backendUrl is ${config.backendUrl}, which API Gateway cannot reach: deploy with -c tollgate:backendUrl=<your backend's public URL>`,
    });
  }
  return warnings;
}
