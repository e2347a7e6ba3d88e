import type { Integration } from '../document';
import { HeaderList } from '../headers';
import { LocalGatewayError } from '../types';
import type { HttpClient } from './http-client';
import type { IntegrationHandler } from './integration';
import { compileRequestParameters, resolveMappings, type MappedValue, type MappingTarget } from './request-parameters';

/**
 * `http_proxy`: the method request passed through to the backend URL, with the integration's
 * `requestParameters` applied. Path parameters are substituted decoded and re-encoded segment by
 * segment (REST APIs decode request parameters and URL-encode `%` before passing them on), so a `/`
 * or `..` the client encoded stays inside its segment and never leaves the matched route. A mapped
 * header or query parameter replaces whatever the client sent under that name, even when the mapping
 * has no value: a client cannot forge what the gateway maps (identity headers, `Authorization`).
 */

export const INTEGRATION_TIMEOUT_MS = 29_000;

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'host', 'content-length']);
const NOT_RETURNED = new Set([...HOP_BY_HOP, 'content-length']);

const decodeQueryName = (pair: string): string => {
  const name = (pair.split('=')[0] ?? '').replace(/\+/g, ' ');
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
};

function queryString(uriQuery: string, clientQuery: string, mapped: readonly { target: MappingTarget; value: MappedValue | undefined }[]): string {
  const names = new Set(mapped.map((m) => m.target.name));
  const client = clientQuery.replace(/^\?/, '');
  // Untouched when nothing is mapped: the backend sees the client's query string byte for byte.
  const kept = names.size === 0 ? (client === '' ? [] : [client]) : client.split('&').filter((p) => p !== '' && !names.has(decodeQueryName(p)));
  const added = mapped.flatMap(({ target, value }) => (value === undefined ? [] : [`${encodeURIComponent(target.name)}=${encodeURIComponent(value.text)}`]));
  const parts = [...(uriQuery === '' ? [] : [uriQuery]), ...kept, ...added];
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

export function compileHttpProxy(integration: Integration, where: string, client: HttpClient): IntegrationHandler {
  const uri = integration.uri ?? '';
  const parts = /^(https?:\/\/[^/?#]+)([^?#]*)(?:\?([^#]*))?$/i.exec(uri);
  if (parts === null) throw new LocalGatewayError(`${where}: the http_proxy integration uri "${uri}" is not an http(s) URL: set the backend's base URL`);
  const [, origin, pathTemplate, uriQuery] = parts as unknown as [string, string, string, string | undefined];
  const mappings = compileRequestParameters(integration.requestParameters, where);
  for (const [, name] of pathTemplate.matchAll(/\{([^}]+)\}/g)) {
    if (!mappings.some((m) => m.target.location === 'path' && m.target.name === name)) {
      throw new LocalGatewayError(`${where}: the integration uri has {${name}} but no requestParameters "integration.request.path.${name}": map it, e.g. from "method.request.path.${name}"`);
    }
  }
  const mappedHeaders = new Set(mappings.filter((m) => m.target.location === 'header').map((m) => m.target.name.toLowerCase()));

  return async (call) => {
    const { request } = call;
    const resolved = resolveMappings(mappings, call);

    let path = pathTemplate;
    for (const { target, value } of resolved) {
      if (target.location === 'path') path = path.split(`{${target.name}}`).join((value?.segments ?? ['']).map(encodeURIComponent).join('/'));
    }
    const query = queryString(uriQuery ?? '', request.query.raw, resolved.filter((r) => r.target.location === 'querystring'));

    // Headers the client's Connection header names are hop-by-hop too (RFC 9110 7.6.1).
    const connection = new Set((request.headers.get('connection') ?? '').split(',').map((n) => n.trim().toLowerCase()));
    const headers: Record<string, string[]> = {};
    for (const [name, values] of Object.entries(request.headers.multi)) {
      const lower = name.toLowerCase();
      if (!NOT_FORWARDED.has(lower) && !connection.has(lower) && !mappedHeaders.has(lower)) headers[name] = [...values];
    }
    for (const { target, value } of resolved) if (target.location === 'header' && value !== undefined) headers[target.name] = [value.text];

    const method = integration.httpMethod === 'ANY' || integration.httpMethod === undefined ? request.method : integration.httpMethod;
    const withBody = request.body.length > 0 && request.method !== 'GET' && request.method !== 'HEAD';
    let upstream;
    try {
      upstream = await client({ origin, path: `${path === '' ? '/' : path}${query}`, method, headers, body: withBody ? request.body : undefined, timeoutMs: INTEGRATION_TIMEOUT_MS });
    } catch {
      return { fault: 'INTEGRATION_FAILURE' };
    }
    const out = new HeaderList();
    for (const [name, value] of upstream.headers) if (!NOT_RETURNED.has(name.toLowerCase())) out.add(name, value);
    return { statusCode: upstream.statusCode, multiValueHeaders: out.multi, body: upstream.body };
  };
}
