import type { CustomerRecord } from '../../lambda/shared/customers/record';
import type { CustomerUpdate } from '../../lambda/shared/customers/changes';
import { project, verdict, watermarkOf } from '../../lambda/webhook/state';
import type { ParkedEvent, ParkResult } from '../../lambda/webhook/parking';
import { CustomerItemFullError, owedFlush, type ApplyOptions, type ApplyResult, type LedgerEvent, type PaymentStateStore } from '../../lambda/webhook/store';

/**
 * The store's contract in memory, with the ordering rule evaluated by state.ts's `verdict` (the
 * rule the DynamoDB condition expression states). For fast property runs; the DynamoDB store is
 * held to the same properties against DynamoDB Local.
 */
export class MemoryPaymentStateStore implements PaymentStateStore {
  readonly customers = new Map<string, CustomerRecord>();
  readonly ledger = new Map<string, { outcome: string; flushPending: boolean; flushFailed?: boolean; recordedAt: Date; parked?: ParkedEvent }>();

  read(customerId: string): Promise<CustomerRecord | undefined> {
    return Promise.resolve(this.customers.get(customerId));
  }

  apply(event: LedgerEvent, update: CustomerUpdate, options: ApplyOptions): Promise<ApplyResult> {
    const seen = this.ledger.get(event.eventId);
    // A parked entry is superseded by the write that applies (or records) its event.
    if (seen !== undefined && seen.outcome !== 'parked') {
      const entry = { flushPending: { BOOL: seen.flushPending }, flushFailed: { BOOL: seen.flushFailed === true }, recordedAt: { S: seen.recordedAt.toISOString() } };
      return Promise.resolve({ outcome: 'duplicate', flushPending: owedFlush(entry, options.now) });
    }
    const current = this.customers.get(update.customerId);
    const why = verdict(current, update, options.now);
    if (why === 'full') return Promise.reject(new CustomerItemFullError(`customer ${update.customerId} is full`));
    if (why === 'stale') {
      this.ledger.set(event.eventId, { outcome: 'stale', flushPending: false, recordedAt: options.now });
      const storedWatermark = watermarkOf(current, update.change);
      return Promise.resolve(storedWatermark === undefined ? { outcome: 'stale' } : { outcome: 'stale', storedWatermark });
    }
    this.customers.set(update.customerId, project(current, update.customerId, update, options.now));
    this.ledger.set(event.eventId, { outcome: 'applied', flushPending: options.flushPending, recordedAt: options.now });
    return Promise.resolve({ outcome: 'applied' });
  }

  park(event: ParkedEvent, now: Date): Promise<ParkResult> {
    const seen = this.ledger.get(event.eventId);
    if (seen !== undefined) return Promise.resolve({ outcome: seen.outcome === 'parked' ? 'already-parked' : 'duplicate' });
    this.ledger.set(event.eventId, { outcome: 'parked', flushPending: false, recordedAt: now, parked: event });
    return Promise.resolve({ outcome: 'parked' });
  }

  flushDone(eventId: string): Promise<void> {
    const entry = this.ledger.get(eventId);
    if (entry !== undefined) {
      entry.flushPending = false;
      entry.flushFailed = false;
    }
    return Promise.resolve();
  }

  flushFailed(eventId: string): Promise<void> {
    const entry = this.ledger.get(eventId);
    if (entry?.flushPending === true) entry.flushFailed = true;
    return Promise.resolve();
  }
}
