/**
 * The portal pages' stylesheet, served as /tollgate/assets/portal.css (no inline styles: strict CSP).
 * The configured colours (brand.css) set the two custom properties; the defaults are tollgate's own.
 */
export const PORTAL_CSS = `
:root { --tollgate-accent: #1a1a1a; --tollgate-link: #0645ad; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #fff; }
header { background: var(--tollgate-accent); padding: .5rem 1rem; }
header a { color: #fff; margin-right: 1rem; }
header .brand { color: #fff; margin-right: 1.5rem; display: inline-flex; align-items: center; gap: .4rem; vertical-align: middle; }
main { max-width: 48rem; margin: 1rem auto; padding: 0 1rem; }
a { color: var(--tollgate-link); }
.price { font-size: 1.25rem; font-weight: bold; margin: .25rem 0; }
.test-mode { background: #fff3cd; border: 2px solid #8a6d00; padding: .5rem 1rem; font-weight: bold; }
.plans { list-style: none; padding: 0; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); }
.plans li { border: 1px solid #767676; border-radius: .5rem; padding: 1rem; }
button, .button { font: inherit; padding: .4rem 1rem; border-radius: .3rem; border: 1px solid var(--tollgate-accent); background: var(--tollgate-accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
input.key { font-family: ui-monospace, monospace; width: 100%; padding: .4rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; border-bottom: 1px solid #ccc; padding: .3rem; }
[role=alert] { border-left: 4px solid #b00020; padding-left: .75rem; }
dt { font-weight: bold; }
`;

/** The API reference's bar above the explorer (/tollgate/assets/docs.css): scoped, so the explorer's own styles stay as they are. */
export const DOCS_CSS = `
:root { --tollgate-accent: #1a1a1a; }
.tollgate-docs-nav { font: 15px/1.5 system-ui, sans-serif; background: var(--tollgate-accent); padding: .4rem 1rem; }
.tollgate-docs-nav a, .tollgate-docs-nav .brand { color: #fff; margin-right: 1rem; }
.tollgate-docs-nav .brand { display: inline-flex; align-items: center; gap: .4rem; vertical-align: middle; }
`;
