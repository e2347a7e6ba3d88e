import { loadConfig } from '../../lib/config/tollgate-config';
import { portalCatalog } from '../../lib/config/portal-catalog';
import { decodeCatalog, portalEnvironment, PORTAL_ENV } from '../../lambda/portal/settings';
import { contrastWithWhite } from '../../lambda/portal/brand';

const load = (context: Record<string, unknown>) => loadConfig((key) => context[key]);

describe('tollgate:portalName, portalLogoUrl and portalColors', () => {
  it('reads them from cdk.json or -c, and carries them to the portal through its catalog', () => {
    const config = load({ 'tollgate:portalName': ' Bookshop ', 'tollgate:portalLogoUrl': 'https://cdn.bookshop.example/logo.svg', 'tollgate:portalColors': '{"accent": "#0b57d0", "link": "#7b1fa2"}' });
    expect(config.portalBrand).toEqual({ name: 'Bookshop', logoUrl: 'https://cdn.bookshop.example/logo.svg', colors: { accent: '#0b57d0', link: '#7b1fa2' } });
    const env = portalEnvironment(portalCatalog(config), 'secret', config);
    expect(decodeCatalog(env[PORTAL_ENV.catalog]!).brand).toEqual(config.portalBrand);
    // None set: no brand, and the catalog the portal reads is as before.
    expect(load({}).portalBrand).toBeUndefined();
    expect(JSON.parse(portalEnvironment(portalCatalog(load({})), 'secret', load({}))[PORTAL_ENV.catalog]!)).not.toHaveProperty('brand');
  });

  it.each([
    [{ 'tollgate:portalName': 'Book "shop"' }, 'tollgate:portalName must be the product\'s name (1 to 60 characters, no quotes, backslashes or angle brackets)'],
    [{ 'tollgate:portalName': 'x'.repeat(61) }, 'tollgate:portalName must be'],
    [{ 'tollgate:portalLogoUrl': 'http://cdn.bookshop.example/logo.svg' }, 'tollgate:portalLogoUrl is "http://cdn.bookshop.example/logo.svg": use an https URL of the logo image'],
    [{ 'tollgate:portalLogoUrl': 'javascript:alert(1)' }, 'tollgate:portalLogoUrl is "javascript:alert(1)"'],
    [{ 'tollgate:portalColors': '#0b57d0' }, 'tollgate:portalColors must be an object such as {"accent": "#0b57d0", "link": "#0b57d0"}'],
    [{ 'tollgate:portalColors': { accent: 'blue' } }, 'tollgate:portalColors.accent is "blue": use a hex colour such as #0b57d0'],
    [{ 'tollgate:portalColors': { header: '#000000' } }, 'tollgate:portalColors has an unknown field "header": use accent and link'],
    [{ 'tollgate:portalColors': { accent: '#ffeb3b' } }, 'tollgate:portalColors.accent #ffeb3b has a contrast of 1.2:1 with white text on it: use a darker colour (at least 4.5:1, WCAG AA)'],
    [{ 'tollgate:portalColors': { link: '#9e9e9e' } }, 'tollgate:portalColors.link #9e9e9e has a contrast of 2.7:1 with the white page'],
  ])('refuses %j with a message that says what to use', (context, message) => {
    expect(() => load(context)).toThrow(message);
  });

  it('measures contrast as WCAG 2 does', () => {
    expect(contrastWithWhite('#000')).toBeCloseTo(21, 5);
    expect(contrastWithWhite('#ffffff')).toBeCloseTo(1, 5);
    expect(contrastWithWhite('#767676')).toBeGreaterThanOrEqual(4.5);
    expect(contrastWithWhite('#777777')).toBeLessThan(4.5);
  });
});
