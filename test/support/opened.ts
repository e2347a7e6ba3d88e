/**
 * What a test's setup opened (servers, processes, clients, folders), closed in afterAll even when the
 * setup failed half-way: a server that started while its sibling in a Promise.all failed, or the
 * first of two servers when the second could not listen, would otherwise keep jest alive.
 *
 *   const opened = openedResources();
 *   afterAll(() => opened.closeAll());
 *   beforeAll(async () => {
 *     [tables, issuer] = await Promise.all([opened.open(freshTables('x'), (t) => t.client.destroy()), opened.open(startLocalIssuer(), (i) => i.close())]);
 *   });
 */
export interface OpenedResources {
  /** Waits for `opening`; once it has opened, `close` runs at closeAll, even if it opens after a sibling failed. */
  open<T>(opening: Promise<T> | T, close: (value: T) => unknown): Promise<T>;
  /** A cleanup with nothing to wait for (a temporary folder). */
  defer(close: () => unknown): void;
  /** Waits for openings under way, then closes everything, latest first; every close runs, the first error is thrown after. */
  closeAll(): Promise<void>;
}

export function openedResources(): OpenedResources {
  const closers: Array<() => unknown> = [];
  const pending = new Set<Promise<unknown>>();
  return {
    open<T>(opening: Promise<T> | T, close: (value: T) => unknown): Promise<T> {
      const opened = Promise.resolve(opening).then((value) => {
        closers.push(() => close(value));
        return value;
      });
      const settled = opened.then(
        () => undefined,
        () => undefined,
      );
      pending.add(settled);
      void settled.then(() => pending.delete(settled));
      return opened;
    },
    defer(close) {
      closers.push(close);
    },
    async closeAll() {
      await Promise.all([...pending]);
      let first: Error | undefined;
      while (closers.length > 0) {
        try {
          await closers.pop()!();
        } catch (err) {
          first ??= err instanceof Error ? err : new Error(String(err));
        }
      }
      if (first !== undefined) throw first;
    },
  };
}
