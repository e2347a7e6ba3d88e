import { recordedRecovery, startAgentsStack, runBuyer, type AgentsStack } from './buyers';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

/**
 * Conformance with the reference x402 client: `@x402/fetch` with `@x402/evm` from npm, unmodified
 * (scripts/x402-buy.mjs, the command `npm start` prints), signing with a test key, against the local
 * stack over HTTP and the local facilitator: 402 → pay → 200 with a key and PAYMENT-RESPONSE, then
 * calls on the credits until 402.
 */
describe('a stock x402 client buys credits and spends them', () => {
  let stack: AgentsStack;
  beforeAll(async () => (stack = await startAgentsStack('agents-x402', { facilitator: true })));
  afterAll(() => stack.close());

  it('402 → pay → 200 in two round trips, then calls on the credits until 402 credits_exhausted', async () => {
    const since = new Date();
    const result = await runBuyer('x402-buy.mjs', [stack.url]);
    const { config } = stack;
    const pack = config.creditPacks[0]!;
    expect(result.purchase).toMatchObject({ status: 200, roundTrips: 2, paymentResponse: { success: true, network: config.agentPayments!.x402!.network, payer: result.payer } });
    expect(result.credits).toBe(pack.credits);
    // As for mppx (mppx.integration.test.ts): never fewer calls than bought, a log-metered overshoot at most.
    expect(result.calls).toBeGreaterThanOrEqual(pack.credits);
    expect(result.calls).toBeLessThan(pack.credits * 3);
    expect(result.final).toEqual({ status: 402, reason: 'credits_exhausted', offers: [pack.id] });
    // Settled once, for the pack's cents in USDC's 6 decimals; no card charge.
    expect([...stack.facilitator!.settled.values()]).toEqual([{ payer: result.payer, value: String(pack.amount! * 10_000), transaction: result.purchase.paymentResponse.transaction }]);
    expect(stack.stripe.fake!.sharedPayments.paymentIntents.size).toBe(0);
    // Operations see the way out (402 → paid → first 2xx): the payment timed from its 402, metering's record of the
    // buyer's first counted 2xx after it (its marker removed once), and the report's funnel for x402.
    const { paid, firstCall, report, text } = await recordedRecovery(stack, 'x402', since);
    expect(Date.parse(paid.purchasedAt) - Date.parse(paid.challengedAt)).toBeGreaterThanOrEqual(0);
    expect(Date.parse(paid.purchasedAt) - Date.parse(paid.challengedAt)).toBeLessThan(60_000);
    expect(firstCall).toMatchObject({ protocol: 'x402', customerId: paid.customerId, paidAt: paid.purchasedAt });
    expect(firstCall.secondsToFirstCall).toBeGreaterThanOrEqual(0);
    expect(firstCall.secondsToFirstCall).toBeLessThan(60);
    expect(stack.eventsLog.filter((line) => line.includes('"agent first call"'))).toHaveLength(1);
    expect(report.agentPurchases.byProtocol['x402']).toMatchObject({ paid: 1, firstSuccess: 1 });
    expect(report.agentPurchases.byProtocol['x402'].medianSecondsToPay).not.toBeNull();
    expect(report.agentPurchases.byProtocol['x402'].medianSecondsToFirstSuccess).not.toBeNull();
    expect(text).toMatch(/\n {2}x402 +1 → 1 \(\d+s, \d+s\)/);
  }, 120_000);
});
