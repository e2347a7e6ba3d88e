import { runCli } from '../lib/cli/index';
import { PROJECT_ROOT } from '../lib/contract';

// The project supports Node 20 (the Lambda runtime is 22): the SDK's notice about 2027 is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  root: PROJECT_ROOT,
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
