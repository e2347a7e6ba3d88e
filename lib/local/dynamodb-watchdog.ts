import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Runs DynamoDB Local (`java …`, given as arguments) as its own child and ends it when the process that
 * started this watchdog is gone, however that process ended: the IPC channel to it closes even on
 * SIGKILL, which no signal handler in that process could catch. Started by startDynamoDbLocal.
 *
 * Messages to the parent: `{ pid }` once java runs, `{ error }` (an errno code) when it cannot start.
 */

const STOP_GRACE_MS = 5000;

const [command, ...args] = process.argv.slice(2);
if (command === undefined || process.send === undefined) {
  process.stderr.write('dynamodb-watchdog: run it through startDynamoDbLocal (it needs an IPC channel and a command)\n');
  process.exit(2);
}

const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
child.once('spawn', () => process.send?.({ pid: child.pid }));
child.once('error', (err: NodeJS.ErrnoException) => {
  process.send?.({ error: err.code ?? err.message }, () => process.exit(127));
});
child.once('exit', (code, signal) => {
  process.exit(code ?? (signal === null ? 1 : 128 + (constants.signals[signal] ?? 0)));
});

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS).unref();
}
process.on('disconnect', stop);
process.on('SIGTERM', stop);
// Ctrl-C and a closed terminal reach the whole process group: the parent decides when java stops.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);
