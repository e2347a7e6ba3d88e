import type { DynamoDBStreamEvent } from 'aws-lambda';
import { marshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { alertItem, sentAttribute, type Channel, type FiredAlert } from '../../lambda/shared/alerts/outbox';
import { quotaAlerts } from '../../lambda/shared/alerts/rules';
import { makeAlertsHandler, type AlertOutbox } from '../../lambda/alerts/handler';
import { HttpWebhookSender } from '../../lambda/alerts/channels';
import { signatureHeader, verifySignature } from '../../lambda/alerts/signature';
import type { EmailMessage } from '../../lambda/alerts/email';
import { quietObservability } from '../support/observability';

const NOW = new Date('2026-12-07T08:00:00Z');

/** The alerts of one customer's period: 50, 80 and 100 % of a 20-unit quota. */
function alerts(customerId: string): ReturnType<typeof alertItem>[] {
  const due = quotaAlerts({ quota: [50, 80, 100], creditsBelow: [], budget: [], paymentRecovered: false }, customerId, { sub_1: { used: 20, periodEnd: 1_900_000_000, plan: 'sample_metered' } }, { sample_metered: 20 });
  return due.map((d) => alertItem(customerId, d, NOW));
}

/** The events table's items, as the stream would show them after each write. */
class MemoryOutbox implements AlertOutbox {
  readonly items = new Map<string, Record<string, unknown>>();
  markSent(eventId: string, channel: Channel, how: string): Promise<void> {
    const item = this.items.get(eventId);
    if (item === undefined) return Promise.reject(new Error(`no item ${eventId}`));
    item[sentAttribute(channel)] = how;
    return Promise.resolve();
  }
}

const record = (item: Record<string, unknown>, sequence: number): DynamoDBStreamEvent['Records'][number] => ({
  eventName: 'INSERT',
  dynamodb: { SequenceNumber: String(sequence), NewImage: marshall(item) as never },
});

describe('alert delivery', () => {
  it('sends each alert once per channel although the stream delivers records twice, out of order, and a channel fails at first', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 2 }), { minLength: 3, maxLength: 12 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), async (order, failures) => {
        const outbox = new MemoryOutbox();
        for (const item of alerts('cus_1')) outbox.items.set(item.eventId, { ...item });
        const events: string[] = [];
        const mails: EmailMessage[] = [];
        let failing = [...failures];
        const handler = makeAlertsHandler({
          outbox,
          events: { publish: (a) => Promise.resolve(void events.push(a.eventId)) },
          email: {
            contacts: { emailOf: () => Promise.resolve('buyer@example.com') },
            mailer: {
              send: (m) => {
                // The first attempts fail as configured (SES throttling): the record is retried.
                if (failing.shift() === true) return Promise.reject(Object.assign(new Error('throttled'), { name: 'TooManyRequestsException' }));
                mails.push(m);
                return Promise.resolve();
              },
            },
          },
          observability: quietObservability(),
        });
        const ids = [...outbox.items.keys()];
        // Redelivered (a retried batch replays the item as it is now), in the stream's random order.
        let sequence = 0;
        for (const i of [...order, 0, 1, 2]) {
          const result = await handler({ Records: [record(outbox.items.get(ids[i]!)!, sequence++)] });
          if (result.batchItemFailures.length > 0) failing = [];
        }
        // Whatever stays unsent is retried by the stream until it is sent.
        for (const id of ids) await handler({ Records: [record(outbox.items.get(id)!, sequence++)] });
        expect(events.sort()).toEqual([...ids].sort());
        expect(mails).toHaveLength(ids.length);
        expect(new Set(mails.map((m) => m.subject)).size).toBe(3);
        for (const item of outbox.items.values()) expect(item).toMatchObject({ sent_events: expect.any(String), sent_email: expect.any(String) });
      }),
      { numRuns: 50 },
    );
  });

  it('reports a record whose channel failed, and records a customer without an e-mail address as skipped', async () => {
    const outbox = new MemoryOutbox();
    const [item] = alerts('cus_2');
    outbox.items.set(item!.eventId, { ...item });
    const handler = makeAlertsHandler({
      outbox,
      events: { publish: async () => Promise.reject(new Error('down')) },
      email: { contacts: { emailOf: () => Promise.resolve(undefined) }, mailer: { send: async () => Promise.reject(new Error('never called')) } },
      observability: quietObservability(),
    });
    const result = await handler({ Records: [record(item as unknown as Record<string, unknown>, 7)] });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '7' }]);
    expect(outbox.items.get(item!.eventId)).toMatchObject({ sent_email: 'skipped: no e-mail address' });
    expect(outbox.items.get(item!.eventId)).not.toHaveProperty('sent_events');
  });

  it('ignores stream records that are not alert items', async () => {
    const handler = makeAlertsHandler({ outbox: new MemoryOutbox(), events: { publish: async () => Promise.reject(new Error('must not publish')) }, observability: quietObservability() });
    expect(await handler({ Records: [record({ eventId: 'metering#b#cus_1', outcome: 'metered' }, 1)] })).toEqual({ batchItemFailures: [] });
  });
});

describe('the seller webhook', () => {
  const alert: FiredAlert = { ...alerts('cus_3')[1]!, sent: new Set() };

  it('signs t.body with HMAC-SHA256 as t=…,v1=…, which the receiver verifies within its tolerance only', () => {
    const header = signatureHeader('secret_1', '{"a":1}', NOW);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature('secret_1', '{"a":1}', header, NOW)).toBe(true);
    expect(verifySignature('secret_1', '{"a":2}', header, NOW)).toBe(false);
    expect(verifySignature('secret_2', '{"a":1}', header, NOW)).toBe(false);
    expect(verifySignature('secret_1', '{"a":1}', header, new Date(NOW.getTime() + 301_000))).toBe(false);
  });

  it('retries with growing waits until a 2xx, each attempt signed', async () => {
    const waits: number[] = [];
    const bodies: Array<{ body: string; signature: string }> = [];
    let answers = [503, 500, 204];
    const sender = new HttpWebhookSender({
      url: 'https://seller.example.com/hooks',
      secret: () => Promise.resolve('whsec_alerts'),
      sleep: (ms) => Promise.resolve(void waits.push(ms)),
      now: () => NOW,
      fetch: (_url, init) => {
        bodies.push({ body: init?.body as string, signature: (init?.headers as Record<string, string>)['Tollgate-Signature']! });
        return Promise.resolve(new Response(null, { status: answers.shift()! }));
      },
    });
    await sender.send(alert);
    expect(waits).toEqual([500, 2000]);
    expect(bodies).toHaveLength(3);
    for (const b of bodies) expect(verifySignature('whsec_alerts', b.body, b.signature, NOW)).toBe(true);
    expect(JSON.parse(bodies[0]!.body)).toMatchObject({ id: alert.eventId, type: 'tollgate.customer.quota_threshold', percent: 80, customerId: 'cus_3' });
    answers = [500, 500, 500];
    await expect(sender.send(alert)).rejects.toThrow(/did not answer 2xx after 3 attempts \(http 500\)/);
  });
});
