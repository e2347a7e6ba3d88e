import { decide } from '../../lambda/shared/customers/standing';
import { subscriptionsOf, type UsageBlock } from '../../lambda/shared/customers/record';
import { readCustomer } from '../../lambda/shared/customers/store';
import { formatRequirement } from '../../lambda/shared/requirements';
import { listApiKeys } from '../../lambda/shared/customers/keys';
import { setUsageBlock, USAGE_BLOCKS } from '../../lambda/shared/customers/usage';
import { ANY_METHODS } from '../openapi/build';
import { authorizerSettingsFor, buildLocalDocument } from '../local/stack';
import { stringValue, UsageError } from './args';
import { CliError, CUSTOMER_ARGUMENT, customerArg, flushAfter, type CommandGroup, type CommandSpec } from './command';
import { keyTable } from './keys';
import { linkSubjectCommand, unlinkSubjectCommand } from './subjects';
import { stackConfig } from './target';

const BLOCK_CHOICES = `${USAGE_BLOCKS.join(', ')} or none`;

const show: CommandSpec = {
  name: 'show',
  summary: 'payment state, keys, and what each route answers',
  synopsis: '<cus_id>',
  description: [
    "Shows a customer's payment state, entitlements, API keys (without secrets) and what each route of the",
    'API document would answer for one of its valid keys.',
  ].join('\n'),
  arguments: [CUSTOMER_ARGUMENT],
  options: {},
  run: async (ctx) => {
    const customerId = customerArg(ctx.positionals[0]);
    const target = ctx.target();
    const config = stackConfig(ctx.io.root, target);
    const built = buildLocalDocument(config, ctx.io.root);
    const customer = await readCustomer(target.dynamodb, target.tables.customers, customerId);
    if (customer === undefined) throw new CliError(`no customer ${customerId}: it has no API key and no Stripe event was received for it`);
    const keys = await listApiKeys({ client: target.dynamodb, tables: target.tables, now: () => ctx.now }, customerId);
    const decision = decide(customer, built.routes, ctx.now, authorizerSettingsFor(config, built.routes, target.tables.customers));
    const routes = built.operations.map((operation) => {
      const route = `${operation.method} ${operation.path}`;
      if (operation.requires.kind === 'public') return { route, requires: 'public', status: 200 };
      if (customer.deleted === true) return { route, requires: formatRequirement(operation.requires), status: 401, reason: 'deleted_customer' };
      // An ANY operation reaches the authorizer as each method it stands for (all share its requirement).
      const methods = operation.method === 'ANY' ? ANY_METHODS : [operation.method];
      const verdict = decision.verdicts.find((v) => v.route.path === operation.path && methods.includes(v.route.method));
      const allow = verdict?.allow === true;
      return { route, requires: formatRequirement(operation.requires), status: allow ? 200 : 402, ...(allow ? {} : { reason: decision.reason }) };
    });
    // The subscription that decides access (see lambda/shared/customers/standing.ts) in front, every subscription below it.
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
      ...(keys.length === 0 ? [] : keyTable(keys, '  ')),
      '',
      'what a valid key of this customer gets:',
      ...routes.map((r) => `  ${String(r.status)}  ${r.route.padEnd(28)} requires ${r.requires}${'reason' in r && r.reason !== undefined ? `  (${r.reason})` : ''}`),
    ];
    ctx.print(lines.join('\n'), summary);
  },
};

const setUsage: CommandSpec = {
  name: 'set-usage',
  summary: 'metered plans: mark credits or quota as used up, or clear it',
  synopsis: '<cus_id> --block <credits_exhausted|quota_exceeded|none>',
  description: [
    "Metered plans: marks a customer's prepaid credits or period quota as used up, so paid routes answer 402",
    "credits_exhausted or quota_exceeded (free-tier routes keep working); none clears it. Flushes the stage's",
    'authorizer cache, so it applies at once. Call it from your metering.',
  ].join('\n'),
  arguments: [CUSTOMER_ARGUMENT],
  options: { block: { type: 'string', value: '<block>', help: BLOCK_CHOICES } },
  run: async (ctx) => {
    const customerId = customerArg(ctx.positionals[0]);
    const value = stringValue(ctx.values, 'block');
    if (value === undefined) throw new UsageError(`missing --block: give ${BLOCK_CHOICES}`);
    if (value !== 'none' && !(USAGE_BLOCKS as readonly string[]).includes(value)) throw new UsageError(`unknown block "${value}": give ${BLOCK_CHOICES}`);
    const block = value === 'none' ? undefined : (value as UsageBlock);
    const target = ctx.target();
    await setUsageBlock({ client: target.dynamodb, customersTable: target.tables.customers, now: () => ctx.now }, customerId, block);
    const { flushed, note } = await flushAfter(ctx);
    ctx.print(
      block === undefined ? `${customerId}: usage block cleared; ${note}` : `${customerId}: paid routes now answer 402 ${block}; ${note}`,
      { customerId, usageBlock: block ?? null, cacheFlushed: flushed },
    );
  },
};

export const CUSTOMERS: CommandGroup = {
  name: 'customers',
  summary: 'customers: payment state as the authorizer sees it, and usage blocks for metered plans',
  commands: [show, setUsage, linkSubjectCommand, unlinkSubjectCommand],
};
