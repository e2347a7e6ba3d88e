import { expectRecordedRecovery, startAgentsStack, runBuyer, type AgentsStack } from './buyers';

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
    // Operations see the way out (402 → paid → first 2xx): buyers.ts expectRecordedRecovery.
    await expectRecordedRecovery(stack, 'x402', since);
  }, 120_000);
});
