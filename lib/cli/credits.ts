import { randomUUID } from 'node:crypto';
import { grantCredits, MAX_GRANT_REASON_LENGTH, UnknownCustomerForCreditsError } from '../../lambda/shared/customers/metered-usage';
import { DEFAULT_GRANT_PRIORITY, grantDurationSeconds } from '../../lambda/shared/credit-grants';
import { stringValue, UsageError } from './args';
import { CliError, CUSTOMER_ARGUMENT, customerArg, type CommandGroup, type CommandSpec } from './command';

/** Prepaid credits granted by hand (support, goodwill, a deal): recorded with their reason. */

const GRANT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
/** `30d`, `12h`, `90m` → seconds. */
function durationSeconds(text: string): number {
  const seconds = grantDurationSeconds(text);
  if (seconds === undefined) throw new UsageError(`--expires-in "${text}" is not a duration: give a number of days, hours or minutes such as 30d, 12h or 90m`);
  return seconds;
}

const grant: CommandSpec = {
  name: 'grant',
  summary: 'add prepaid credits to a customer, with the reason recorded',
  synopsis: '<cus_id> <units> --reason <text> [--id <grant id>] [--expires-in <30d|12h|90m>] [--promotional] [--priority <0-100>]',
  description: [
    "Adds <units> to the customer's prepaid credits (one atomic ADD) and records the grant with its reason and",
    'time in the event ledger, in the same transaction. With --id the grant is applied once however often the',
    "command runs (a retried script). Flushes the stage's authorizer cache, so a customer at zero gets through at once.",
    'The grant draws in order: promotional before paid, then by priority (0 first), then the soonest expiry.',
  ].join('\n'),
  arguments: [CUSTOMER_ARGUMENT, { name: '<units>', help: 'a whole number of units > 0', missing: 'missing <units>: give a whole number of units such as 100' }],
  options: {
    reason: { type: 'string', value: '<text>', help: `why, for people (up to ${MAX_GRANT_REASON_LENGTH} characters; recorded)` },
    id: { type: 'string', value: '<grant id>', help: 'an id that makes the grant idempotent (default: a new one each time)' },
    'expires-in': { type: 'string', value: '<duration>', help: 'the units left stop counting after this long: 30d, 12h or 90m (default: never)' },
    promotional: { type: 'boolean', help: 'a promotional grant, drawn before paid ones (default: paid)' },
    priority: { type: 'string', value: '<0-100>', help: `within a category, lower draws first (default: ${DEFAULT_GRANT_PRIORITY})` },
  },
  run: async (ctx) => {
    const customerId = customerArg(ctx.positionals[0]);
    const text = ctx.positionals[1] ?? '';
    if (!/^\d{1,9}$/.test(text) || Number(text) === 0) throw new UsageError(`"${text}" is not a number of units: give a whole number > 0 such as 100`);
    const units = Number(text);
    const reason = stringValue(ctx.values, 'reason');
    if (reason === undefined || reason.trim() === '') throw new UsageError('missing --reason: say why the credits are granted ("goodwill for the outage of 2 May")');
    if (reason.length > MAX_GRANT_REASON_LENGTH) throw new UsageError(`--reason is longer than ${MAX_GRANT_REASON_LENGTH} characters: shorten it`);
    const grantId = stringValue(ctx.values, 'id') ?? randomUUID();
    if (!GRANT_ID.test(grantId)) throw new UsageError(`--id "${grantId}" is not a grant id: use up to 128 letters, digits, ".", "_", ":" or "-"`);
    const expiresIn = stringValue(ctx.values, 'expires-in');
    const expiresAt = expiresIn === undefined ? undefined : Math.floor(ctx.now.getTime() / 1000) + durationSeconds(expiresIn);
    const priorityText = stringValue(ctx.values, 'priority');
    if (priorityText !== undefined && !/^\d{1,3}$/.test(priorityText)) throw new UsageError(`--priority "${priorityText}" is not a priority: give a whole number from 0 to 100`);
    const category = ctx.values.promotional === true ? 'promotional' : 'paid';
    const options = { category, ...(priorityText === undefined ? {} : { priority: Number(priorityText) }), ...(expiresAt === undefined ? {} : { expiresAt }) } as const;
    const target = ctx.target();
    let outcome: 'granted' | 'duplicate';
    try {
      outcome = await grantCredits(target.dynamodb, { customers: target.tables.customers, events: target.tables.events }, { customerId, units, reason, grantId, now: ctx.now, ...options });
    } catch (err) {
      if (err instanceof UnknownCustomerForCreditsError || err instanceof RangeError) throw new CliError(err.message);
      throw err;
    }
    // No flush: the routes credits pay for are cached a second at most (their own authorizer).
    ctx.print(
      outcome === 'granted' ? `${customerId}: ${units} credits granted (grant ${grantId})` : `${customerId}: grant ${grantId} was applied before; nothing added`,
      {
        customerId,
        units,
        reason,
        grantId,
        outcome,
        grantedAt: ctx.now.toISOString(),
        category,
        priority: options.priority ?? DEFAULT_GRANT_PRIORITY,
        expiresAt: expiresAt === undefined ? null : new Date(expiresAt * 1000).toISOString(),
      },
    );
  },
};

export const CREDITS: CommandGroup = {
  name: 'credits',
  summary: 'prepaid credits: grant units by hand, recorded',
  commands: [grant],
};
