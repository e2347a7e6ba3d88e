import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * The HTTP proxy's outbound call. node:http rather than fetch: fetch adds headers the client never
 * sent (accept, accept-language, sec-fetch-mode, user-agent, accept-encoding), resolves dot segments
 * in the path, follows redirects and decompresses bodies; a proxy must do none of these.
 */

export interface OutboundRequest {
  /** `https://backend.example:8443`. */
  readonly origin: string;
  /** Sent exactly as given, query string included: `/v1/files/a%2Fb?x=1`. */
  readonly path: string;
  readonly method: string;
  /** Names as the client sent them, every value. Host and framing headers are the client's to add. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body: Buffer | undefined;
  readonly timeoutMs: number;
}

export interface InboundResponse {
  readonly statusCode: number;
  /** Name/value pairs in the order received. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

export type HttpClient = (request: OutboundRequest) => Promise<InboundResponse>;

function pairs(message: IncomingMessage): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < message.rawHeaders.length; i += 2) out.push([message.rawHeaders[i]!, message.rawHeaders[i + 1]!]);
  return out;
}

export const nodeHttpClient: HttpClient = (outbound) =>
  new Promise<InboundResponse>((resolve, reject) => {
    const origin = new URL(outbound.origin);
    const send = origin.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string[]> = Object.fromEntries(Object.entries(outbound.headers).map(([k, v]) => [k, [...v]]));
    if (outbound.body !== undefined) headers['content-length'] = [String(outbound.body.length)];
    let timer: NodeJS.Timeout | undefined;
    const fail = (err: unknown): void => {
      clearTimeout(timer);
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    try {
      const req = send(
        { protocol: origin.protocol, hostname: origin.hostname.replace(/^\[|\]$/g, ''), port: origin.port, path: outbound.path, method: outbound.method, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', fail);
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ statusCode: res.statusCode ?? 502, headers: pairs(res), body: Buffer.concat(chunks) });
          });
        },
      );
      timer = setTimeout(() => req.destroy(new Error(`no answer from ${outbound.origin} within ${outbound.timeoutMs} ms`)), outbound.timeoutMs);
      req.on('error', fail);
      req.end(outbound.body);
    } catch (err) {
      // Invalid header values or paths throw synchronously in node:http.
      fail(err);
    }
  });
