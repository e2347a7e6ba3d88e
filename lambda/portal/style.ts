/** The portal pages' stylesheet, served as /tollgate/assets/portal.css (no inline styles: strict CSP). */
export const PORTAL_CSS = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #fff; }
header { background: #1a1a1a; padding: .5rem 1rem; }
header a { color: #fff; margin-right: 1rem; }
main { max-width: 48rem; margin: 1rem auto; padding: 0 1rem; }
a { color: #0645ad; }
.test-mode { background: #fff3cd; border: 2px solid #8a6d00; padding: .5rem 1rem; font-weight: bold; }
.plans { list-style: none; padding: 0; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); }
.plans li { border: 1px solid #767676; border-radius: .5rem; padding: 1rem; }
button, .button { font: inherit; padding: .4rem 1rem; border-radius: .3rem; border: 1px solid #1a1a1a; background: #1a1a1a; color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
input.key { font-family: ui-monospace, monospace; width: 100%; padding: .4rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; border-bottom: 1px solid #ccc; padding: .3rem; }
[role=alert] { border-left: 4px solid #b00020; padding-left: .75rem; }
dt { font-weight: bold; }
`;
