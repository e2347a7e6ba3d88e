import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createObservability } from '../shared/observability';
import { fetchGateway } from './call';
import { CATALOG_FILE, parseCatalog } from './catalog';
import { composeMcp } from './compose';
import { loadMcpSettings } from './settings';

// Validated once at init: a bad environment or a missing catalog fails the cold start with its own message.
export const handler = composeMcp(loadMcpSettings(process.env), {
  catalog: parseCatalog(JSON.parse(readFileSync(path.join(__dirname, CATALOG_FILE), 'utf8'))),
  gateway: fetchGateway(),
  observability: createObservability('tollgate-mcp'),
});
