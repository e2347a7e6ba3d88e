import type { CustomerRecord } from '../../lambda/shared/customers/record';
import type { CustomerUpdate } from '../../lambda/shared/customers/changes';
import { project, verdict, watermarkOf } from '../../lambda/webhook/state';
import type { ParkedEvent, ParkResult } from '../../lambda/webhook/parking';
import { CustomerItemFullError, type ApplyOptions, type ApplyResult, type LedgerEvent, type PaymentStateStore } from '../../lambda/webhook/store';

/**
 * The store's contract in memory, with the ordering rule evaluated by state.ts's `verdict` (the
 * rule the DynamoDB condition expression states). For fast property runs; the DynamoDB store is
 * held to the same properties against DynamoDB Local.
 */
export class MemoryPaymentStateStore implements PaymentStateStore {
  readonly customers = new Map<string, CustomerRecord>();
  readonly ledger = new Map<string, { outcome: string; recordedAt: Date; parked?: ParkedEvent }>();
  /** Checkout Sessions whose credits were added (the DynamoDB store's `credited#` items). */
  readonly creditedSessions = new Set<string>();

  recordNotice(event: LedgerEvent, now: Date): Promise<'recorded' | 'duplicate'> {
    if (this.ledger.has(event.eventId)) return Promise.resolve('duplicate');
    this.ledger.set(event.eventId, { outcome: 'noticed', recordedAt: now });
    return Promise.resolve('recorded');
  }

  read(customerId: string): Promise<CustomerRecord | undefined> {
    return Promise.resolve(this.customers.get(customerId));
  }

  apply(event: LedgerEvent, update: CustomerUpdate, options: ApplyOptions): Promise<ApplyResult> {
    const seen = this.ledger.get(event.eventId);
    // A parked entry is superseded by the write that applies (or records) its event.
    if (seen !== undefined && seen.outcome !== 'parked') return Promise.resolve({ outcome: 'duplicate' });
    const session = update.change.stream === 'credits' ? update.change.purchaseId : undefined;
    if (session !== undefined && this.creditedSessions.has(session)) return Promise.resolve({ outcome: 'duplicate' });
    const current = this.customers.get(update.customerId);
    const why = verdict(current, update, options.now);
    if (why === 'full') return Promise.reject(new CustomerItemFullError(`customer ${update.customerId} is full`));
    if (why === 'stale') {
      this.ledger.set(event.eventId, { outcome: 'stale', recordedAt: options.now });
      const storedWatermark = watermarkOf(current, update.change);
      return Promise.resolve(storedWatermark === undefined ? { outcome: 'stale' } : { outcome: 'stale', storedWatermark });
    }
    this.customers.set(update.customerId, project(current, update.customerId, update, options.now));
    if (session !== undefined) this.creditedSessions.add(session);
    this.ledger.set(event.eventId, { outcome: 'applied', recordedAt: options.now });
    return Promise.resolve({ outcome: 'applied' });
  }

  park(event: ParkedEvent, now: Date): Promise<ParkResult> {
    const seen = this.ledger.get(event.eventId);
    if (seen !== undefined) return Promise.resolve({ outcome: seen.outcome === 'parked' ? 'already-parked' : 'duplicate' });
    this.ledger.set(event.eventId, { outcome: 'parked', recordedAt: now, parked: event });
    return Promise.resolve({ outcome: 'parked' });
  }

}
