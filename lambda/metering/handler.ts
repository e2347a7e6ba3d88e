import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MeteredUsage } from '../shared/customers/metered-usage';
import { isWalletReservation, PENDING_BOUND_SECONDS } from '../shared/customers/wallet';
import { countOne, createObservability, type Observability } from '../shared/observability';
import { aggregateBatch, type CustomerUsage } from './aggregate';
import { batchId as batchIdOf, decodeSubscriptionEvent, isSubscriptionEvent, UndecodableBatchError, type LogsBatch } from './logs-event';
import { routeLookup, type MeteringRules } from './rules';
import { settleUsage } from './settle';
import { budgetSpends } from '../shared/customers/budgets-spend';
import { completeEntries } from './outbox';
import type { FirstCallRecorder } from './first-call';
import type { RecoveryRecorder } from './recovered';
import { inPool } from './pool';
import { ledgerId, MAX_REFUNDS_PER_WRITE, type LedgerEntry, type MeteringStore, type MeterReport } from './store';
import { reportIdentifier, type MeterReporter } from './stripe-meter';
import { chunkUsage, decodeUsage, DEFAULT_WINDOW, isNearLimit, mergeUsage, unitsOf, newestClosable, shardOf, windowOf, type WindowSettings } from './window';
import type { WindowStore } from './window-store';
import type { MeteringTopUp } from './top-up';
import { putWalletAlerts, quotaAlertItems, touchedWallet, type MeteringAlerts } from './alerts';

/**
 * The metering function: a CloudWatch Logs subscription delivers the stage's access log in batches;
 * each batch becomes at most one write per customer (its ledger entry and its usage, in one
 * transaction), then the Stripe reports the writes recorded (the outbox), sent together once every
 * customer is written, then the marks that they were made. No flush: the routes sold by use are cached
 * a second at most (their own authorizer), so a crossing into a block reaches the next decision by itself.
 *
 * Order and why: tollgate's write comes first and carries what is owed to Stripe. A crash after it
 * leaves the reports pending in the ledger entry, and the redelivered batch (or `metering replay`)
 * finds the entry and sends them again with the same identifier, which Stripe de-duplicates: usage is
 * never reported for a write that did not happen, and never twice. Reporting first would bill calls a
 * failed write then never counted, and the reverse failure would need Stripe to forget an event.
 *
 * Nothing here crashes on bad input: an undecodable batch, a line that is not tollgate's, a customer
 * tollgate does not know are counted and skipped. A customer whose write keeps failing (throttling,
 * contention) parks the whole batch for `metering replay` (the ledger makes a replay add only what is
 * missing); only when parking fails too does the invocation fail, and Lambda retries it, then sends it
 * to the dead-letter function.
 */

export interface MeteringDeps {
  readonly store: MeteringStore;
  readonly rules: MeteringRules;
  /** Absent: reporting to Stripe is off (said once in the log); billed units stay in the ledger. */
  readonly reporter?: MeterReporter;
  readonly now?: () => Date;
  readonly observability?: Observability;
  /** Attempts per customer write (a conflict re-reads and settles again). @default 8 */
  readonly maxAttempts?: number;
  /** @default a short exponential backoff */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Customers written at once. @default 8 */
  readonly concurrency?: number;
  /** Where customers far from a limit are summed over a window; absent: every customer is written per delivery. */
  readonly windows?: WindowStore;
  /** @default DEFAULT_WINDOW */
  readonly window?: WindowSettings;
  /** An agent's first counted call after its payment (first-call.ts). @default - not recorded */
  readonly firstCalls?: FirstCallRecorder;
  /** A recovered customer's first counted call after the payment (recovered.ts: payment_recovered). @default - not recorded */
  readonly recoveries?: RecoveryRecorder;
  /** Alert rules and their ledger (alerts.ts); absent: alerts are off. */
  readonly alerts?: MeteringAlerts;
  /** Auto top-up's charge after a write that drew credits (top-up.ts). @default - none: no Stripe key, no charges */
  readonly topUp?: MeteringTopUp;
}

export interface MeteringResult {
  readonly outcome: 'applied' | 'ignored' | 'undecodable' | 'parked' | 'summed';
  readonly batchId?: string;
  readonly customers: number;
  readonly countedCalls: number;
  /** Customer parts applied by this delivery (a duplicate delivery applies none). */
  readonly applied: number;
  readonly duplicates: number;
  readonly unknownCustomers: number;
  /** Customers of this delivery buffered in a window, to be written once the window is summed. */
  readonly windowed?: number;
  /** Windows summed (a scheduled run). */
  readonly windows?: number;
}

