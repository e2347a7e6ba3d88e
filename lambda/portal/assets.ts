import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { PORTAL_CSS } from './style';

/**
 * The files the pages load, by name: the explorer (Scalar's standalone bundle, from npm, served by the
 * stack: no CDN at run time), the portal's script (the client helper, bundled for the browser) and
 * its stylesheet, and the public OpenAPI document. Deployed they sit beside the function's code
 * (written at bundling, lib/bundling.ts); locally lib/local provides them from memory.
 */

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

/** The files the pages load, and the document callers read. */
export interface PortalAssets {
  asset(name: string): Promise<Asset | undefined>;
  document(): Promise<Record<string, unknown>>;
}

/** Asset name -> file. A Map: a name such as `constructor` must find nothing a plain object inherits. */
export const ASSET_FILES: ReadonlyMap<string, string> = new Map([
  ['scalar.js', 'scalar.js'],
  ['portal.js', 'portal.js'],
]);
export const DOCUMENT_FILE = 'openapi.json';
export const ASSETS_DIR = 'assets';

const TYPES: ReadonlyMap<string, string> = new Map([
  ['.js', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
]);

/** Assets read from a folder once each, then kept in memory for the life of the instance. */
export function folderAssets(folder: string): PortalAssets {
  const cache = new Map<string, Promise<Buffer | undefined>>();
  const read = (file: string): Promise<Buffer | undefined> => {
    let pending = cache.get(file);
    if (pending === undefined) {
      pending = readFile(path.join(folder, file)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      cache.set(file, pending);
    }
    return pending;
  };
  return {
    asset: async (name): Promise<Asset | undefined> => {
      if (name === 'portal.css') return { body: Buffer.from(PORTAL_CSS, 'utf8'), contentType: TYPES.get('.css')! };
      const file = ASSET_FILES.get(name);
      if (file === undefined) return undefined;
      const body = await read(file);
      return body === undefined ? undefined : { body, contentType: TYPES.get(path.extname(file))! };
    },
    document: async () => {
      const body = await read(DOCUMENT_FILE);
      if (body === undefined) throw new Error(`${DOCUMENT_FILE} is missing beside the portal function: redeploy the stack`);
      return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    },
  };
}
