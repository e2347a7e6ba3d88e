import { recordedRecovery, startAgentsStack, runBuyer, type AgentsStack } from './buyers';

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
    // Operations see the way out (402 → paid → first 2xx): the payment timed from its 402, metering's record of the
    // buyer's first counted 2xx after it (its marker removed once), and the report's funnel for mpp.
    const { paid, firstCall, report, text } = await recordedRecovery(stack, 'mpp', since);
    expect(Date.parse(paid.purchasedAt) - Date.parse(paid.challengedAt)).toBeGreaterThanOrEqual(0);
    expect(Date.parse(paid.purchasedAt) - Date.parse(paid.challengedAt)).toBeLessThan(60_000);
    expect(firstCall).toMatchObject({ protocol: 'mpp', customerId: paid.customerId, paidAt: paid.purchasedAt });
    expect(firstCall.secondsToFirstCall).toBeGreaterThanOrEqual(0);
    expect(firstCall.secondsToFirstCall).toBeLessThan(60);
    expect(stack.eventsLog.filter((line) => line.includes('"agent first call"'))).toHaveLength(1);
    expect(report.agentPurchases.byProtocol['mpp']).toMatchObject({ paid: 1, firstSuccess: 1 });
    expect(report.agentPurchases.byProtocol['mpp'].medianSecondsToPay).not.toBeNull();
    expect(report.agentPurchases.byProtocol['mpp'].medianSecondsToFirstSuccess).not.toBeNull();
    expect(text).toMatch(/\n {2}mpp +1 → 1 \(\d+s, \d+s\)/);
  }, 120_000);
});
