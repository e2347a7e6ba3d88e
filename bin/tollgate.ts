import { runCli } from '../lib/cli/index';
import { PROJECT_ROOT } from '../lib/contract';
import { RUNS_FROM_PACKAGE } from '../lib/local/user-app';

// The project supports Node 20 (the Lambda runtime is 22): the SDK's notice about 2027 is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  // Installed from npm, the CLI acts on the app it is installed in: its cdk.json, cdk.out and local run.
  root: RUNS_FROM_PACKAGE ? process.cwd() : PROJECT_ROOT,
}).then(
  (code) => {
    process.exitCode = code;
  },
  // runCli reports every failure itself; this is the last guard against a stack trace.
  (err: unknown) => {
    process.stderr.write(`tollgate: failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
