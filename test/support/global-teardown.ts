import { rmSync } from 'node:fs';
import { stopRun } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const run = await stopRun();
  if (run !== undefined) rmSync(run.temp, { recursive: true, force: true });
}
