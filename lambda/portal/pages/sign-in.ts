import { PORTAL_PATHS } from '../../shared/portal-paths';
import type { Page } from '../context';
import { html } from '../html';

/** The sign-in form (the key goes in a POST body, never a URL); with the refusal when one was refused. */
export function signInPage(base: string, refused?: string): Page {
  return {
    status: refused === undefined ? 200 : 401,
    title: 'Sign in',
    body: html`${refused === undefined ? '' : html`<p role="alert">${refused}</p>`}
<form method="post" action="${base}${PORTAL_PATHS.signIn}">
<p><label for="key">API key</label> <input id="key" name="key" type="password" autocomplete="off" required maxlength="200"></p>
<p><button type="submit">Sign in</button></p>
</form>
<p>No key yet? <a href="${base}${PORTAL_PATHS.pricing}">Choose a plan</a>.</p>`,
  };
}
