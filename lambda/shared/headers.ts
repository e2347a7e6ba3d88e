/** The header fields of an API Gateway REST (v1) event: the authorizer's REQUEST event and the proxy event alike. */
export interface EventHeaders {
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly multiValueHeaders?: Readonly<Record<string, readonly string[] | undefined>> | null;
}

/**
 * A request header by name, case-insensitively. A header sent more than once yields its last value: that
 * is the value API Gateway itself puts in `headers` and reads for an authorizer's identity source (which
 * keys the authorizer cache), so every reader decides on the value the gateway cached under.
 */
export function headerValue(event: EventHeaders, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let value: string | undefined;
  for (const [key, v] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && typeof v === 'string') value = v;
  }
  if (value !== undefined) return value;
  for (const [key, values] of Object.entries(event.multiValueHeaders ?? {})) {
    const list: unknown = values;
    const last: unknown = Array.isArray(list) ? (list as unknown[]).at(-1) : undefined;
    if (key.toLowerCase() === wanted && typeof last === 'string') value = last;
  }
  return value;
}
