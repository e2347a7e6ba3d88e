import { createTollgateClient, PaymentRequiredError, TollgateHttpError } from '../../../client/index';

/**
 * The portal pages' script (bundled with esbuild into /tollgate/assets/portal.js): on a page that shows
 * a key, "Copy" puts it on the clipboard and "Try it" calls the API with it, through the client helper,
 * and says what it answered. No inline script anywhere: the CSP allows scripts from the stack only.
 */

interface Element_ {
  getAttribute(name: string): string | null;
  addEventListener(type: string, listener: () => void): void;
  textContent: string | null;
  readonly value?: string;
  select?(): void;
}
declare const document: { querySelector(selector: string): Element_ | null };
declare const location: { readonly origin: string };
declare const navigator: { readonly clipboard?: { writeText(text: string): Promise<void> } };

const copy = document.querySelector('[data-copy-key]');
const copied = document.querySelector('[data-copy-result]');
const shownKey = document.querySelector('[data-api-key]');
if (copy !== null && copied !== null && shownKey !== null) {
  copy.addEventListener('click', () => {
    const fallback = (): void => {
      shownKey.select?.();
      copied.textContent = 'The key is selected: copy it with Ctrl+C or ⌘C.';
    };
    if (navigator.clipboard === undefined) return fallback();
    navigator.clipboard.writeText(shownKey.value ?? '').then(() => {
      copied.textContent = 'Copied.';
    }, fallback);
  });
}

const button = document.querySelector('[data-try-key]');
const output = document.querySelector('[data-try-result]');
const key = document.querySelector('[data-api-key]');
if (button !== null && output !== null && key !== null) {
  button.addEventListener('click', () => {
    const url = button.getAttribute('data-url') ?? '/';
    const stage = url.split('/').slice(0, 2).join('/');
    const client = createTollgateClient({ baseUrl: `${location.origin}${stage}`, apiKey: key.value ?? '' });
    output.textContent = 'calling…';
    client
      .fetch(url.slice(stage.length))
      .then((response) => {
        output.textContent = `${response.status}: your key works.`;
      })
      .catch((err: unknown) => {
        if (err instanceof PaymentRequiredError) output.textContent = `402 ${err.reason}: ${err.detail}`;
        else if (err instanceof TollgateHttpError) output.textContent = `${err.status}: ${err.message}`;
        else output.textContent = 'the request failed';
      });
  });
}
