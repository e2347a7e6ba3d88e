import { loadPortalSettings } from '../../lambda/portal/settings';
import { synth } from '../support/synth';

/** The portal function's settings as the synthesized stack gives them (the environment, read once at init). */
describe('portal settings', () => {
  it('reads the usage plans the authorizer and the usage route read, so the account page counts as they do', () => {
    const { template } = synth();
    const portal = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => /^Portal[0-9A-F]{8}$/.test(id))![1];
    // Tokens (table names, secret names) stand in as strings: only their presence matters here.
    const env = Object.fromEntries(Object.entries<unknown>(portal.Properties.Environment.Variables).map(([k, v]) => [k, typeof v === 'string' ? v : 'token']));
    const settings = loadPortalSettings(env);
    expect(settings.plans).toEqual({ pro: { name: 'Pro', overage: 'block' }, sample_metered: { name: 'Metered', quota: 20, overage: 'block' } });
    expect(settings.catalog.plans.map((p) => p.lookupKey)).toEqual(['pro', 'sample_metered']);
  });
});
