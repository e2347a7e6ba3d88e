import { project, verdict, type CustomerUpdate, type PaymentState } from '../../lambda/webhook/state';
import type { ApplyResult, LedgerEvent, PaymentStateStore } from '../../lambda/webhook/store';

/**
 * The store's contract in memory, with the ordering rule evaluated by state.ts's `verdict` (the
 * rule the DynamoDB condition expression states). For fast property runs; the DynamoDB store is
 * held to the same properties against DynamoDB Local.
 */
export class MemoryPaymentStateStore implements PaymentStateStore {
  readonly customers = new Map<string, PaymentState>();
  readonly ledger = new Map<string, { outcome: string; flushPending: boolean }>();

  read(customerId: string): Promise<PaymentState | undefined> {
    return Promise.resolve(this.customers.get(customerId));
  }

  apply(event: LedgerEvent, update: CustomerUpdate, options: { readonly flushPending: boolean; readonly now: Date }): Promise<ApplyResult> {
    const seen = this.ledger.get(event.eventId);
    if (seen !== undefined) return Promise.resolve({ outcome: 'duplicate', flushPending: seen.flushPending });
    const current = this.customers.get(update.customerId);
    if (verdict(current, update) === 'stale') {
      this.ledger.set(event.eventId, { outcome: 'stale', flushPending: false });
      return Promise.resolve({ outcome: 'stale' });
    }
    this.customers.set(update.customerId, project(current, update.customerId, update, options.now));
    this.ledger.set(event.eventId, { outcome: 'applied', flushPending: options.flushPending });
    return Promise.resolve({ outcome: 'applied' });
  }

  flushDone(eventId: string): Promise<void> {
    const entry = this.ledger.get(eventId);
    if (entry !== undefined) entry.flushPending = false;
    return Promise.resolve();
  }
}
