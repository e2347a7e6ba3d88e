import { paginateScan } from '@aws-sdk/client-dynamodb';
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey, type ApiKeyStore, type ApiKeySummary } from '../../lambda/shared/customers/keys';
import { DURATION_EXAMPLES, parseDuration, parseExpiry, stringValue } from './args';
import { customerArg, flushAfter, type CommandGroup, type CommandSpec, type Context } from './command';

const KEY_ID_ARGUMENT = { name: '<keyId>', help: 'the key id (the first column of tollgate keys list)', missing: 'missing the key id <keyId>: see tollgate keys list' };

const keyStore = (ctx: Context): ApiKeyStore => {
  const target = ctx.target();
  return { client: target.dynamodb, tables: target.tables, now: () => ctx.now };
};

const time = (iso: string | undefined): string => (iso === undefined ? '-' : iso.replace(/\.000Z$/, 'Z'));

/** Keys as aligned columns under a header row, as `docker ps` or `kubectl get` print them. */
export function keyTable(keys: readonly ApiKeySummary[], indent = ''): string[] {
  const header = ['KEY ID', 'CUSTOMER', 'STATE', 'CREATED', 'EXPIRES', 'REVOKED', 'REPLACED BY', 'NAME'];
  const rows = keys.map((k) => [k.keyId, k.customerId, k.state, time(k.createdAt), time(k.expiresAt), time(k.revokedAt), k.replacedBy ?? '-', k.name ?? '-']);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((cells) => `${indent}${cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}`.trimEnd());
}

const shownOnce = (title: string, key: string): string => [title, '', `  ${key}`, '', 'it is shown only this once: store it now.'].join('\n');

const create: CommandSpec = {
  name: 'create',
  summary: 'issue an API key for a customer (printed once)',
  synopsis: '--customer <cus_id> [--name <name>] [--expires <when>]',
  description: 'Issues an API key for a Stripe customer and prints it once: only its SHA-256 is stored.',
  arguments: [],
  options: {
    customer: { type: 'string', value: '<cus_id>', help: 'the Stripe customer id' },
    name: { type: 'string', value: '<name>', help: 'a label for people ("ci", "mobile app")' },
    expires: { type: 'string', value: '<when>', help: `an ISO-8601 time (2027-01-31T00:00:00Z) or a duration from now (${DURATION_EXAMPLES})` },
  },
  run: async (ctx) => {
    const customerId = customerArg(stringValue(ctx.values, 'customer'), 'the customer (--customer <cus_id>)');
    const expires = stringValue(ctx.values, 'expires');
    const name = stringValue(ctx.values, 'name');
    const expiresAt = expires === undefined ? undefined : parseExpiry(expires, ctx.now);
    const created = await createApiKey(keyStore(ctx), {
      customerId,
      ...(name === undefined ? {} : { name }),
      ...(expiresAt === undefined ? {} : { expiresAt }),
    });
    ctx.print(shownOnce(`API key ${created.keyId} for ${customerId}${created.expiresAt === undefined ? '' : ` (expires ${created.expiresAt})`}:`, created.key), created);
  },
};

const list: CommandSpec = {
  name: 'list',
  summary: 'list API keys, never their secrets',
  synopsis: '[--customer <cus_id>]',
  description: "Lists API keys (id, customer, state, times, name), never their secrets; every customer's keys without --customer.",
  arguments: [],
  options: { customer: { type: 'string', value: '<cus_id>', help: "only this Stripe customer's keys" } },
  run: async (ctx) => {
    const only = stringValue(ctx.values, 'customer');
    const store = keyStore(ctx);
    let customers: string[];
    if (only !== undefined) {
      customers = [customerArg(only)];
    } else {
      const ids = new Set<string>();
      for await (const page of paginateScan({ client: store.client }, { TableName: store.tables.apiKeys, ProjectionExpression: 'customerId' })) {
        for (const item of page.Items ?? []) if (item.customerId?.S !== undefined) ids.add(item.customerId.S);
      }
      customers = [...ids].sort();
    }
    const keys: ApiKeySummary[] = [];
    for (const customerId of customers) keys.push(...(await listApiKeys(store, customerId)));
    ctx.print(keys.length === 0 ? 'no API keys' : keyTable(keys).join('\n'), keys);
  },
};

const revoke: CommandSpec = {
  name: 'revoke',
  summary: 'revoke a key at once',
  synopsis: '<keyId>',
  description: [
    "Revokes a key and flushes the stage's authorizer cache, so the key is refused (401) at once.",
    'A key that was already revoked stays revoked at its first time: the command says so and exits 0',
    '(the key is refused, as asked), and flushes the cache again, so it is also the retry after a failed flush.',
  ].join('\n'),
  arguments: [KEY_ID_ARGUMENT],
  options: {},
  run: async (ctx) => {
    const store = keyStore(ctx);
    const { alreadyRevoked, ...revoked } = await revokeApiKey(store, ctx.positionals[0]!);
    const { flushed, note } = await flushAfter(ctx);
    ctx.print(
      alreadyRevoked
        ? `API key ${revoked.keyId} (${revoked.customerId}) was already revoked at ${time(revoked.revokedAt)}: nothing changed; ${note}`
        : `revoked ${revoked.keyId} (${revoked.customerId}); ${note}${flushed ? ': the key is refused at once' : ''}`,
      { ...revoked, alreadyRevoked, cacheFlushed: flushed },
    );
  },
};

const rotate: CommandSpec = {
  name: 'rotate',
  summary: 'issue a replacement key; the old one keeps working for the overlap',
  synopsis: '<keyId> [--overlap <duration>] [--name <name>]',
  description: 'Issues a replacement key (printed once); the old key keeps working for the overlap, then expires.',
  arguments: [KEY_ID_ARGUMENT],
  options: {
    overlap: { type: 'string', value: '<duration>', help: `how long the old key keeps working: ${DURATION_EXAMPLES} (default 24h)` },
    name: { type: 'string', value: '<name>', help: "the new key's label (default: the old key's)" },
  },
  run: async (ctx) => {
    const overlap = stringValue(ctx.values, 'overlap');
    const overlapSeconds = overlap === undefined ? undefined : parseDuration(overlap, '--overlap');
    const name = stringValue(ctx.values, 'name');
    const { created, previous } = await rotateApiKey(keyStore(ctx), ctx.positionals[0]!, {
      ...(overlapSeconds === undefined ? {} : { overlapSeconds }),
      ...(name === undefined ? {} : { name }),
    });
    ctx.print(shownOnce(`API key ${created.keyId} replaces ${previous.keyId} (which works until ${previous.expiresAt ?? 'it is revoked'}):`, created.key), { created, previous });
  },
};

export const KEYS: CommandGroup = {
  name: 'keys',
  summary: 'API keys: issued per Stripe customer, shown once, stored only as SHA-256',
  commands: [create, list, revoke, rotate],
};
