import { paginateScan } from '@aws-sdk/client-dynamodb';
import { parseArgs } from 'node:util';
import { decide } from '../../lambda/authorizer/decide';
import { CUSTOMER_ID } from '../../lambda/shared/customers/api-key';
import { SUBSCRIPTION_STATUSES, isSubscriptionStatus, subscriptionsOf, type UsageBlock } from '../../lambda/shared/customers/record';
import { readCustomer } from '../../lambda/shared/customers/store';
import { formatRequirement } from '../../lambda/shared/requirements';
import {
  createApiKey,
  CustomerDeletedError,
  KeyConflictError,
  KeyLimitError,
  KeyNotActiveError,
  KeyNotFoundError,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
  type ApiKeySummary,
} from '../../lambda/shared/customers/keys';
import { stateDirectory } from '../local/coordinates';
import { authorizerSettingsFor, buildLocalDocument, loadProjectConfig } from '../local/stack';
import { buildStripeEvent, EventSpecError, isSendableEventType, SENDABLE_EVENT_TYPES, serializeStripeEvent, signStripePayload } from '../fixtures/customer-events';
import { setUsageBlock, UnknownCustomerError, USAGE_BLOCKS } from '../../lambda/shared/customers/usage';
import { resolveTarget, TargetError, type Target } from './target';

/**
 * `npx tollgate`: manage API keys, inspect customers and send signed Stripe events, against the
 * running local stack (default) or a deployed one (`--outputs`). Exit codes: 0 success, 1 failure,
 * 2 usage error. `--json` prints one JSON document for scripts.
 */

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The project root (cdk.json, the OpenAPI document, `.tollgate/`). */
  readonly root: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}


class UsageError extends Error {
  constructor(
    message: string,
    readonly help: string,
  ) {
    super(message);
  }
}

