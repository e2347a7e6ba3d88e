import { PAYMENT_STATE_PROJECTION } from '../../lambda/shared/customers/item';
import { readCustomer } from '../../lambda/shared/customers/store';
import { loadUsageSettings, usageEnvironment } from '../../lambda/shared/settings';
import { TABLES } from '../../lambda/shared/tables';
import { usageAnswer } from '../../lambda/usage/handler';
import { CliError, CUSTOMER_ARGUMENT, customerArg, type CommandGroup, type CommandSpec } from './command';
import { stackConfig } from './target';

/**
 * Usage of a customer as the usage route answers it (lambda/usage): the same rule over the same item,
 * read with the caller's credentials, on the local stack or a deployed one.
 */

const show: CommandSpec = {
  name: 'show',
  summary: "a customer's plan, period, used, limit, remaining, credits and when the quota resets",
  synopsis: '<cus_id>',
  description: [
    "Shows what GET /tollgate/usage answers the customer: the plan (the configured tollgate:plans), the billing",
    'period, the units used in it, the limit and what remains, the prepaid credits and when the quota resets.',
    'Usage counts successful calls from the access log, a batch every few seconds.',
  ].join('\n'),
  arguments: [CUSTOMER_ARGUMENT],
  options: {},
  run: async (ctx) => {
    const customerId = customerArg(ctx.positionals[0]);
    const target = ctx.target();
    const config = stackConfig(ctx.io.root, target);
    const customer = await readCustomer(target.dynamodb, target.tables.customers, customerId, PAYMENT_STATE_PROJECTION);
    if (customer === undefined) throw new CliError(`no customer ${customerId}: create an API key for it or send its Stripe events first`);
    const settings = loadUsageSettings({ ...usageEnvironment(config), [TABLES.customers.envVar]: target.tables.customers });
    const answer = usageAnswer(customer, settings, ctx.now);
    // No number: unlimited only when a plan says so; with no plan there is nothing to draw on but credits.
    const noLimit = answer.plan === null ? `none: no plan${answer.credits === null ? '' : ' (credits only)'}` : 'unlimited';
    const units = (n: number | null, none: string): string => (n === null ? none : String(n));
    const lines = [
      `customer   ${customerId}`,
      `plan       ${answer.plan === null ? 'none' : `${answer.plan.name} (${answer.plan.key}), past the quota: ${answer.overage}`}`,
      `period     ${answer.period === null ? 'none' : answer.period.start === null ? `ends ${answer.period.end}` : `${answer.period.start} to ${answer.period.end}`}`,
      `used       ${answer.used}`,
      `limit      ${units(answer.limit, noLimit)}`,
      `remaining  ${units(answer.remaining, noLimit)}`,
      `credits    ${units(answer.credits, 'none')}`,
      `resets at  ${answer.resetsAt ?? '-'}`,
      ...answer.grants.map(
        (g) => `grant      ${g.id} ${g.category}, priority ${g.priority}: ${g.left} of ${g.units} units left, ${g.expiresAt === null ? 'never expires' : `${g.expired ? 'expired' : 'expires'} ${g.expiresAt}`}`,
      ),
    ];
    ctx.print(lines.join('\n'), answer);
  },
};

export const USAGE: CommandGroup = {
  name: 'usage',
  summary: 'usage-based plans: what a customer has used and has left',
  commands: [show],
};
