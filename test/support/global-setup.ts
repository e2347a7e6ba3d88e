import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../lib/local/dynamodb-local';

/**
 * What a run starts for the projects that need it (jest.config.js): one DynamoDB Local (in memory, free
 * port) on which each test file makes its own tables, and the default-context template, synthesized
 * once and read by every test that wants it (test/support/synth.ts). Both projects' setups may run in
 * one jest process; each piece starts once. The run's temporary files go under one directory that the
 * teardown removes: every CDK `App` without an `outdir` writes a `cdk.out…` directory into the temp dir
 * and leaves it there.
 */
interface Run {
  readonly temp: string;
  dynamodb?: DynamoDbLocal;
}

const state = globalThis as { tollgateRun?: Run };

export async function startRun(needs: { readonly template: boolean }): Promise<void> {
  // Same as setup-env.ts, for this process (global setup runs outside the test environments).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const run = (state.tollgateRun ??= { temp: mkdtempSync(path.join(tmpdir(), 'tollgate-jest-')) });
  process.env.TMPDIR = run.temp;
  if (run.dynamodb === undefined) {
    run.dynamodb = await startDynamoDbLocal();
    process.env.TOLLGATE_TEST_DYNAMODB_ENDPOINT = run.dynamodb.endpoint;
  }
  if (needs.template && process.env.TOLLGATE_TEST_TEMPLATE === undefined) {
    const file = path.join(run.temp, 'template.json');
    // Loaded here only: the e2e project's setup has no use for aws-cdk-lib.
    const { synthesize } = await import('./synth');
    writeFileSync(file, JSON.stringify(synthesize().template.toJSON()));
    process.env.TOLLGATE_TEST_TEMPLATE = file;
  }
}

/** Stops what startRun started (global-teardown.ts). */
export async function stopRun(): Promise<Run | undefined> {
  const run = state.tollgateRun;
  state.tollgateRun = undefined;
  await run?.dynamodb?.stop();
  return run;
}
