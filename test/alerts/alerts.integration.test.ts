import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoAlertStore } from '../../lambda/metering/alerts';
import { alertId } from '../../lambda/shared/alerts/outbox';
import { newReservationId, reserveInWallet } from '../../lambda/shared/customers/wallet';
import { createLocalAlerts, readOutbox } from '../../lib/local/alerts';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, delivery, logEvents, meteringHandler, PERIOD_1, seedCustomer } from '../metering/support';

/**
 * A strict route's crossing (DynamoDB Local): the authorizer's reservation draws the balance below the
 * rule and gains no request of its own; metering, settling that call from the access log, reads the
 * wallet and fires credits_low once; the local delivery sends its e-mail and event once, however often
 * it sweeps, and marks each channel sent on the alert's item.
 */

let tables: TestTables;
let dir: string;
beforeAll(async () => {
  tables = await freshTables('alerts-integration');
  dir = mkdtempSync(path.join(tmpdir(), 'tollgate-alerts-'));
});
afterAll(() => {
  tables.client.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('alerts on DynamoDB Local', () => {
  it("fires credits_low when metering settles the strict call whose reservation crossed it, and delivers it once", async () => {
    const customerId = 'cus_alert_strict';
    await seedCustomer(tables, customerId, { plan: 'sample_metered', periodEnd: PERIOD_1, credits: 25 });
    const rules = { quota: [], creditsBelow: [20], budget: [], paymentRecovered: false };
    const { handler } = meteringHandler(tables, { alerts: { rules, store: new DynamoAlertStore(tables.client, { customers: tables.names.customers, events: tables.names.events }) } });
    // Two strict calls reserved by the authorizer: 25 → 15, below 20 with the second.
    const reservations = [newReservationId(), newReservationId()];
    for (const reservation of reservations) {
      const reserved = await reserveInWallet(tables.client, tables.names.customers, { customerId, reservation, cost: 5, now: new Date(1_700_000_000_000) }, { deadlineAt: Date.now() + 5000 });
      expect(reserved).toMatchObject({ reserved: true });
    }
    const lines = reservations.map((reservation) => accessLine({ customerId, method: 'POST', path: '/v1/render', status: 200, reserved: 5, reservation }));
    const batch = delivery(logEvents(lines));
    await handler(batch);
    await handler(batch);

    const id = alertId(customerId, `credits#20#${PERIOD_1}`);
    const documents = DynamoDBDocumentClient.from(tables.client);
    const item = async () => (await documents.send(new GetCommand({ TableName: tables.names.events, Key: { eventId: id }, ConsistentRead: true }))).Item;
    expect(await item()).toMatchObject({ outcome: 'alert', detailType: 'tollgate.customer.credits_low', detail: { rule: 'credits', below: 20, balance: 15 } });

    const outboxFile = path.join(dir, 'outbox.jsonl');
    const local = createLocalAlerts({ config: { rules }, client: tables.client, eventsTable: tables.names.events, outboxFile, now: () => new Date('2026-12-07T08:00:00Z') });
    expect(await local.sweep()).toBe(2);
    expect(await local.sweep()).toBe(0);
    const entries = readOutbox(outboxFile).filter((e) => e.alertId === id);
    expect(entries.map((e) => e.kind).sort()).toEqual(['email', 'event']);
    expect(entries.find((e) => e.kind === 'email')).toMatchObject({ to: `${customerId}@customers.example`, subject: 'Your prepaid credits are below 20 units' });
    expect(await item()).toMatchObject({ sent_events: '2026-12-07T08:00:00.000Z', sent_email: '2026-12-07T08:00:00.000Z' });
  });
});