/** An event to meter: a subscription delivery, or the dead-letter record of one (its requestPayload). */
export type MeteringEvent = unknown;

/** A short exponential backoff with jitter, between attempts of one write. */
const backoffMs = (attempt: number): number => Math.min(1000, 20 * 2 ** attempt) * (0.5 + Math.random() / 2);

/** Windows one scheduled run sums at most (an hour of 60-s windows). */
export const MAX_WINDOWS_PER_RUN = 60;
/** How far back the first run ever looks: deliveries since the deploy, which ran a minute before. */
const FIRST_RUN_WINDOWS = 10;

const EMPTY = { customers: 0, countedCalls: 0, applied: 0, duplicates: 0, unknownCustomers: 0 } as const;

/** Splits a customer's usage so that each write holds at most MAX_REFUNDS_PER_WRITE reservations. */
function parts(usage: CustomerUsage): CustomerUsage[] {
  const refunds = [...usage.refunds];
  if (refunds.length <= MAX_REFUNDS_PER_WRITE) return [usage];
  const out: CustomerUsage[] = [];
  for (let i = 0; i < refunds.length; i += MAX_REFUNDS_PER_WRITE) {
    const chunk = new Map(refunds.slice(i, i + MAX_REFUNDS_PER_WRITE));
    out.push(i === 0 ? { ...usage, refunds: chunk } : { customerId: usage.customerId, periods: new Map(), unperiodic: new Map(), prepaid: 0, refunds: chunk, lastCallAt: usage.lastCallAt });
  }
  return out;
}

/** Units a customer's budget counts in a batch: its counted calls, not strict ones (their reservation spent them). */

