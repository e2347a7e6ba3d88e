import * as childProcess from 'child_process';
import { spawnSync } from 'node:child_process';
import { testEndpoint } from './dynamodb';
import { synthesize } from './synth';

/** The unit project refuses what belongs to the others (setup-unit.ts), so a misfiled test fails at once. */
describe('the unit project', () => {
  it('runs no child process', () => {
    expect(() => spawnSync(process.execPath, ['--version'])).toThrow('child_process.spawnSync in a unit test: list this file under integration or e2e in jest.config.js');
    expect(() => childProcess.execFile(process.execPath, ['--version'])).toThrow(/child_process\.execFile in a unit test/);
  });

  it('has no DynamoDB Local', () => {
    expect(() => testEndpoint()).toThrow('a unit test may not use DynamoDB Local: list this file under integration in jest.config.js');
  });

  it('synthesizes nothing', () => {
    expect(() => synthesize({ 'tollgate:authorizerCacheTtlSeconds': 60 })).toThrow('a unit test may not synthesize: list this file under integration in jest.config.js');
  });
});
