import { PORTAL_PATHS } from '../../shared/portal-paths';
import type { Result } from '../context';
import type { PortalBrand } from '../brand';
import { brandMark, DOCS_CSP, html, securityHeaders, withImagesFrom } from '../html';

/**
 * The explorer's configuration: everything in it that talks to a third party is off. Fonts come from the
 * page, no telemetry, no developer tools, no hosted client; no AI agent (on loopback Scalar turns it on by
 * default, and it uploads the API description to Scalar) and no MCP integration. The CSP would block
 * them anyway: off, they neither show nor log an error.
 */
export const SCALAR_CONFIGURATION = {
  withDefaultFonts: false,
  hideClientButton: true,
  telemetry: false,
  showDeveloperTools: 'never',
  agent: { disabled: true },
  mcp: { disabled: true },
} as const;

/** The API reference: a bar with the way to the plans and sign-in, and the explorer (Scalar) reading the stage's document, under its own CSP. */
export function docsPage(base: string, brand?: PortalBrand): Result {
  const configuration = JSON.stringify(SCALAR_CONFIGURATION);
  const body = `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference${brand?.name === undefined ? '' : ` · ${brand.name}`}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/tollgate/assets/docs.css">
</head>
<body>
<nav class="tollgate-docs-nav" aria-label="${brand?.name ?? 'tollgate'}">${brandMark(brand)}<a href="${base}${PORTAL_PATHS.pricing}">Plans and pricing</a> <a href="${base}${PORTAL_PATHS.signIn}">Sign in</a> <a href="${base}${PORTAL_PATHS.account}">Your account</a></nav>
<noscript><p>The API reference needs JavaScript. The OpenAPI document is at <a href="${base}${PORTAL_PATHS.document}">${base}${PORTAL_PATHS.document}</a>; each problem type has its page under <a href="${base}/tollgate/problems/no_subscription">${base}/tollgate/problems/</a>.</p></noscript>
<script id="api-reference" data-url="${base}${PORTAL_PATHS.document}" data-configuration="${configuration}"></script>
<script src="${base}/tollgate/assets/scalar.js"></script>
</body>
</html>`.text}`;
  return { statusCode: 200, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'max-age=300', ...securityHeaders(withImagesFrom(DOCS_CSP, brand?.logoUrl)) }, body };
}
