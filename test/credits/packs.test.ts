import { loadConfig, ConfigError } from '../../lib/config/tollgate-config';
import { portalCatalog } from '../../lib/config/portal-catalog';
import { packCheckoutFields } from '../../lambda/portal/checkout';
import { readCreditsCheckout } from '../../lambda/webhook/events';

// A credit pack with a lifetime (#26 item 2): configured as `expiresIn`, stated at Checkout, carried to the webhook's grant.

const load = (context: Record<string, unknown>) => loadConfig((key) => context[key]);
const PACK = { id: 'credits_100', name: '100 credits', credits: 100, price: 'credits_100' };

describe('a credit pack that expires', () => {
  it('reads expiresIn from the pack configuration and hands it to the portal catalog', () => {
    const config = load({ 'tollgate:plans': { pro: { name: 'Pro' } }, 'tollgate:creditPacks': [{ ...PACK, expiresIn: '90d' }] });
    expect(config.creditPacks).toEqual([{ ...PACK, expiresIn: '90d' }]);
    expect(portalCatalog(config).creditPacks).toEqual([{ ...PACK, expiresIn: '90d' }]);
    expect(load({ 'tollgate:creditPacks': [PACK] }).creditPacks).toEqual([PACK]);
  });

  it.each([['90', '"90"'], ['0d', '"0d"'], [90, '90'], ['3 months', '"3 months"']])('refuses expiresIn %j with what to give instead', (expiresIn, shown) => {
    const context = { 'tollgate:creditPacks': [{ ...PACK, expiresIn }] };
    expect(() => load(context)).toThrow(ConfigError);
    expect(() => load(context)).toThrow(`tollgate:creditPacks[0].expiresIn is ${shown}: use a number of days, hours or minutes such as "90d", "12h" or "90m", or leave it out for units that never expire`);
  });

  it('states the expiry on the Checkout page and passes the lifetime to the webhook in the metadata', () => {
    expect(packCheckoutFields({ ...PACK, expiresIn: '90d' })).toEqual({
      metadata: { tollgate_credits: '100', tollgate_expires_in: '90d' },
      custom_text: { submit: { message: 'The 100 credits of 100 credits expire 90 days after payment; unused units then stop counting.' } },
    });
    // No lifetime: nothing said, the units never expire.
    expect(packCheckoutFields(PACK)).toEqual({ metadata: { tollgate_credits: '100' } });
  });

  it("reads the lifetime from the paid session's metadata (the grant expires that long after it is recorded); refuses one it cannot read", () => {
    const session = { id: 'cs_test_a1', object: 'checkout.session', mode: 'payment', payment_status: 'paid', customer: 'cus_Pack1', metadata: { tollgate_credits: '100', tollgate_expires_in: '90d' } };
    expect(readCreditsCheckout(session)).toMatchObject({ kind: 'change', customerId: 'cus_Pack1', change: { stream: 'credits', credits: 100, purchaseId: 'cs_test_a1', expiresInSeconds: 90 * 86_400 } });
    expect(readCreditsCheckout({ ...session, metadata: { tollgate_credits: '100' } })).not.toHaveProperty('change.expiresInSeconds');
    expect(() => readCreditsCheckout({ ...session, metadata: { tollgate_credits: '100', tollgate_expires_in: 'soon' } })).toThrow('the checkout\'s metadata.tollgate_expires_in is "soon": expected a lifetime such as 90d, 12h or 90m');
  });
});
