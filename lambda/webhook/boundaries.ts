import type { Boundary } from '../shared/boundaries';
import type { CustomerUpdate } from '../shared/customers/changes';
import { watermarkSecond } from './state';

/**
 * The instants from which an update's state may answer differently with no further event: the start
 * of a grace period (any start this update writes; the earliest one decides, and each was recorded by
 * the update that wrote it) and the end of a period paid for when the subscription cancels at its end.
 */
export function changeBoundaries(update: CustomerUpdate): Boundary[] {
  const { change } = update;
  const boundaries: Boundary[] = [];
  if (change.stream === 'subscription') {
    if (change.status === 'past_due') boundaries.push({ kind: 'grace', at: (watermarkSecond(update.watermark.value) ?? 0) * 1000 });
    if (change.cancelAtPeriodEnd === true && change.currentPeriodEnd !== undefined) boundaries.push({ kind: 'at', at: change.currentPeriodEnd * 1000 });
  } else if (change.stream === 'invoices' && change.pastDueSince !== undefined && (change.outcome === 'payment_failed' || change.outcome === 'payment_action_required')) {
    boundaries.push({ kind: 'grace', at: change.pastDueSince * 1000 });
  }
  return boundaries;
}
