import * as path from 'node:path';

/**
 * What a Tollgate construct leaves in the cloud assembly for `tollgate start` run in a user's CDK app:
 * its settings as the `tollgate:*` context keys this repository's cdk.json uses (strings, objects as
 * JSON), so the local run validates and serves them exactly as `npm start` serves cdk.json's. CDK writes
 * a construct's metadata to `<stack>.metadata.json` beside the template, keyed by the construct's path.
 */

export const LOCAL_RUN_METADATA = 'tollgate:local-run';

export interface LocalRunMetadata {
  /** `tollgate:<name>` → the prop's value (a string, or JSON). */
  readonly context: Readonly<Record<string, string>>;
  /** The document given inline (not a file): the local run writes it into its state folder. */
  readonly inlineDocument?: unknown;
}

/** The construct's props as context; a document file is made absolute (the app may run from elsewhere). */
export function localRunMetadata(props: Readonly<Record<string, unknown>>, cwd: string): LocalRunMetadata {
  const context: Record<string, string> = {};
  let inlineDocument: unknown;
  const root = typeof props.projectRoot === 'string' ? path.resolve(cwd, props.projectRoot) : cwd;
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || name === 'projectRoot' || name === 'apiName') continue;
    if (name === 'openApiDocument' && typeof value === 'string') context[`tollgate:${name}`] = path.resolve(root, value);
    else if (name === 'openApiDocument') inlineDocument = value;
    else context[`tollgate:${name}`] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { context, ...(inlineDocument === undefined ? {} : { inlineDocument }) };
}
