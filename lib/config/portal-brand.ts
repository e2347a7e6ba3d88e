import { contrastWithWhite, HEX_COLOR, MIN_CONTRAST, type PortalBrand } from '../../lambda/portal/brand';
import { jsonValue } from './json-value';

/**
 * The portal's presentation from configuration: `tollgate:portalName`, `tollgate:portalLogoUrl` and
 * `tollgate:portalColors` (lambda/portal/brand.ts). Validated with the rest, at synth and at npm start:
 * a colour the portal's text would be unreadable on is refused, not shipped.
 */

const KEY = 'tollgate:';
// eslint-disable-next-line no-control-regex
const DISPLAY_NAME = /^[^"\\<>\u0000-\u001f]{1,60}$/;

export function readPortalBrand(read: (name: string) => unknown, problems: string[]): PortalBrand | undefined {
  const name = read(`${KEY}portalName`);
  const logoUrl = read(`${KEY}portalLogoUrl`);
  const colors = read(`${KEY}portalColors`);
  const brand: { name?: string; logoUrl?: string; colors?: { accent?: string; link?: string } } = {};
  if (name !== undefined && name !== null) {
    if (typeof name !== 'string' || !DISPLAY_NAME.test(name.trim())) problems.push(`${KEY}portalName must be the product's name (1 to 60 characters, no quotes, backslashes or angle brackets)`);
    else brand.name = name.trim();
  }
  if (logoUrl !== undefined && logoUrl !== null) {
    if (typeof logoUrl !== 'string' || !/^https:\/\/[^\s"'\\<>]+$/.test(logoUrl) || !URL.canParse(logoUrl)) {
      problems.push(`${KEY}portalLogoUrl is ${JSON.stringify(logoUrl)}: use an https URL of the logo image, such as https://example.com/logo.svg`);
    } else {
      brand.logoUrl = logoUrl;
    }
  }
  if (colors !== undefined && colors !== null) {
    const parsed = jsonValue(colors);
    const example = '{"accent": "#0b57d0", "link": "#0b57d0"}';
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      problems.push(`${KEY}portalColors must be an object such as ${example}`);
    } else {
      const entries = Object.entries(parsed as Record<string, unknown>);
      const unknown = entries.filter(([k]) => k !== 'accent' && k !== 'link');
      if (unknown.length > 0) problems.push(`${KEY}portalColors has an unknown field ${JSON.stringify(unknown[0]![0])}: use accent and link`);
      const out: { accent?: string; link?: string } = {};
      for (const [field, value] of entries.filter(([k]) => k === 'accent' || k === 'link')) {
        const on = field === 'accent' ? 'white text on it' : 'the white page';
        if (typeof value !== 'string' || !HEX_COLOR.test(value)) problems.push(`${KEY}portalColors.${field} is ${JSON.stringify(value)}: use a hex colour such as #0b57d0`);
        else if (contrastWithWhite(value) < MIN_CONTRAST) {
          problems.push(`${KEY}portalColors.${field} ${value} has a contrast of ${contrastWithWhite(value).toFixed(1)}:1 with ${on}: use a darker colour (at least ${MIN_CONTRAST}:1, WCAG AA)`);
        } else out[field as 'accent' | 'link'] = value;
      }
      if (Object.keys(out).length > 0) brand.colors = out;
    }
  }
  return Object.keys(brand).length === 0 ? undefined : brand;
}
