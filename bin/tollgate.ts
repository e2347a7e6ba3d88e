import { PROJECT_ROOT, runCli } from '../lib/cli/index';

void runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  root: PROJECT_ROOT,
}).then((code) => {
  process.exitCode = code;
});
