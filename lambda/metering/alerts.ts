import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { BudgetSpend } from '../shared/customers/budgets-spend';
import type { MeteredUsage } from '../shared/customers/metered-usage';
import { readWallet } from '../shared/customers/wallet';
import { budgetState } from '../shared/budgets';
import { alertItem, type AlertItem } from '../shared/alerts/outbox';
import { putAlertItem } from '../shared/alerts/put';
import { quotaAlerts, walletAlerts, type AlertRules, type DueAlert, type WalletLevels } from '../shared/alerts/rules';
import type { CustomerUsage } from './aggregate';
import type { UsagePlan } from './rules';
import type { Settlement } from './settle';

/**
 * Metering's part of the alerts (docs/alerts.md). Each alert is a ledger item in the events table put
 * with `attribute_not_exists(eventId)`, so it fires once per threshold and period whatever the batching.
 *
 * - Quota thresholds ride in the usage write's own transaction: up to 100 % of the quota the counter
 *   write is conditional on the count it read, so the level it leaves is exact, and an alert another
 *   write put first fails its condition and the write is made again without it (handler.ts).
 * - Credits and budgets also move outside metering (a strict call's reservation in the authorizer, which
 *   gains no request; a grant; a raised cap), so after a write that drew on them metering reads the wallet
 *   and puts what its levels make due. The write that settles a strict call is the one that finds the
 *   crossing its reservation made. A crash between the write and this put defers the alert to the
 *   customer's next settled call (the level still holds in the period).
 */

/** Alert items one write carries at most (a transaction holds 100 items: the ledger, the usage, the wallet and up to 90 refunds). */
export const MAX_ALERTS_PER_WRITE = 6;

export interface AlertStore {
  /** The ids among these whose alert item exists (fired before). */
  fired(ids: readonly string[]): Promise<ReadonlySet<string>>;
  /** An alert this instance put: fired from now on. */
  remember(id: string): void;
  /** The wallet's levels, strongly consistent; undefined: no wallet. */
  wallet(customerId: string, now: Date): Promise<WalletLevels | undefined>;
  /** Puts an alert item unless it exists; true when this put it. */
  put(item: AlertItem): Promise<boolean>;
}

export interface MeteringAlerts {
  readonly rules: AlertRules;
  readonly store: AlertStore;
}

const quotasOf = (plans: Readonly<Record<string, UsagePlan>>): Record<string, number> =>
  Object.fromEntries(Object.entries(plans).flatMap(([key, plan]) => (plan.quota === undefined ? [] : [[key, plan.quota]])));

async function unfired(alerts: MeteringAlerts, customerId: string, due: readonly DueAlert[], now: Date, skip: ReadonlySet<string>): Promise<AlertItem[]> {
  const items = due.map((d) => alertItem(customerId, d, now)).filter((item) => !skip.has(item.eventId));
  if (items.length === 0) return [];
  const fired = await alerts.store.fired(items.map((i) => i.eventId));
  return items.filter((i) => !fired.has(i.eventId));
}

/** The quota alerts to put in this write's transaction: due, not fired before, at most MAX_ALERTS_PER_WRITE (the rest are due again at the next write). */
export async function quotaAlertItems(alerts: MeteringAlerts, customerId: string, settlement: Settlement, plans: Readonly<Record<string, UsagePlan>>, now: Date, skip: ReadonlySet<string>): Promise<AlertItem[]> {
  if (alerts.rules.quota.length === 0) return [];
  const due = quotaAlerts(alerts.rules, customerId, settlement.after.counters, quotasOf(plans));
  return (await unfired(alerts, customerId, due, now, skip)).slice(0, MAX_ALERTS_PER_WRITE);
}

/** What of the wallet a write moved (or settled what the authorizer moved): the levels worth judging. */
export interface WalletTouch {
  readonly credits: boolean;
  readonly budgets: boolean;
}

export function touchedWallet(usage: CustomerUsage, settlement: Settlement, spends: readonly BudgetSpend[]): WalletTouch {
  const strictSettled = usage.prepaid > 0 || (usage.kept?.size ?? 0) > 0;
  const pastQuota = settlement.fromCredits > 0 || settlement.overshoot > 0 || settlement.billed.length > 0;
  return { credits: strictSettled || pastQuota, budgets: strictSettled || spends.length > 0 };
}

/** After a write that touched the wallet: the credits and budget alerts its levels make due, each put once. Returns how many this put. */
export async function putWalletAlerts(alerts: MeteringAlerts, state: MeteredUsage, touched: WalletTouch, now: Date): Promise<number> {
  const { rules } = alerts;
  const credits = touched.credits && rules.creditsBelow.length > 0;
  const budgets = touched.budgets && rules.budget.length > 0;
  if (!credits && !budgets) return 0;
  const wallet = await alerts.store.wallet(state.customerId, now);
  if (wallet === undefined) return 0;
  const levels: WalletLevels = { ...(credits && wallet.balance !== undefined ? { balance: wallet.balance } : {}), budgets: budgets ? wallet.budgets : [] };
  const items = await unfired(alerts, state.customerId, walletAlerts(rules, state.customerId, levels, state.subscriptions, now), now, new Set());
  let put = 0;
  for (const item of items) {
    if (await alerts.store.put(item)) put += 1;
    alerts.store.remember(item.eventId);
  }
  return put;
}

/**
 * The alerts' items in the events table, read with a consistent GetItem per id (metering may GetItem
 * and PutItem there already). An id seen once stays fired (an alert item outlives its period), so each
 * instance remembers them and reads each at most once.
 */
export class DynamoAlertStore implements AlertStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly known = new Set<string>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tables: { readonly customers: string; readonly events: string },
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async fired(ids: readonly string[]): Promise<ReadonlySet<string>> {
    const unknown = ids.filter((id) => !this.known.has(id));
    const found = await Promise.all(
      unknown.map(async (id) => {
        const { Item } = await this.documents.send(new GetCommand({ TableName: this.tables.events, Key: { eventId: id }, ConsistentRead: true, ProjectionExpression: 'eventId' }));
        return Item === undefined ? undefined : id;
      }),
    );
    for (const id of found) if (id !== undefined) this.remember(id);
    return new Set(ids.filter((id) => this.known.has(id)));
  }

  remember(id: string): void {
    // Bounded: a long-lived instance forgets the oldest (a forgotten id costs one read again, never a second alert).
    if (this.known.size >= 10_000) this.known.delete(this.known.values().next().value!);
    this.known.add(id);
  }

  async wallet(customerId: string, now: Date): Promise<WalletLevels | undefined> {
    const wallet = await readWallet(this.client, this.tables.customers, customerId);
    if (wallet === undefined) return undefined;
    const budgets = Object.keys(wallet.budget.budgets ?? {}).flatMap((scope) => {
      const state = budgetState(wallet.budget, scope, now, undefined);
      const entry = wallet.budget.budgets![scope]!;
      return state === undefined || state.expired ? [] : [{ scope, entry, left: state.left }];
    });
    return { ...(wallet.balance === undefined ? {} : { balance: wallet.balance }), budgets };
  }

  put(item: AlertItem): Promise<boolean> {
    return putAlertItem(this.client, this.tables.events, item);
  }
}
