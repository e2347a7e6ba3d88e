import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../contract';
import { buildReport, localRows, localSeries, type Report, type ReportSeries } from '../../report/queries';
import { accessLogPath, eventsLogPath } from '../coordinates';

/**
 * The local operator page, served by the admin server: the report's figures for the last minutes,
 * drawn with chart.js (served from node_modules, no CDN) and refreshed every few seconds. Same
 * figures as `tollgate report`: both read `.tollgate/access.log` and `.tollgate/events.log` through
 * lib/report/queries.ts.
 */

export const OPERATOR_PATH = '/operator';

/** Nothing inline, nothing from elsewhere: scripts, styles and data come from this server only. */
export const OPERATOR_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface OperatorData {
  readonly report: Report;
  readonly series: ReportSeries;
}

const readLines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []);

/** The page's figures: the last `minutes` in one-minute buckets. */
export function operatorData(stateDir: string, now: Date, minutes: number): OperatorData {
  const bucketMs = 60_000;
  const until = new Date(Math.ceil((now.getTime() + 1) / bucketMs) * bucketMs);
  const since = new Date(until.getTime() - minutes * bucketMs);
  const access = readLines(accessLogPath(stateDir));
  const events = readLines(eventsLogPath(stateDir));
  return { report: buildReport(localRows(access, events, since, until), since, until), series: localSeries(access, events, since, until, bucketMs) };
}

const ASSETS: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  [`${OPERATOR_PATH}/chart.umd.min.js`]: { file: path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'), type: 'text/javascript; charset=utf-8' },
  [`${OPERATOR_PATH}/operator.js`]: { file: path.join(PROJECT_ROOT, 'lib', 'local', 'operator', 'assets', 'operator.js'), type: 'text/javascript; charset=utf-8' },
  [`${OPERATOR_PATH}/operator.css`]: { file: path.join(PROJECT_ROOT, 'lib', 'local', 'operator', 'assets', 'operator.css'), type: 'text/css; charset=utf-8' },
  [`${OPERATOR_PATH}/favicon.svg`]: { file: path.join(PROJECT_ROOT, 'lib', 'local', 'operator', 'assets', 'favicon.svg'), type: 'image/svg+xml' },
  [OPERATOR_PATH]: { file: path.join(PROJECT_ROOT, 'lib', 'local', 'operator', 'assets', 'operator.html'), type: 'text/html; charset=utf-8' },
};

const HEADERS = {
  'content-security-policy': OPERATOR_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Answers the operator page's requests; false for any other path. Only for a Host of this loopback
 * server: a web page the operator visits cannot read the figures through DNS rebinding.
 */
export function serveOperatorPage(req: IncomingMessage, res: ServerResponse, options: { readonly stateDir: string; readonly port: () => number; readonly now?: () => Date }): boolean {
  const url = new URL(req.url ?? '/', 'http://local');
  if (url.pathname !== OPERATOR_PATH && !url.pathname.startsWith(`${OPERATOR_PATH}/`)) return false;
  const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { ...HEADERS, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const port = options.port();
  if (![`127.0.0.1:${port}`, `localhost:${port}`].includes(req.headers.host ?? '')) {
    send(421, 'text/plain; charset=utf-8', `this page answers only at http://127.0.0.1:${port}${OPERATOR_PATH}\n`);
    return true;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(405, 'text/plain; charset=utf-8', 'the operator page is read-only: use GET\n', { allow: 'GET, HEAD' });
    return true;
  }
  if (url.pathname === `${OPERATOR_PATH}/data`) {
    const minutes = Number(url.searchParams.get('minutes') ?? '60');
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      send(400, 'text/plain; charset=utf-8', 'minutes must be a whole number from 1 to 1440\n');
      return true;
    }
    send(200, 'application/json', JSON.stringify(operatorData(options.stateDir, (options.now ?? (() => new Date()))(), minutes)));
    return true;
  }
  const asset = ASSETS[url.pathname];
  if (asset === undefined) {
    send(404, 'text/plain; charset=utf-8', `no operator resource at ${url.pathname}\n`);
    return true;
  }
  send(200, asset.type, readFileSync(asset.file));
  return true;
}
