import { expectRecordedRecovery, startAgentsStack, runBuyer, type AgentsStack } from './buyers';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

/**
 * Conformance with the reference MPP client: `mppx` from npm, unmodified (scripts/mppx-buy.mjs, the
 * command `npm start` prints), against the local stack over HTTP: 402 → pay → 200 with a key, then calls
 * on the credits until 402.
 */
describe('a stock mppx client buys credits and spends them', () => {
  let stack: AgentsStack;
  beforeAll(async () => (stack = await startAgentsStack('agents-mppx')));
  afterAll(() => stack.close());

  it('402 → pay → 200 in two round trips, then calls on the credits until 402 credits_exhausted', async () => {
    const since = new Date();
    const result = await runBuyer('mppx-buy.mjs', [stack.url, '--stripe', stack.stripe.fake!.api.url]);
    const pack = stack.config.creditPacks[0]!;
    expect(result.purchase).toEqual({ status: 200, roundTrips: 2, receipt: true });
    expect(result.credits).toBe(pack.credits);
    // Never fewer calls than bought. The route is log-metered: credits are drawn a batch later and its Allow is
    // cached for a second, so calls overshoot by what arrives meanwhile (docs/selling-by-use.md; 60 or so on a
    // loaded machine); credits that never drained would run on to the script's 1000-call cap.
    expect(result.calls).toBeGreaterThanOrEqual(pack.credits);
    expect(result.calls).toBeLessThan(pack.credits * 3);
    expect(result.final).toEqual({ status: 402, reason: 'credits_exhausted', offers: [pack.id] });
    expect(stack.stripe.fake!.sharedPayments.paymentIntents.size).toBe(1);
    // Operations see the way out (402 → paid → first 2xx): buyers.ts expectRecordedRecovery.
    await expectRecordedRecovery(stack, 'mpp', since);
  }, 120_000);
});
