/**
 * How the portal presents the seller's product: its name, its logo and two colours, from configuration
 * (`tollgate:portalName`, `tollgate:portalLogoUrl`, `tollgate:portalColors`; lib/config/portal-brand.ts
 * validates them). Everything is optional: without it the portal is plainly tollgate's.
 */

export interface PortalColors {
  /** The header and buttons (white text on it). */
  readonly accent?: string;
  /** Links (on the white page). */
  readonly link?: string;
}

export interface PortalBrand {
  /** The product's name: the header, and every page title after the page's own. */
  readonly name?: string;
  /** An https URL of the logo, shown in the header (its origin joins the pages' img-src). */
  readonly logoUrl?: string;
  readonly colors?: PortalColors;
}

export const HEX_COLOR = /^#(?:[0-9a-fA-F]{3}){1,2}$/;

/** WCAG 2 relative luminance of a #rgb or #rrggbb colour. */
function luminance(hex: string): number {
  const digits = hex.length === 4 ? [...hex.slice(1)].map((d) => d + d) : [hex.slice(1, 3), hex.slice(3, 5), hex.slice(5, 7)];
  const [r, g, b] = digits.map((d) => {
    const c = parseInt(d, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The WCAG 2 contrast ratio of a colour against white (what the portal puts on it, or it on). */
export const contrastWithWhite = (hex: string): number => 1.05 / (luminance(hex) + 0.05);

/** WCAG 2 AA for normal text. */
export const MIN_CONTRAST = 4.5;

/** The stylesheet that applies the colours (served as /tollgate/assets/brand.css): custom properties portal.css reads. */
export function brandCss(colors: PortalColors | undefined): string {
  const properties = [
    ...(colors?.accent === undefined ? [] : [`--tollgate-accent: ${colors.accent};`]),
    ...(colors?.link === undefined ? [] : [`--tollgate-link: ${colors.link};`]),
  ];
  return `:root { ${properties.join(' ')} }\n`;
}

/** Decodes what the environment carries (written from validated configuration); anything else is dropped. */
export function decodeBrand(value: unknown): PortalBrand | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { name, logoUrl, colors } = value as Record<string, unknown>;
  const color = (c: unknown): string | undefined => (typeof c === 'string' && HEX_COLOR.test(c) ? c : undefined);
  const raw = typeof colors === 'object' && colors !== null ? (colors as Record<string, unknown>) : {};
  const accent = color(raw.accent);
  const link = color(raw.link);
  const decoded: PortalBrand = {
    ...(typeof name === 'string' && name !== '' ? { name } : {}),
    ...(typeof logoUrl === 'string' && logoUrl.startsWith('https://') && URL.canParse(logoUrl) ? { logoUrl } : {}),
    ...(accent === undefined && link === undefined ? {} : { colors: { ...(accent === undefined ? {} : { accent }), ...(link === undefined ? {} : { link }) } }),
  };
  return Object.keys(decoded).length === 0 ? undefined : decoded;
}