/** A failure with a message for people; the command exits 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

const TARGET_HELP = `target (default: the local stack started by npm start):
  --outputs <file>     a deployed stack: the JSON of cdk deploy --outputs-file <file>
  --region <region>    its AWS region (default: AWS_REGION, else read from the API URL)
  --json               print JSON for scripts
  -h, --help           show help`;

const HELP: Record<string, string> = {
  root: `usage: tollgate <command> [options]

commands:
  keys create --customer <cus_id> [--name <name>] [--expires <when>]   issue an API key (printed once)
  keys list [--customer <cus_id>]                                     list keys (never their secrets)
  keys revoke <keyId>                                                 revoke a key at once
  keys rotate <keyId> [--overlap <seconds>]                           issue a replacement key
  customers show <cus_id>                                             payment state, keys, route answers
  customers set-usage <cus_id> --block <block>                        metered plans: credits or quota used up
  events send <type> --customer <cus_id> [--status <status>]          send a signed Stripe event

run tollgate <command> --help for details.

${TARGET_HELP}`,
  keys: `usage: tollgate keys <create|list|revoke|rotate> …  (tollgate keys <command> --help)`,
  'keys create': `usage: tollgate keys create --customer <cus_id> [--name <name>] [--expires <when>]

Issues an API key for a Stripe customer and prints it once: only its SHA-256 is stored.
  --customer <cus_id>  the Stripe customer id
  --name <name>        a label for people ("ci", "mobile app")
  --expires <when>     an ISO-8601 time (2027-01-31T00:00:00Z) or a duration from now (90d, 12h, 30m)

${TARGET_HELP}`,
  'keys list': `usage: tollgate keys list [--customer <cus_id>]

Lists API keys (id, customer, name, state, times), never their secrets; all customers without --customer.

${TARGET_HELP}`,
  'keys revoke': `usage: tollgate keys revoke <keyId>

Revokes a key and flushes the stage's authorizer cache, so the key is refused (401) at once.

${TARGET_HELP}`,
  'keys rotate': `usage: tollgate keys rotate <keyId> [--overlap <seconds>] [--name <name>]

Issues a replacement key (printed once); the old key keeps working for the overlap (default 86400 s).

${TARGET_HELP}`,
  customers: `usage: tollgate customers <show|set-usage> <cus_id> …  (tollgate customers <command> --help)`,
  'customers set-usage': `usage: tollgate customers set-usage <cus_id> --block <credits_exhausted|quota_exceeded|none>

Metered plans: marks a customer's prepaid credits or period quota as used up, so paid routes answer 402
credits_exhausted or quota_exceeded (free-tier routes keep working); none clears it. Flushes the stage's
authorizer cache, so it applies at once. Call it from your metering.
  --block <block>      credits_exhausted, quota_exceeded or none

${TARGET_HELP}`,
  'customers show': `usage: tollgate customers show <cus_id>

Shows a customer's payment state, entitlements, API keys (without secrets) and what each route of the
API document would answer for one of its valid keys.

${TARGET_HELP}`,
  events: `usage: tollgate events send <type> --customer <cus_id> …  (tollgate events send --help)`,
  'events send': `usage: tollgate events send <type> --customer <cus_id> [--status <status>] [--plan <lookup_key>]
                           [--entitlement <lookup_key>]… [--created <epoch seconds>] [--secret-id <id>]

Builds a realistic Stripe event, signs it with the webhook signing secret as Stripe does, and posts it
to the webhook URL.
  <type>                 ${SENDABLE_EVENT_TYPES.join(', ')}
  --customer <cus_id>    the Stripe customer id
  --status <status>      subscription events: ${SUBSCRIPTION_STATUSES.join(', ')}
  --plan <lookup_key>    the price lookup key (default: pro)
  --entitlement <key>    entitlement summary: an active feature lookup key (repeat for several)
  --created <seconds>    the event's created time (default: now)
  --secret-id <id>       deployed: the Secrets Manager secret holding the signing secret
                         (default: STRIPE_WEBHOOK_SECRET; locally the secret npm start uses)

${TARGET_HELP}`,
};

const TARGET_OPTIONS = {
  json: { type: 'boolean' },
  outputs: { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(argv: string[], options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>, help: string): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...TARGET_OPTIONS, ...options }, allowPositionals: true, strict: true });
    return { values: values, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^./, (c) => c.toLowerCase()), help);
  }
}

const text = (values: Values, name: string): string | undefined => (typeof values[name] === 'string' ? values[name] : undefined);

function customerArg(value: string | undefined, help: string): string {
  if (value === undefined) throw new UsageError('missing the customer: give a Stripe customer id such as cus_NffrFeUfNV2Hib', help);
  if (!CUSTOMER_ID.test(value)) throw new UsageError(`"${value}" is not a Stripe customer id: expected cus_ followed by letters and digits`, help);
  return value;
}

/** `2027-01-31T00:00:00Z`, or a duration from now: `90d`, `12h`, `30m`. */
export function parseExpiry(value: string, now: Date): Date {
  const duration = /^(\d+)([dhm])$/.exec(value);
  if (duration) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[duration[2] as 'd' | 'h' | 'm'];
    return new Date(now.getTime() + Number(duration[1]) * unit);
  }
  const at = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at)) {
    throw new UsageError(`--expires "${value}" is neither an ISO-8601 time nor a duration: use e.g. 2027-01-31T00:00:00Z or 90d`, HELP['keys create']!);
  }
  return new Date(at);
}

function keyLine(key: ApiKeySummary): string {
  const parts = [key.keyId, key.customerId, key.state.padEnd(7), `created ${key.createdAt}`];
  if (key.expiresAt !== undefined) parts.push(`expires ${key.expiresAt}`);
  if (key.revokedAt !== undefined) parts.push(`revoked ${key.revokedAt}`);
  if (key.replacedBy !== undefined) parts.push(`replaced by ${key.replacedBy}`);
  if (key.name !== undefined) parts.push(`"${key.name}"`);
  return parts.join('  ');
}

