import { PROJECT_ROOT } from '../lib/contract';
import { stateDirectory } from '../lib/local/coordinates';
import { MCP_CLIENT_USAGE, McpClientUsageError, runMcpClient } from '../lib/local/mcp-client';

// `npm run mcp`: parse argv, run, set the exit code.
runMcpClient(process.argv.slice(2), { stateDir: stateDirectory(PROJECT_ROOT, process.env), print: (line) => process.stdout.write(`${line}\n`) }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tollgate mcp: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof McpClientUsageError) process.stderr.write(MCP_CLIENT_USAGE);
    process.exitCode = err instanceof McpClientUsageError ? 2 : 1;
  },
);
