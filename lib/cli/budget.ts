import { BUDGET_WINDOWS, CUSTOMER_SCOPE, isBudgetWindow, MAX_BUDGET_LIMIT, type BudgetState } from '../../lambda/shared/budgets';
import { budgetsOf, removeBudget, setBudget, UnknownCustomerForBudgetError, UnknownKeyForBudgetError } from '../../lambda/shared/customers/budgets-store';
import { readCustomer } from '../../lambda/shared/customers/store';
import { stringValue, UsageError } from './args';
import { CliError, CUSTOMER_ARGUMENT, customerArg, type CommandGroup, type CommandSpec, type Context } from './command';

/** Spend caps a customer sets on itself (lambda/shared/budgets.ts), set by the operator on its behalf. */

const KEY_OPTION = { key: { type: 'string', value: '<keyId>', help: "one key's own budget (default: the whole customer's)" } } as const;

const keyOf = (ctx: Context): string | undefined => {
  const keyId = stringValue(ctx.values, 'key');
  if (keyId !== undefined && !/^[A-Za-z0-9]{8}$/.test(keyId)) throw new UsageError(`--key "${keyId}" is not a key id: give the 8 letters or digits keys list shows`);
  return keyId;
};

const describe = (b: BudgetState): string =>
  `${b.scope === CUSTOMER_SCOPE ? 'customer' : `key ${b.scope}`}: ${b.used} of ${b.limit} units used this ${b.window === 'day' ? 'day' : 'billing period'}, resets ${new Date(b.resetsAt * 1000).toISOString()}`;

const json = (b: BudgetState) => ({ scope: b.scope === CUSTOMER_SCOPE ? 'customer' : 'key', keyId: b.scope === CUSTOMER_SCOPE ? null : b.scope, limit: b.limit, window: b.window, used: b.used, left: Math.max(0, b.left), resetsAt: new Date(b.resetsAt * 1000).toISOString() });

async function known<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof UnknownCustomerForBudgetError || err instanceof UnknownKeyForBudgetError || err instanceof RangeError) throw new CliError(err.message);
    throw err;
  }
}

const set: CommandSpec = {
  name: 'set',
  summary: "set or change a customer's (or one key's) spend cap",
  synopsis: '<cus_id> <units> [--per <day|period>] [--key <keyId>]',
  description: [
    'Caps the units the customer (or, with --key, one of its keys) can spend per UTC day or per billing period.',
    'Past it, routes sold by use answer 402 budget_exceeded until the window resets or the cap is raised.',
    'A raise or a cut keeps what was spent in the window; a new budget, or a new --per, counts from now.',
  ].join('\n'),
  arguments: [CUSTOMER_ARGUMENT, { name: '<units>', help: `a whole number of units from 1 to ${MAX_BUDGET_LIMIT}`, missing: 'missing <units>: give the cap, such as 500' }],
  options: { per: { type: 'string', value: '<day|period>', help: `${BUDGET_WINDOWS.join(' or ')} (default: day)` }, ...KEY_OPTION },
  run: async (ctx) => {
    const customerId = customerArg(ctx.positionals[0]);
    const text = ctx.positionals[1] ?? '';
    if (!/^\d{1,13}$/.test(text)) throw new UsageError(`"${text}" is not a number of units: give a whole number such as 500`);
    const per = stringValue(ctx.values, 'per') ?? 'day';
    if (!isBudgetWindow(per)) throw new UsageError(`--per "${per}" is not a window: give day or period`);
    const keyId = keyOf(ctx);
    const target = ctx.target();
    // No flush: the routes a budget closes are cached a second at most (strict ones not at all).
    const state = await known(setBudget(target.dynamodb, target.tables.customers, { customerId, ...(keyId === undefined ? {} : { keyId }) }, Number(text), per, ctx.now));
    ctx.print(`${customerId} ${describe(state)}`, { customerId, ...json(state) });
  },
};

const remove: CommandSpec = {
  name: 'remove',
  summary: "remove a customer's (or one key's) spend cap",
  synopsis: '<cus_id> [--key <keyId>]',
  description: 'Removes the cap: the calls it stopped go through at once.',
  arguments: [CUSTOMER_ARGUMENT],
  options: KEY_OPTION,
  run: async (ctx) => {
    const customerId = customerArg(ctx.positionals[0]);
    const keyId = keyOf(ctx);
    const target = ctx.target();
    const removed = await known(removeBudget(target.dynamodb, target.tables.customers, { customerId, ...(keyId === undefined ? {} : { keyId }) }));
    const scope = keyId === undefined ? 'customer budget' : `budget of key ${keyId}`;
    ctx.print(removed ? `${customerId}: ${scope} removed` : `${customerId}: no ${scope} to remove`, { customerId, keyId: keyId ?? null, removed });
  },
};

const show: CommandSpec = {
  name: 'show',
  summary: "a customer's budgets: limit, used, when each resets",
  synopsis: '<cus_id>',
  description: "Lists the customer's budget and its keys' budgets as they stand now.",
  arguments: [CUSTOMER_ARGUMENT],
  options: {},
  run: async (ctx) => {
    const customerId = customerArg(ctx.positionals[0]);
    const target = ctx.target();
    const record = await readCustomer(target.dynamodb, target.tables.customers, customerId);
    if (record === undefined) throw new CliError(`no customer ${customerId}: create an API key for it or send its Stripe events first`);
    const budgets = budgetsOf(record, ctx.now);
    ctx.print(budgets.length === 0 ? `${customerId}: no budgets` : budgets.map((b) => `${customerId} ${describe(b)}`).join('\n'), { customerId, budgets: budgets.map(json) });
  },
};

export const BUDGET: CommandGroup = {
  name: 'budget',
  summary: 'spend caps: set, remove or show a customer’s or a key’s budget',
  commands: [set, remove, show],
};