export function makeMeteringHandler(deps: MeteringDeps): (event: MeteringEvent) => Promise<MeteringResult> {
  const now = deps.now ?? (() => new Date());
  const { logger, metrics } = deps.observability ?? createObservability('tollgate-metering');
  const routeOf = routeLookup(deps.rules.routes);
  const maxAttempts = deps.maxAttempts ?? 8;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let reportingOffSaid = false;

  const count = (name: string, value: number): void => {
    if (value > 0) metrics.singleMetric().addMetric(name, MetricUnit.Count, value);
  };

  /** What a write still owes Stripe: a ledger entry with pending reports. */
  const owing = (entry: LedgerEntry | undefined): LedgerEntry | undefined => (entry?.reports.some((r) => r.state === 'pending') === true ? entry : undefined);

  /**
   * Writes one customer's part of a batch, or (`window`) its sum over a window; returns the ledger entry
   * whose reports are owed. Reporting is not done here: a retried write never sends a report again.
   */
  const meterCustomer = async (batch: string, usage: CustomerUsage, part: number, window?: number): Promise<{ readonly outcome: 'applied' | 'duplicate' | 'unknown'; readonly owed?: LedgerEntry }> => {
    const id = ledgerId(batch, usage.customerId, part);
    let current = usage;
    // Alerts another write put first: left out of this one.
    const alertedBefore = new Set<string>();
    for (let attempt = 1; ; attempt += 1) {
      try {
        let state = await deps.store.read(usage.customerId);
        if (state === undefined) return { outcome: 'unknown' };
        if (owesWalletSettlement(current, state, now())) {
          // Before the usage write, on the wallet alone (no transaction for a reservation to conflict with):
          // each pending reservation settled once, by its entry; the balance it gives back is then read.
          const walletRefunds = new Map([...current.refunds].filter(([id]) => isWalletReservation(id)));
          const settled = await deps.store.settleWallet({ customerId: usage.customerId, kept: [...(current.kept ?? [])], refunds: walletRefunds, now: now() });
          count('ReservationsRefunded', settled.refunded);
          count('ReservationsExpired', settled.expired);
          current = { ...current, refunds: new Map([...current.refunds].filter(([id]) => !isWalletReservation(id))), kept: new Set() };
          state = await deps.store.read(usage.customerId);
          if (state === undefined) return { outcome: 'unknown' };
        }
        if (window !== undefined && state.meteredWindow !== undefined && state.meteredWindow >= window) {
          // Summed before (a window run again): its reports may still be owed.
          const owed = deps.reporter === undefined ? undefined : owing(await deps.store.entry(id));
          return { outcome: 'duplicate', ...(owed === undefined ? {} : { owed }) };
        }
        const subscriptions = Object.entries(state.subscriptions).map(([id, entry]) => ({ id, ...entry }));
        const settlement = settleUsage({ ...state, subscriptions }, current, deps.rules.plans, now());
        const calledAt = Math.floor((current.lastCallAt > 0 ? current.lastCallAt : now().getTime()) / 1000);
        const reports: MeterReport[] = settlement.billed.map(({ meter, units, customer, periodEnd }) => ({
          eventName: meter,
          value: units,
          // One identifier per meter, payer and ended period of this write: the same write always sends the same events.
          identifier: reportIdentifier(batch, usage.customerId, `${meter}${customer === undefined ? '' : `>${customer}`}${periodEnd === undefined ? '' : `@${periodEnd}`}`),
          // Units of the period that ended: reported at a time inside it, so they land on its invoice.
          timestamp: periodEnd === undefined ? calledAt : Math.min(calledAt, periodEnd - 1),
          ...(customer === undefined ? {} : { customer }),
        }));
        const budgets = budgetSpends(state, { units: unitsOf(current), ...(current.keys === undefined ? {} : { keys: current.keys }) }, now());
        const alerts = deps.alerts === undefined ? [] : await quotaAlertItems(deps.alerts, usage.customerId, settlement, deps.rules.plans, now(), alertedBefore);
        const outcome = await deps.store.apply({
          ledgerId: id,
          customerId: usage.customerId,
          usage: { ...settlement, ...(window === undefined ? {} : { window }), budgets },
          refunds: [...current.refunds.keys()],
          reports,
          now: now(),
          ...(alerts.length === 0 ? {} : { alerts }),
        });
        if (outcome.outcome === 'conflict') throw new ConflictError();
        if (outcome.outcome === 'alerted-before') {
          for (const alert of outcome.alerts) alertedBefore.add(alert);
          continue;
        }
        if (outcome.outcome === 'refunded-before') {
          const refunds = new Map(current.refunds);
          for (const reservation of outcome.reservations) refunds.delete(reservation);
          current = { ...current, refunds };
          continue;
        }
        if (outcome.outcome === 'duplicate') {
          const owed = owing(outcome.entry);
          return { outcome: 'duplicate', ...(owed === undefined ? {} : { owed }) };
        }
        if (state.agentPayment !== undefined) await deps.firstCalls?.(usage.customerId, state.agentPayment, current);
        if (state.paymentRecovery !== undefined) await deps.recoveries?.(usage.customerId, state.paymentRecovery, current);
        count('OvershootUnits', settlement.overshoot);
        count('LateUnits', settlement.lateUnits);
        for (const alert of alerts) deps.alerts?.store.remember(alert.eventId);
        const touched = touchedWallet(current, settlement, budgets);
        // Not a failure of the write: a credits or budget alert not put now is due again at the customer's next write.
        const walletAlerts =
          deps.alerts !== undefined
            ? await putWalletAlerts(deps.alerts, state, touched, now()).catch((err: unknown) => (logger.warn('alerts not put, due again at the next write', { error: err instanceof Error ? err.name : 'unknown' }), 0))
            : 0;
        count('AlertsFired', alerts.length + walletAlerts);
        if (deps.topUp !== undefined && touched.credits) {
          // Not a failure of the write either: a charge not made now is due again at the next write that draws credits.
          await deps.topUp(state).catch((err: unknown) => logger.warn('auto top-up not charged, due again at the next write', { error: err instanceof Error ? err.message : 'unknown' }));
        }
        count('UnitsCounted', settlement.fromQuota + settlement.fromCredits + settlement.overshoot + settlement.billed.reduce((a, b) => a + b.units, 0));
        const owed = owing({ ledgerId: id, customerId: usage.customerId, reports: reports.map((r) => ({ ...r, state: 'pending' as const })) });
        return { outcome: 'applied', ...(owed === undefined ? {} : { owed }) };
      } catch (err) {
        if (attempt >= maxAttempts) throw err;
        if (!(err instanceof ConflictError)) logger.warn('metering write failed, retrying', { attempt, error: err instanceof Error ? err.name : 'unknown' });
        await sleep(backoffMs(attempt));
      }
    }
  };

  const windowSettings = deps.window ?? DEFAULT_WINDOW;
  const windows = windowSettings.seconds > 0 ? deps.windows : undefined;

  /**
   * Applies each customer's usage of one batch (or window) in a pool, then sends what the writes owe
   * Stripe together (the reporter batches them); returns the counts and the failures. Reports still
   * owed (Stripe kept throttling) are a failure: the batch is parked, or the window summed again.
   */
  const applyAll = async (batch: string, customers: readonly CustomerUsage[], window?: number) => {
    let applied = 0;
    let duplicates = 0;
    let unknownCustomers = 0;
    const failures: string[] = [];
    const owed: LedgerEntry[] = [];
    const work = customers.flatMap((u) => parts(u).map((p, i) => ({ usage: p, part: i })));
    await inPool(work, deps.concurrency ?? 8, async ({ usage: u, part }) => {
      try {
        const result = await meterCustomer(batch, u, part, window);
        if (result.owed !== undefined) owed.push(result.owed);
        if (result.outcome === 'applied') applied += 1;
        else if (result.outcome === 'duplicate') duplicates += 1;
        else unknownCustomers += 1;
      } catch (err) {
        failures.push(failureOf(err));
      }
    });
    count('MeteringUnknownCustomers', unknownCustomers);
    if (owed.length > 0 && deps.reporter !== undefined) {
      try {
        const { pending } = await completeEntries({ store: deps.store, reporter: deps.reporter, logger, metrics }, owed);
        if (pending > 0) failures.push(`StripeReportsOwed: ${pending} meter reports not sent (stripe throttled or unreachable)`);
      } catch (err) {
        failures.push(failureOf(err));
      }
    }
    return { applied, duplicates, unknownCustomers, failures };
  };

  /** Buffers the customers far from a limit in the batch's window; what cannot be buffered (the window closed) is returned, to be written at once. */
  const bufferFar = async (batch: string, oldest: number, far: readonly CustomerUsage[]): Promise<readonly CustomerUsage[]> => {
    if (windows === undefined || far.length === 0) return far;
    const window = windowOf(oldest, windowSettings.seconds);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const outcome = await windows.buffer(window, shardOf(batch, windowSettings.shards), batch, chunkUsage(far), now());
        if (outcome === 'closed') count('MeteringLateDeliveries', 1);
        return outcome === 'closed' ? far : [];
      } catch (err) {
        // Retried with the same keys: a write that landed although its answer was lost is found as a duplicate.
        if (attempt >= maxAttempts) throw err;
        await sleep(backoffMs(attempt));
      }
    }
  };

  /** A scheduled run: every window that closed since the last run, summed per customer and written once. */
  const sumWindows = async (): Promise<MeteringResult> => {
    if (windows === undefined) return { outcome: 'ignored', ...EMPTY };
    const { seconds, shards } = windowSettings;
    const newest = newestClosable(now().getTime(), windowSettings);
    let window = ((await windows.watermark()) ?? newest - FIRST_RUN_WINDOWS * seconds) + seconds;
    const totals = { customers: 0, applied: 0, duplicates: 0, unknownCustomers: 0, windows: 0 };
    for (; window <= newest && totals.windows < MAX_WINDOWS_PER_RUN; window += seconds) {
      await windows.close(window, now());
      const byCustomer = new Map<string, CustomerUsage>();
      for (const chunk of await windows.read(window, shards)) {
        const { usage, dropped } = decodeUsage(chunk);
        count('MeteringBufferEntriesUndecodable', dropped);
        for (const u of usage) {
          const before = byCustomer.get(u.customerId);
          byCustomer.set(u.customerId, before === undefined ? u : mergeUsage(before, u));
        }
      }
      const result = await applyAll(`window-${window}`, [...byCustomer.values()], window);
      totals.customers += byCustomer.size;
      totals.applied += result.applied;
      totals.duplicates += result.duplicates;
      totals.unknownCustomers += result.unknownCustomers;
      if (result.failures.length > 0) {
        // Not advanced: the next run sums this window again, and the ledger applies only what is missing.
        logger.error('metering window not summed, retried next run', { window, failedCustomers: result.failures.length, error: result.failures[0] });
        countOne(metrics, 'MeteringWindowsRetried', {});
        break;
      }
      await windows.advance(window);
      totals.windows += 1;
    }
    if (totals.windows > 0) logger.info('metering windows summed', { ...totals, through: window - seconds });
    return { outcome: 'summed', countedCalls: 0, ...totals };
  };

  return async (event) => {
    if (isScheduledEvent(event)) return sumWindows();
    // The dead-letter record of a failed asynchronous invocation carries the original event.
    const delivered = isSubscriptionEvent(event) ? event : isDeadLetterRecord(event) ? event.requestPayload : event;
    let batch: LogsBatch;
    try {
      batch = decodeSubscriptionEvent(delivered);
    } catch (err) {
      if (!(err instanceof UndecodableBatchError)) throw err;
      logger.error('undecodable log batch skipped', { error: err.message });
      countOne(metrics, 'MeteringBatchesUndecodable', {});
      return { outcome: 'undecodable', ...EMPTY };
    }
    if (batch.messageType === 'CONTROL_MESSAGE') return { outcome: 'ignored', ...EMPTY };
    const id = batchIdOf(batch);
    // Metering lag: from the oldest call in the batch to its metering (log delivery plus the feed's wait).
    if (batch.logEvents.length > 0) {
      const oldest = Math.min(...batch.logEvents.map((e) => e.timestamp));
      metrics.singleMetric().addMetric('MeteringLagMs', MetricUnit.Milliseconds, Math.max(0, now().getTime() - oldest));
    }
    const usage = aggregateBatch(batch.logEvents, routeOf);
    count('LinesNotAccessLog', usage.skipped.notAccessLog);
    count('LinesBadCustomer', usage.skipped.badCustomer);
    count('LinesBadReservation', usage.skipped.badReservation);
    if (deps.reporter === undefined && !reportingOffSaid) {
      reportingOffSaid = true;
      logger.info('stripe meter reporting is off: no Stripe API key configured; billed units are kept in the ledger');
    }
    const stamps = batch.logEvents.map((e) => e.timestamp);
    const oldest = stamps.length === 0 ? now().getTime() : Math.min(...stamps);
    const span = stamps.length === 0 ? 0 : Math.max(...stamps) - oldest;
    const near: CustomerUsage[] = [];
    const far: CustomerUsage[] = [];
    for (const u of usage.customers.values()) (windows === undefined || isNearLimit(u, span, windowSettings) ? near : far).push(u);
    const failures: string[] = [];
    let unbuffered: readonly CustomerUsage[] = [];
    try {
      unbuffered = await bufferFar(id, oldest, far);
    } catch (err) {
      failures.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    }
    const windowed = failures.length > 0 ? 0 : far.length - unbuffered.length;
    count('MeteringCustomersWindowed', windowed);
    const result = await applyAll(id, [...near, ...unbuffered]);
    failures.push(...result.failures);
    const { applied, duplicates, unknownCustomers } = result;
    const summary = { batchId: id, customers: usage.customers.size, countedCalls: usage.countedCalls, applied, duplicates, unknownCustomers, windowed };
    if (failures.length > 0) {
      // Kept whole: replaying it applies only the customers whose ledger entry is missing.
      await deps.store.park({ batchId: id, data: (delivered as { awslogs: { data: string } }).awslogs.data, reason: failures[0]!, parkedAt: now().toISOString() });
      logger.error('metering batch parked for replay', { batchId: id, failedCustomers: failures.length, error: failures[0] });
      countOne(metrics, 'MeteringBatchesParked', {});
      return { ...summary, outcome: 'parked' };
    }
    logger.info('metering batch', { batchId: id, lines: batch.logEvents.length, counted: usage.countedCalls, customers: usage.customers.size, applied, duplicates, unknownCustomers, windowed });
    return { ...summary, outcome: 'applied' };
  };
}

const failureOf = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** Whether the customer's wallet has reservations to settle: named by this usage, or pending past the bound. */
function owesWalletSettlement(usage: CustomerUsage, state: MeteredUsage, at: Date): boolean {
  if ((usage.kept?.size ?? 0) > 0 || [...usage.refunds.keys()].some(isWalletReservation)) return true;
  const horizon = Math.floor(at.getTime() / 1000) - PENDING_BOUND_SECONDS;
  return [...(state.pending?.values() ?? [])].some((p) => p.at < horizon);
}

class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

interface DeadLetterRecord {
  readonly requestPayload: unknown;
}

/** EventBridge's scheduled event: the minute's run that sums the closed windows. */
export function isScheduledEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { 'detail-type'?: unknown })['detail-type'] === 'Scheduled Event';
}

export function isDeadLetterRecord(event: unknown): event is DeadLetterRecord {
  return typeof event === 'object' && event !== null && 'requestPayload' in event && 'requestContext' in event;
}
