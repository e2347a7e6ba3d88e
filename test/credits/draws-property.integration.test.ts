import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { allocateDraw, isLive, LEGACY_GRANT_ID, type CreditGrant } from '../../lambda/shared/credit-grants';
import { grantCredits } from '../../lambda/shared/customers/metered-usage';
import { fundsOfRecord, newReservationId, settleWallet, walletKey } from '../../lambda/shared/customers/wallet';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, delivery, logEvents, meteringHandler, seedCustomer } from '../metering/support';

/**
 * Property (#26 item 2): random grants (paid and promotional, priorities, expiries) over a balance from
 * before grants, then random strict calls (kept or given back) and log-metered batches delivered
 * reordered and duplicated, the clock moving on so that grants expire meanwhile. After every step each
 * grant holds exactly what a reference model left it, the model drawing in the stated order with
 * allocateDraw (promotional, priority, soonest expiry, oldest; expired grants never); no grant is ever
 * negative; and in the end units drawn + left + expired = units granted.
 */

const T0 = 1_950_000_000;
let tables: TestTables;
let documents: DynamoDBDocumentClient;
let seq = 0;

beforeAll(async () => {
  tables = await freshTables('credit-draws-property');
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterAll(() => tables.client.destroy());

const grantArb = fc.record({
  units: fc.integer({ min: 1, max: 12 }),
  category: fc.constantFrom('paid' as const, 'promotional' as const),
  priority: fc.constantFrom(0, 50, 90),
  expiresIn: fc.option(fc.integer({ min: 30, max: 900 }), { nil: undefined }),
});
const stepArb = fc.oneof(
  fc.record({ kind: fc.constant('strict' as const), cost: fc.integer({ min: 1, max: 6 }), ok: fc.boolean(), dt: fc.integer({ min: 0, max: 200 }) }),
  // Delivers batch `batch` of the scenario's (again, when it was delivered before).
  fc.record({ kind: fc.constant('deliver' as const), batch: fc.nat({ max: 5 }), dt: fc.integer({ min: 0, max: 200 }) }),
);
const scenarioArb = fc.record({
  legacy: fc.integer({ min: 0, max: 8 }),
  grants: fc.array(grantArb, { minLength: 1, maxLength: 5 }),
  batches: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 6, maxLength: 6 }),
  steps: fc.array(stepArb, { minLength: 4, maxLength: 10 }),
});

async function storedGrants(customerId: string): Promise<Record<string, { left: number; units: number }>> {
  const { Item } = await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId: walletKey(customerId) }, ConsistentRead: true }));
  return (Item?.grants ?? {}) as Record<string, { left: number; units: number }>;
}

describe('grants drawn in order under random calls, batches and expiries (DynamoDB Local, property)', () => {
  it('each grant holds what the order leaves it, none below zero, and drawn + left + expired = granted', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const customerId = `cus_DrawProp${++seq}`;
        await seedCustomer(tables, customerId, scenario.legacy > 0 ? { credits: scenario.legacy } : {});
        let clock = T0;
        const at = (): Date => new Date(clock * 1000);
        // The model: every grant as the order should leave it.
        const model = new Map<string, CreditGrant>();
        if (scenario.legacy > 0) model.set(LEGACY_GRANT_ID, { id: LEGACY_GRANT_ID, units: scenario.legacy, left: scenario.legacy, category: 'paid', priority: 50, grantedAt: 0 });
        for (const [i, g] of scenario.grants.entries()) {
          const id = `${customerId}.g${i}`;
          const expiresAt = g.expiresIn === undefined ? undefined : T0 + g.expiresIn;
          await grantCredits(tables.client, { customers: tables.names.customers, events: tables.names.events }, { customerId, grantId: id, units: g.units, reason: 'property', now: at(), category: g.category, priority: g.priority, ...(expiresAt === undefined ? {} : { expiresAt }) });
          model.set(id, { id, units: g.units, left: g.units, category: g.category, priority: g.priority, grantedAt: T0, ...(expiresAt === undefined ? {} : { expiresAt }) });
        }
        const draw = (units: number): ReadonlyMap<string, number> => {
          const { fromGrants } = allocateDraw([...model.values()], units, at());
          for (const [id, n] of fromGrants) model.set(id, { ...model.get(id)!, left: model.get(id)!.left - n });
          return fromGrants;
        };
        const spendable = (): number => [...model.values()].filter((g) => isLive(g, at())).reduce((a, g) => a + g.left, 0);
        let drawn = 0;
        const reader = new DynamoCustomerReader(tables.client, tables.names.customers, { deadlineMs: 120_000 });
        const { handler } = meteringHandler(tables, { now: at });
        const batches = scenario.batches.map((n, i) => ({ n, delivery: delivery(logEvents(Array.from({ length: n }, (_, j) => accessLine({ customerId, requestId: `${customerId}-b${i}-${j}` })))) }));
        const delivered = new Set<number>();

        for (const step of scenario.steps) {
          clock += step.dt;
          if (step.kind === 'strict') {
            const record = (await reader.read(customerId, 'Kprop001', { wallet: true }))!;
            const reservation = newReservationId();
            const result = await reader.reserve({ customerId, reservation, cost: step.cost, now: at(), funds: fundsOfRecord(record) });
            const covered = spendable() >= step.cost;
            expect(result.reserved).toBe(covered);
            if (!covered) continue;
            const taken = draw(step.cost);
            drawn += step.cost;
            await settleWallet(tables.client, tables.names.customers, { customerId, kept: step.ok ? [reservation] : [], refunds: new Map(step.ok ? [] : [[reservation, step.cost]]) });
            if (!step.ok) {
              // Given back to the grants it came from.
              for (const [id, n] of taken) model.set(id, { ...model.get(id)!, left: model.get(id)!.left + n });
              drawn -= step.cost;
            }
          } else {
            const batch = batches[step.batch]!;
            await handler(batch.delivery);
            if (!delivered.has(step.batch)) {
              delivered.add(step.batch);
              const units = Math.min(batch.n, spendable());
              draw(units);
              drawn += units;
            }
          }
          const stored = await storedGrants(customerId);
          for (const g of model.values()) expect({ id: g.id, left: stored[g.id]?.left }).toEqual({ id: g.id, left: g.left });
          for (const g of Object.values(stored)) expect(g.left).toBeGreaterThanOrEqual(0);
        }
        const stored = await storedGrants(customerId);
        const granted = scenario.legacy + scenario.grants.reduce((a, g) => a + g.units, 0);
        const left = [...model.values()].filter((g) => isLive(g, at())).reduce((a, g) => a + stored[g.id]!.left, 0);
        const expired = [...model.values()].filter((g) => !isLive({ ...g, left: 1 }, at())).reduce((a, g) => a + stored[g.id]!.left, 0);
        expect(drawn + left + expired).toBe(granted);
      }),
      { numRuns: 8 },
    );
  });
});
