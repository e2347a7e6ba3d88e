/**
 * Time boundaries: instants at which a cached authorizer decision may change with no Stripe event to
 * flush it (a key's expiry, the end of a grace period, the end of a period paid for). Every writer that
 * creates one records it here, in the same transaction as the state that creates it; the clock function
 * (lambda/clock) flushes the authorizer cache once each has passed.
 *
 * Item (boundaries table): `bucket` = `<kind>#<UTC hour of at>`, `at` (epoch ms), `recordedAt` (epoch
 * ms), `expiresAt` (TTL, epoch s). Keyed by instant alone: the flush is stage-wide, so which customer a
 * boundary belongs to does not matter, and one instant shared by many customers is one item.
 *
 * Kinds: `at`, the instant itself is due; `grace`, the start of a grace period, due at `at` plus the
 * grace period. The clock adds its own grace setting, so a redeployed grace period applies to the
 * starts already recorded, and the webhook needs no policy setting.
 */

export type BoundaryKind = 'at' | 'grace';
export const BOUNDARY_KINDS: readonly BoundaryKind[] = ['at', 'grace'];

export interface Boundary {
  readonly kind: BoundaryKind;
  /** Epoch milliseconds. */
  readonly at: number;
}

/** A boundary as stored: when it was recorded decides whether a clock run that already looked missed it. */
export interface RecordedBoundary extends Boundary {
  /** Epoch milliseconds. */
  readonly recordedAt: number;
}

/** One partition per kind and hour: a clock run's window (a few minutes) is one Query, two across an hour. */
export const BUCKET_MS = 60 * 60 * 1000;

/** tollgate's configuration caps the grace period at 60 days (lib/config/tollgate-config.ts). */
export const MAX_GRACE_PERIOD_SECONDS = 60 * 24 * 60 * 60;
/** Kept a day past the moment it is due, then DynamoDB's TTL removes it (nothing reads it after). */
const RETENTION_SECONDS = 24 * 60 * 60;

export const bucketStart = (at: number): number => Math.floor(at / BUCKET_MS) * BUCKET_MS;

export function bucketOf(kind: BoundaryKind, at: number): string {
  return `${kind}#${new Date(bucketStart(at)).toISOString().slice(0, 13)}`;
}

/** The stored item of a boundary recorded at `now`. */
export function boundaryItem(boundary: Boundary, now: Date): Record<string, string | number> {
  const latestDue = boundary.at + (boundary.kind === 'grace' ? MAX_GRACE_PERIOD_SECONDS * 1000 : 0);
  return {
    bucket: bucketOf(boundary.kind, boundary.at),
    at: boundary.at,
    recordedAt: now.getTime(),
    expiresAt: Math.ceil(latestDue / 1000) + RETENTION_SECONDS,
  };
}

/** TransactWriteItems entries recording the boundaries (each once), for a writer's own transaction. */
export function boundaryPuts(table: string, boundaries: readonly Boundary[], now: Date): Array<{ Put: { TableName: string; Item: Record<string, unknown> } }> {
  const seen = new Set<string>();
  return boundaries
    .filter((b) => Number.isFinite(b.at))
    .filter((b) => {
      const key = `${b.kind}:${b.at}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((b) => ({ Put: { TableName: table, Item: boundaryItem(b, now) } }));
}
