import { runCli } from '../lib/cli/index';
import { PROJECT_ROOT } from '../lib/contract';

// The project supports Node 20 (the Lambda runtime is 22): the SDK's notice about 2027 is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

void runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  root: PROJECT_ROOT,
}).then((code) => {
  process.exitCode = code;
});
