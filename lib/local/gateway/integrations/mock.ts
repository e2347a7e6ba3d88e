import type { Integration } from '../document';
import { HeaderList } from '../headers';
import { isObject } from '../types';
import type { IntegrationHandler, IntegrationResult } from './integration';

/**
 * `mock`: the request template's `statusCode` selects an integration response, whose static
 * `method.response.header.*` values and template body are the answer (the CORS preflight is one:
 * its headers are exactly what the document declares).
 */
export function compileMock(integration: Integration): IntegrationHandler {
  return () => Promise.resolve(mockAnswer(integration));
}

function mockAnswer(integration: Integration): IntegrationResult {
  const template = integration.requestTemplates?.['application/json'] ?? '{"statusCode": 200}';
  let status = '200';
  try {
    const parsed: unknown = JSON.parse(template);
    if (isObject(parsed) && (typeof parsed.statusCode === 'number' || typeof parsed.statusCode === 'string')) status = String(parsed.statusCode);
  } catch {
    return { fault: 'API_CONFIGURATION_ERROR' };
  }
  const responses = integration.responses ?? {};
  const selected = Object.entries(responses).find(([pattern]) => pattern !== 'default' && new RegExp(`^${pattern}$`).test(status))?.[1] ?? responses.default;
  const headers = new HeaderList();
  for (const [key, expression] of Object.entries(selected?.responseParameters ?? {})) {
    const name = /^method\.response\.header\.(.+)$/.exec(key)?.[1];
    if (name !== undefined && expression.startsWith("'") && expression.endsWith("'")) headers.set(name, expression.slice(1, -1));
  }
  const body = selected?.responseTemplates?.['application/json'] ?? '';
  if (body !== '') headers.set('Content-Type', 'application/json');
  return { statusCode: Number(selected?.statusCode ?? status), multiValueHeaders: headers.multi, body: Buffer.from(body, 'utf8') };
}
