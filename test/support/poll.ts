/**
 * A route sold by use keeps a cached decision for up to tollgate:meteredCacheTtlSeconds (1 s by default)
 * and is never flushed: a caller sees a quota or credit change on its next uncached call. Tests that
 * change usage ask again, as a client retrying would, until the answer holds or `ms` has passed.
 */
export async function answeredWithin<T>(ask: () => Promise<T>, holds: (answer: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const answer = await ask();
    if (holds(answer) || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
