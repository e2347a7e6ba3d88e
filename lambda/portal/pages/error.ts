import type { Page } from '../context';
import { html } from '../html';

/** What a PageError says: its status, its title and one alert. */
export function errorPage(status: number, title: string, detail: string): Page {
  return { status, title, body: html`<p role="alert">${detail}</p>` };
}

/** Anything else that failed: nothing was changed, and nothing about the failure is shown. */
export const FAILURE_PAGE: Page = errorPage(500, 'Something went wrong', 'The portal could not complete this request. Nothing was changed; try again shortly.');
