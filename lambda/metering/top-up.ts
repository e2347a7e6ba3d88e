import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Stripe from 'stripe';
import { spendable } from '../shared/credit-grants';
import { topUpIfDue, type TopUpOutcome } from '../shared/auto-top-up';
import type { MeteredUsage } from '../shared/customers/metered-usage';
import { topUpReady } from '../shared/customers/top-up';
import { fundsOf, readWallet } from '../shared/customers/wallet';
import { METERING_METRICS } from '../shared/metrics';
import { countOne, type Observability } from '../shared/observability';

/**
 * Metering's part of auto top-up (shared/auto-top-up.ts): after a write that drew on the credits of a
 * customer whose top-up is ready, read the wallet as the write left it and charge the pack when the
 * credits left are below the threshold. Customers without a top-up cost nothing more (their item says
 * so, and metering has read it already); with one, a wallet read per write that drew credits.
 */
export type MeteringTopUp = (state: MeteredUsage) => Promise<TopUpOutcome['outcome']>;

export function makeMeteringTopUp(deps: { readonly dynamodb: DynamoDBClient; readonly tables: { readonly customers: string; readonly events: string }; readonly stripe: Stripe; readonly now: () => Date; readonly observability: Observability }): MeteringTopUp {
  const { dynamodb, tables, now, observability } = deps;
  return async (state) => {
    if (!topUpReady(state.topUp) || state.topUp.state === 'failed') return 'none';
    const wallet = await readWallet(dynamodb, tables.customers, state.customerId);
    const left = spendable(fundsOf(wallet), now());
    const outcome = await topUpIfDue(
      { dynamodb, tables, stripe: deps.stripe, now },
      state.customerId,
      state.topUp,
      left,
    );
    if (outcome.outcome !== 'none') {
      countOne(observability.metrics, METERING_METRICS.topUpCharges, { outcome: outcome.outcome });
      observability.logger.info('auto top-up', { customerId: state.customerId, ...outcome });
    }
    return outcome.outcome;
  };
}