interface Context {
  readonly io: CliIo;
  readonly values: Values;
  readonly positionals: string[];
  readonly json: boolean;
  readonly now: Date;
  target(): Target;
  print(human: string, data: unknown): void;
}

/** After a change that must apply at once: cached authorizer results would keep the old answer until their TTL. */
async function flushAfter(target: Target, change: string, retry: string): Promise<void> {
  try {
    await target.flusher.flush(target.flushTarget);
  } catch (err) {
    throw new CliError(
      `${change}, but the authorizer cache could not be flushed (${(err as Error).message}): cached results keep the old answer until their TTL ends; retry with ${retry}`,
    );
  }
}

const COMMANDS: Record<string, { options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>; positionals: number; run: (ctx: Context) => Promise<void> }> = {
  'keys create': {
    options: { customer: { type: 'string' }, name: { type: 'string' }, expires: { type: 'string' } },
    positionals: 0,
    run: async (ctx) => {
      const help = HELP['keys create']!;
      const customerId = customerArg(text(ctx.values, 'customer'), help);
      const expires = text(ctx.values, 'expires');
      const name = text(ctx.values, 'name');
      const expiresAt = expires === undefined ? undefined : parseExpiry(expires, ctx.now);
      const target = ctx.target();
      const created = await createApiKey(
        { client: target.dynamodb, tables: target.tables, now: () => ctx.now },
        { customerId, ...(name === undefined ? {} : { name }), ...(expiresAt === undefined ? {} : { expiresAt }) },
      );
      ctx.print(
        [
          `API key ${created.keyId} for ${customerId}${created.expiresAt === undefined ? '' : ` (expires ${created.expiresAt})`}:`,
          '',
          `  ${created.key}`,
          '',
          'it is shown only this once: store it now.',
        ].join('\n'),
        created,
      );
    },
  },
  'keys list': {
    options: { customer: { type: 'string' } },
    positionals: 0,
    run: async (ctx) => {
      const target = ctx.target();
      const store = { client: target.dynamodb, tables: target.tables, now: () => ctx.now };
      const only = text(ctx.values, 'customer');
      let customers: string[];
      if (only !== undefined) {
        customers = [customerArg(only, HELP['keys list']!)];
      } else {
        const ids = new Set<string>();
        for await (const page of paginateScan({ client: target.dynamodb }, { TableName: target.tables.apiKeys, ProjectionExpression: 'customerId' })) {
          for (const item of page.Items ?? []) if (item.customerId?.S !== undefined) ids.add(item.customerId.S);
        }
        customers = [...ids].sort();
      }
      const keys: ApiKeySummary[] = [];
      for (const customerId of customers) keys.push(...(await listApiKeys(store, customerId)));
      ctx.print(keys.length === 0 ? 'no API keys' : keys.map(keyLine).join('\n'), keys);
    },
  },
  'keys revoke': {
    options: {},
    positionals: 1,
    run: async (ctx) => {
      const target = ctx.target();
      const revoked = await revokeApiKey({ client: target.dynamodb, tables: target.tables, now: () => ctx.now }, ctx.positionals[0]!);
      await flushAfter(target, 'the key is revoked', 'keys revoke');
      ctx.print(`revoked ${revoked.keyId} (${revoked.customerId}); authorizer cache flushed: the key is refused at once`, { ...revoked, cacheFlushed: true });
    },
  },
  'keys rotate': {
    options: { overlap: { type: 'string' }, name: { type: 'string' } },
    positionals: 1,
    run: async (ctx) => {
      const overlapText = text(ctx.values, 'overlap');
      const overlapSeconds = overlapText === undefined ? undefined : Number(overlapText);
      if (overlapSeconds !== undefined && (!Number.isInteger(overlapSeconds) || overlapSeconds < 0)) {
        throw new UsageError(`--overlap "${overlapText}" is invalid: give a whole number of seconds ≥ 0`, HELP['keys rotate']!);
      }
      const name = text(ctx.values, 'name');
      const target = ctx.target();
      const { created, previous } = await rotateApiKey({ client: target.dynamodb, tables: target.tables, now: () => ctx.now }, ctx.positionals[0]!, {
        ...(overlapSeconds === undefined ? {} : { overlapSeconds }),
        ...(name === undefined ? {} : { name }),
      });
      ctx.print(
        [
          `API key ${created.keyId} replaces ${previous.keyId} (which works until ${previous.expiresAt ?? 'it is revoked'}):`,
          '',
          `  ${created.key}`,
          '',
          'it is shown only this once: store it now.',
        ].join('\n'),
        { created, previous },
      );
    },
  },
  'customers set-usage': {
    options: { block: { type: 'string' } },
    positionals: 1,
    run: async (ctx) => {
      const help = HELP['customers set-usage']!;
      const customerId = customerArg(ctx.positionals[0], help);
      const value = text(ctx.values, 'block');
      if (value === undefined) throw new UsageError('missing --block: give credits_exhausted, quota_exceeded or none', help);
      if (value !== 'none' && !(USAGE_BLOCKS as readonly string[]).includes(value)) {
        throw new UsageError(`unknown block "${value}": give credits_exhausted, quota_exceeded or none`, help);
      }
      const block = value === 'none' ? undefined : (value as UsageBlock);
      const target = ctx.target();
      await setUsageBlock({ client: target.dynamodb, customersTable: target.tables.customers, now: () => ctx.now }, customerId, block);
      await flushAfter(target, `the usage block of ${customerId} is set`, 'customers set-usage');
      ctx.print(
        block === undefined ? `${customerId}: usage block cleared; authorizer cache flushed` : `${customerId}: paid routes now answer 402 ${block}; authorizer cache flushed`,
        { customerId, usageBlock: block ?? null, cacheFlushed: true },
      );
    },
  },
  'customers show': {
    options: {},
    positionals: 1,
    run: async (ctx) => {
      const customerId = customerArg(ctx.positionals[0], HELP['customers show']!);
      const target = ctx.target();
      const config = loadProjectConfig(ctx.io.root);
      const built = buildLocalDocument(config, ctx.io.root);
      const customer = await readCustomer(target.dynamodb, target.tables.customers, customerId);
      if (customer === undefined) throw new CliError(`no customer ${customerId}: it has no API key and no Stripe event was received for it`);
      const keys = await listApiKeys({ client: target.dynamodb, tables: target.tables, now: () => ctx.now }, customerId);
      const decision = decide(customer, built.routes, ctx.now, authorizerSettingsFor(config, built.routes, target.tables.customers));
      const routes = built.operations.map((operation) => {
        const route = `${operation.method} ${operation.path}`;
        if (operation.requires.kind === 'public') return { route, requires: 'public', status: 200 };
        if (customer.deleted === true) return { route, requires: formatRequirement(operation.requires), status: 401, reason: 'deleted_customer' };
        const verdict = decision.verdicts.find((v) => v.route.method === operation.method && v.route.path === operation.path);
        const allow = verdict?.allow === true;
        return { route, requires: formatRequirement(operation.requires), status: allow ? 200 : 402, ...(allow ? {} : { reason: decision.reason }) };
      });
      // The subscription that decides access (see decide.ts) in front, every subscription below it.
      const primary = decision.subscription;
      const state = {
        customerId,
        subscriptionId: primary?.id,
        subscriptionStatus: primary?.status,
        plan: primary?.plan,
        currentPeriodEnd: primary?.currentPeriodEnd,
        paymentUrl: primary?.paymentUrl,
        entitlements: customer.entitlements,
        usageBlock: customer.usageBlock,
        deleted: customer.deleted,
        subscriptions: subscriptionsOf(customer),
      };
      const summary = { customer: state, keys, routes, ...(decision.standing.good && decision.standing.warning !== undefined ? { warning: decision.standing.warning } : {}) };
      const lines = [
        `customer      ${customerId}${customer.deleted === true ? ' (deleted in Stripe)' : ''}`,
        `subscription  ${state.subscriptionStatus ?? 'none'}${state.subscriptionId === undefined ? '' : ` (${state.subscriptionId})`}${state.plan === undefined ? '' : `, plan ${state.plan}`}`,
        ...state.subscriptions.filter((s) => s.id !== state.subscriptionId).map((s) => `              ${s.status} (${s.id})${s.plan === undefined ? '' : `, plan ${s.plan}`}`),
        `entitlements  ${customer.entitlements === undefined || customer.entitlements.length === 0 ? 'none' : customer.entitlements.join(', ')}`,
        ...(state.currentPeriodEnd === undefined ? [] : [`period ends   ${new Date(state.currentPeriodEnd * 1000).toISOString()}`]),
        ...(state.paymentUrl === undefined ? [] : [`payment URL   ${state.paymentUrl}`]),
        '',
        `API keys (${keys.length})`,
        ...keys.map((k) => `  ${keyLine(k)}`),
        '',
        'what a valid key of this customer gets:',
        ...routes.map((r) => `  ${String(r.status)}  ${r.route.padEnd(28)} requires ${r.requires}${'reason' in r && r.reason !== undefined ? `  (${r.reason})` : ''}`),
      ];
      ctx.print(lines.join('\n'), summary);
    },
  },
  'events send': {
    options: {
      customer: { type: 'string' },
      status: { type: 'string' },
      plan: { type: 'string' },
      entitlement: { type: 'string', multiple: true },
      created: { type: 'string' },
      'secret-id': { type: 'string' },
    },
    positionals: 1,
    run: async (ctx) => {
      const help = HELP['events send']!;
      const type = ctx.positionals[0]!;
      if (!isSendableEventType(type)) throw new UsageError(`unknown event type "${type}": use one of ${SENDABLE_EVENT_TYPES.join(', ')}`, help);
      const customerId = customerArg(text(ctx.values, 'customer'), help);
      const status = text(ctx.values, 'status');
      if (status !== undefined && !isSubscriptionStatus(status)) {
        throw new UsageError(`unknown subscription status "${status}": use one of ${SUBSCRIPTION_STATUSES.join(', ')}`, help);
      }
      const createdText = text(ctx.values, 'created');
      const created = createdText === undefined ? undefined : Number(createdText);
      if (created !== undefined && (!Number.isSafeInteger(created) || created < 0)) {
        throw new UsageError(`--created "${createdText}" is invalid: give epoch seconds`, help);
      }
      const entitlements = Array.isArray(ctx.values.entitlement) ? ctx.values.entitlement : undefined;
      const plan = text(ctx.values, 'plan');
      let event: Record<string, unknown>;
      try {
        event = buildStripeEvent(
          {
            type,
            customerId,
            ...(status === undefined ? {} : { status: status }),
            ...(plan === undefined ? {} : { plan }),
            ...(entitlements === undefined ? {} : { entitlements }),
            ...(created === undefined ? {} : { created }),
          },
          ctx.now,
        );
      } catch (err) {
        if (err instanceof EventSpecError) throw new UsageError(err.message, help);
        throw err;
      }
      const target = ctx.target();
      const payload = serializeStripeEvent(event);
      const signature = signStripePayload(payload, await target.webhookSecret(), Math.floor(ctx.now.getTime() / 1000));
      let response: Response;
      try {
        response = await (ctx.io.fetch ?? fetch)(target.webhookUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': signature, 'User-Agent': 'tollgate-cli (Stripe event simulator)' },
          body: payload,
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        throw new CliError(`could not reach the webhook at ${target.webhookUrl}: ${(err as Error).message}`);
      }
      const body = await response.text();
      const result = { eventId: event.id, type, customerId, webhookUrl: target.webhookUrl, status: response.status, response: body };
      if (!response.ok) throw new CliError(`the webhook answered ${response.status} to ${type} ${String(event.id)}: ${body}`);
      ctx.print(`${type} ${String(event.id)} → ${response.status} ${body}`, result);
    },
  },
};

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const args = [...argv];
  const wantsJson = args.includes('--json');
  const reportError = (message: string, help?: string): void => {
    if (wantsJson) io.stderr(`${JSON.stringify({ error: message })}\n`);
    else io.stderr(`tollgate: ${message}\n${help === undefined ? '' : `\n${help}\n`}`);
  };
  const isHelp = args.includes('--help') || args.includes('-h');
  // Commands come first: tollgate <group> <command> [arguments] [options].
  const group = args[0] !== undefined && !args[0].startsWith('-') ? args[0] : undefined;
  const sub = group !== undefined && args[1] !== undefined && !args[1].startsWith('-') ? args[1] : undefined;

  if (group === undefined) {
    if (isHelp) {
      io.stdout(`${HELP.root}\n`);
      return 0;
    }
    reportError('missing a command', HELP.root);
    return 2;
  }
  const command = `${group} ${sub ?? ''}`.trim();
  const spec = COMMANDS[command];
  if (spec === undefined) {
    const groupHelp = HELP[group];
    if (groupHelp !== undefined && isHelp && sub === undefined) {
      io.stdout(`${groupHelp}\n`);
      return 0;
    }
    reportError(groupHelp === undefined ? `unknown command "${group}"` : sub === undefined ? `missing a ${group} command` : `unknown ${group} command "${sub}"`, groupHelp ?? HELP.root);
    return 2;
  }
  const help = HELP[command]!;
  let target: Target | undefined;
  try {
    const { values, positionals } = parse(args.slice(2), spec.options, help);
    if (values.help === true) {
      io.stdout(`${help}\n`);
      return 0;
    }
    if (positionals.length !== spec.positionals) {
      throw new UsageError(
        spec.positionals === 0 ? `unexpected argument "${positionals[0]}"` : positionals.length === 0 ? 'missing an argument' : `unexpected argument "${positionals[spec.positionals]}"`,
        help,
      );
    }
    const json = values.json === true;
    const ctx: Context = {
      io,
      values,
      positionals,
      json,
      now: (io.now ?? (() => new Date()))(),
      target: () =>
        (target ??= resolveTarget({
          stateDir: stateDirectory(io.root, io.env),
          env: io.env,
          ...(text(values, 'outputs') === undefined ? {} : { outputs: text(values, 'outputs') }),
          ...(text(values, 'region') === undefined ? {} : { region: text(values, 'region') }),
          ...(text(values, 'secret-id') === undefined ? {} : { secretId: text(values, 'secret-id') }),
        })),
      print: (human, data) => io.stdout(`${json ? JSON.stringify(data, null, 2) : human}\n`),
    };
    await spec.run(ctx);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      reportError(err.message, err.help);
      return 2;
    }
    const known = [CliError, TargetError, KeyNotFoundError, KeyNotActiveError, KeyConflictError, KeyLimitError, CustomerDeletedError, UnknownCustomerError, RangeError];
    if (err instanceof Error && known.some((type) => err instanceof type)) {
      reportError(err.message);
    } else if (err instanceof Error && /ECONNREFUSED|fetch failed|socket hang up|TimeoutError|ResourceNotFoundException/.test(`${err.name} ${err.message}`)) {
      reportError(`the ${target?.kind ?? 'local'} stack did not answer (${err.name}: ${err.message}): is it running? (npm start, or check --outputs/--region)`);
    } else {
      reportError(`failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    return 1;
  } finally {
    target?.close();
  }
}
