import { randomUUID } from 'node:crypto';
import { grantCredits, MAX_GRANT_REASON_LENGTH, UnknownCustomerForCreditsError } from '../../lambda/shared/customers/metered-usage';
import { stringValue, UsageError } from './args';
import { CliError, CUSTOMER_ARGUMENT, customerArg, type CommandGroup, type CommandSpec } from './command';

/** Prepaid credits granted by hand (support, goodwill, a deal): recorded with their reason. */

const GRANT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

const grant: CommandSpec = {
  name: 'grant',
  summary: 'add prepaid credits to a customer, with the reason recorded',
  synopsis: '<cus_id> <units> --reason <text> [--id <grant id>]',
  description: [
    "Adds <units> to the customer's prepaid credits (one atomic ADD) and records the grant with its reason and",
    'time in the event ledger, in the same transaction. With --id the grant is applied once however often the',
    "command runs (a retried script). Flushes the stage's authorizer cache, so a customer at zero gets through at once.",
  ].join('\n'),
  arguments: [CUSTOMER_ARGUMENT, { name: '<units>', help: 'a whole number of units > 0', missing: 'missing <units>: give a whole number of units such as 100' }],
  options: {
    reason: { type: 'string', value: '<text>', help: `why, for people (up to ${MAX_GRANT_REASON_LENGTH} characters; recorded)` },
    id: { type: 'string', value: '<grant id>', help: 'an id that makes the grant idempotent (default: a new one each time)' },
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
    const target = ctx.target();
    let outcome: 'granted' | 'duplicate';
    try {
      outcome = await grantCredits(target.dynamodb, { customers: target.tables.customers, events: target.tables.events }, { customerId, units, reason, grantId, now: ctx.now });
    } catch (err) {
      if (err instanceof UnknownCustomerForCreditsError) throw new CliError(err.message);
      throw err;
    }
    // No flush: the routes credits pay for are cached a second at most (their own authorizer).
    ctx.print(
      outcome === 'granted' ? `${customerId}: ${units} credits granted (grant ${grantId})` : `${customerId}: grant ${grantId} was applied before; nothing added`,
      { customerId, units, reason, grantId, outcome, grantedAt: ctx.now.toISOString() },
    );
  },
};

export const CREDITS: CommandGroup = {
  name: 'credits',
  summary: 'prepaid credits: grant units by hand, recorded',
  commands: [grant],
};
