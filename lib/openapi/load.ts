import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export class ApiDocumentError extends Error {
  override readonly name = 'ApiDocumentError';
}

/** Reads the user's OpenAPI document (JSON) named by `tollgate:openApiDocument`, relative to `root`. */
export function loadApiDocument(file: string, root: string): unknown {
  const resolved = path.resolve(root, file);
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8');
  } catch {
    throw new ApiDocumentError(`cannot read the OpenAPI document "${file}": check tollgate:openApiDocument in cdk.json`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiDocumentError(`the OpenAPI document "${file}" is not valid JSON: ${(err as Error).message}`);
  }
}
