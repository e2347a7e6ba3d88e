import { BatchGetItemCommand, GetItemCommand, TransactionConflictException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { composeAuthorizer, type AuthorizerClients } from '../../lambda/authorizer/compose';
import { composeMetering } from '../../lambda/metering/compose';
import { encodeSubscriptionEvent, type LogEvent } from '../../lambda/metering/logs-event';
import { DEFAULT_WINDOW } from '../../lambda/metering/window';
import { renderAccessLogLine } from '../../lambda/shared/access-log';
import { createObservability } from '../../lambda/shared/observability';
import { fundsOf, newReservationId, readWallet, walletKey, walletReservationUpdate } from '../../lambda/shared/customers/wallet';
import { planDraw } from '../../lambda/shared/credit-grants';
import { parseApiKey } from '../../lambda/shared/customers/api-key';
import { decisionBatchRequest } from '../../lambda/shared/customers/decision-reads';
import type { RouteRule } from '../../lambda/shared/requirements';
import { authorizerDynamoClient } from '../../lambda/authorizer/dynamo-client';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClient } from '../../lib/local/dynamodb-local';
import { authorizerEvent, benchAuthorizerClient, benchAuthorizerSettings, freshBenchTables, type Credential } from '../lib/authorizer';
import { budgetOnOff, seedWalletCustomer } from '../lib/budgets';
import { outcomeOf } from '../lib/decisions';
import { cycling, pairedLatencies, throughput } from '../lib/interleave';
import { countRequests } from '../lib/request-counter';
import { SIZES } from '../lib/sizes';
import { exactMeasure, ratioMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';

/** A strict route of the sample's shape: 1 unit per call, reserved from the prepaid balance at decision time. */
const STRICT: RouteRule = { method: 'POST', path: '/v1/ask', requires: { kind: 'subscription' }, usage: { cost: 1, strict: true } };
const STRICT_EVENT = { method: STRICT.method, resource: STRICT.path, path: STRICT.path };
const CLIENTS = 8;
/** Balance for the overshoot runs: each run spends it to 0 and beyond with CLIENTS callers. */
const OVERSHOOT_BALANCE = { full: 400, quick: 100, smoke: 40 } as const;
/** A route sold by use, not strict: metering draws its calls from the same wallet after the fact. */
const METERED = { method: 'GET', path: '/v1/search', cost: 1 } as const;
/** Access-log lines per metering delivery, and deliveries in flight (a log group's streams deliver in parallel). */
const LINES_PER_DELIVERY = 2;
const DELIVERY_CONCURRENCY = 4;

/**
 * DynamoDB's answer to a write on an item an ongoing transaction holds, which DynamoDB Local does not give (it
 * runs them one after the other): while one of metering's transactions is in flight, the reservation client's
 * UpdateItems are refused with TransactionConflictException before they are sent.
 */
function simulateTransactionConflicts(metering: DynamoDBClient, reservations: DynamoDBClient): { injected(): number; stop(): void } {
  let inFlight = 0;
  let injected = 0;
  let on = true;
  metering.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
      inFlight += 1;
      try {
        return await next(args);
      } finally {
        inFlight -= 1;
      }
    },
    { step: 'initialize', name: 'b10TransactionsInFlight' },
  );
  reservations.middlewareStack.add(
    (next, context) => async (args) => {
      if (on && inFlight > 0 && context.commandName === 'UpdateItemCommand') {
        injected += 1;
        throw new TransactionConflictException({ message: 'Transaction is ongoing for the item', $metadata: { httpStatusCode: 400 } });
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'b10TransactionConflicts' },
  );
  return {
    injected: () => injected,
    stop: () => {
      on = false;
    },
  };
}

/** Deliveries of `lines` pay-as-you-go 2xx calls of METERED by one customer, as the stage logs them. */
function meteredDeliveries(customerId: string, lines: number, run: string): Array<{ awslogs: { data: string } }> {
  const out: Array<{ awslogs: { data: string } }> = [];
  for (let from = 0; from < lines; from += LINES_PER_DELIVERY) {
    const events: LogEvent[] = [];
    for (let i = from; i < Math.min(lines, from + LINES_PER_DELIVERY); i++) {
      const message = renderAccessLogLine({
        'context.requestId': `${run}-${i}`,
        'context.httpMethod': METERED.method,
        'context.resourcePath': METERED.path,
        'context.status': 200,
        'context.authorizer.customerId': customerId,
        'context.authorizer.basis': 'credits',
      });
      events.push({ id: `${run}${String(i).padStart(12, '0')}`, timestamp: Date.now(), message });
    }
    out.push(encodeSubscriptionEvent({ messageType: 'DATA_MESSAGE', logGroup: 'ApiAccessLogs', logStream: `${run}-${from}`, logEvents: events }));
  }
  return out;
}

/**
 * B10: a strict-mode decision (one conditional UpdateItem that reserves the cost and authenticates the
 * key) against that same raw UpdateItem, and the overshoot of CLIENTS concurrent callers on a balance.
 */
export const figure: Figure = {
  id: 'B10',
  title: 'strict decision latency / raw GetItem + wallet UpdateItem; write units; overshoot under 8 concurrent clients and under metering',
  async run(context) {
    const sizes = SIZES[context.mode];
    const names = await freshBenchTables(context.dynamodbEndpoint, 'strict');
    const seeder = localClient(context.dynamodbEndpoint);
    const authorizerClient = benchAuthorizerClient(context.dynamodbEndpoint);
    const rawClient = benchAuthorizerClient(context.dynamodbEndpoint);
    // As index.ts wires it: reservations on a client that does not retry (a retried ADD could charge twice).
    const reservationClient = authorizerDynamoClient({ endpoint: context.dynamodbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const cleanup: Array<() => void> = [];
    const settings = { ...benchAuthorizerSettings(context.root, names.customers) };
    const routes = [...settings.routes, STRICT];
    const handlerOn = (clients: AuthorizerClients) => composeAuthorizer({ ...settings, routes }, clients);
    // Credits as a purchase grants them: on the customer's wallet item.
    const seed = (credits: number): Promise<Credential> => seedWalletCustomer(seeder, names, credits);
    const finalBalance = async (customerId: string): Promise<number> => {
      const stored = await seeder.send(new GetItemCommand({ TableName: names.customers, Key: { customerId: { S: walletKey(customerId) } }, ConsistentRead: true }));
      return Number(stored.Item?.balance?.N ?? NaN);
    };
    try {
      // Latency: balances far above what the run spends, so every decision is an Allow.
      const credentials = await Promise.all(Array.from({ length: sizes.customers }, () => seed(1_000_000_000)));
      const handler = handlerOn({ dynamodb: authorizerClient, reservations: reservationClient });
      for (const c of credentials) {
        const event = authorizerEvent(c.key, STRICT_EVENT);
        const outcome = await outcomeOf(handler(event), event.methodArn);
        if (outcome !== 'allow') throw new Error(`benchmark set-up is wrong: ${c.customerId} got ${outcome}, expected allow`);
      }
      // Built before the timing, as in B1 (bench/lib/decisions.ts decisionProbe).
      const decide = cycling(
        credentials.map((c) => authorizerEvent(c.key, STRICT_EVENT)),
        (event) => handler(event),
      );
      // The floor: the reader's exact requests, one after the other as a decision needs them (one BatchGetItem of the
      // customer item's key and standing and the wallet's balance, grants and budgets, then the wallet's write:
      // condition, balance, grants, pending entry, return values), on a client of the same settings.
      // The write draws the credits' grant (#26): planned once on the wallet as seeded (one grant, far from empty, so the plan holds).
      const plansOf = async (of: readonly Credential[]) => new Map(await Promise.all(of.map(async (c) => [c.customerId, planDraw(fundsOf(await readWallet(seeder, names.customers, c.customerId)), 1, new Date())!] as const)));
      const plans = await plansOf(credentials);
      const raw = cycling(credentials, async (c) => {
        await rawClient.send(new BatchGetItemCommand({ RequestItems: decisionBatchRequest(names.customers, c.customerId, parseApiKey(c.key)!.keyId) }));
        return rawClient.send(walletReservationUpdate(names.customers, { customerId: c.customerId, reservation: newReservationId(), cost: 1, now: new Date() }, plans.get(c.customerId)));
      });
      // The budget pair's raw side: the same two requests with the presented key, as the decision sends them (its budget is checked and spent too).
      const rawWithKey = async (of: readonly Credential[]) => {
        const planned = await plansOf(of);
        return cycling(of, async (c) => {
          const keyId = parseApiKey(c.key)!.keyId;
          await rawClient.send(new BatchGetItemCommand({ RequestItems: decisionBatchRequest(names.customers, c.customerId, keyId) }));
          return rawClient.send(walletReservationUpdate(names.customers, { customerId: c.customerId, reservation: newReservationId(), cost: 1, now: new Date(), keyId }, planned.get(c.customerId)));
        });
      };
      // The reservation's write units, as DynamoDB reports them (goal 1: the wallet is a small item).
      const measured = walletReservationUpdate(names.customers, { customerId: credentials[0]!.customerId, reservation: newReservationId(), cost: 1, now: new Date() }, plans.get(credentials[0]!.customerId));
      measured.input.ReturnConsumedCapacity = 'TOTAL';
      const writeUnits = (await rawClient.send(measured)).ConsumedCapacity?.CapacityUnits ?? NaN;
      const counter = countRequests(reservationClient);
      const reads = countRequests(authorizerClient);
      counter.reset();
      reads.reset();
      const { p50, p99, callsPerSide: decisions } = await pairedLatencies([decide, raw], sizes);
      const requests = counter.total() + reads.total();
      const requestsByOperation = { ...reads.counts.attempts, ...counter.counts.attempts };
      // Budgets: the same strict decision for customers with budgets against customers without, interleaved.
      const budgets = await budgetOnOff({ seeder, names, handler, route: STRICT_EVENT, sizes, counters: [counter, reads], raw: rawWithKey });

      // Overshoot: CLIENTS callers keep calling a strict route on one balance until twice what it covers.
      // The default local client and a long store deadline: a request cut off by a loaded machine would hide
      // a call (and, retried, spend its units twice), which is not what this counts.
      const patient = localClient(context.dynamodbEndpoint);
      cleanup.push(() => patient.destroy());
      const concurrent = handlerOn({ dynamodb: patient, readDeadlineMs: 60_000 });
      const balance = OVERSHOOT_BALANCE[context.mode];
      let overshoot = 0;
      let allowedTotal = 0;
      let errors = 0;
      const runs: Array<{ allowed: number; denied: number; final: number }> = [];
      for (let rep = 0; rep < sizes.repetitions; rep++) {
        const target = await seed(balance);
        const outcomes = { allow: 0, deny: 0, unauthorized: 0, error: 0 };
        await throughput(balance * 2, CLIENTS, async () => {
          const event = authorizerEvent(target.key, STRICT_EVENT);
          outcomes[await outcomeOf(concurrent(event), event.methodArn)]++;
        });
        const final = await finalBalance(target.customerId);
        overshoot = Math.max(overshoot, outcomes.allow - balance, -final);
        allowedTotal += outcomes.allow;
        errors += outcomes.error + outcomes.unauthorized;
        runs.push({ allowed: outcomes.allow, denied: outcomes.deny, final });
      }

      // Contention: the same strict callers while metering delivers the customer's metered calls, each delivery
      // drawing them from the same wallet in its transaction (a window of 0 s: every delivery writes, the most
      // conflicts metering can cause). A conflict must be retried by the reservation, never answered 503.
      const meteringClient = localClient(context.dynamodbEndpoint);
      cleanup.push(() => meteringClient.destroy());
      const meteringCounter = countRequests(meteringClient);
      const conflicts = simulateTransactionConflicts(meteringClient, reservationClient);
      const metering = composeMetering(
        {
          customersTable: names.customers,
          eventsTable: names.events,
          usageTable: names.usage,
          window: { ...DEFAULT_WINDOW, seconds: 0 },
          rules: { routes: [METERED, { method: STRICT.method, path: STRICT.path, cost: 1, strict: true }], plans: {} },
        },
        { dynamodb: meteringClient, observability: createObservability('tollgate-metering', { namespace: 'TollgateBench', logLevel: 'SILENT' }) },
      );
      // Production's reservation client (no SDK retries: the reservation retries itself by id) with a long deadline,
      // so that a loaded machine's slow answer is not what the 503s count.
      const contended = handlerOn({ dynamodb: patient, reservations: reservationClient, readDeadlineMs: 60_000 });
      const reservationCounter = countRequests(reservationClient);
      const metered = Math.floor(balance / 2);
      let contentionOvershoot = 0;
      let contention503 = 0;
      let strictAllowed = 0;
      const contentionRuns: Array<{ allowed: number; denied: number; drawn: number; final: number }> = [];
      meteringCounter.reset();
      reservationCounter.reset();
      for (let rep = 0; rep < sizes.repetitions; rep++) {
        const target = await seed(balance);
        const deliveries = meteredDeliveries(target.customerId, metered, `b10c${rep}`);
        const outcomes = { allow: 0, deny: 0, unauthorized: 0, error: 0 };
        await Promise.all([
          throughput(balance * 2, CLIENTS, async () => {
            const event = authorizerEvent(target.key, STRICT_EVENT);
            outcomes[await outcomeOf(contended(event), event.methodArn)]++;
          }),
          throughput(deliveries.length, DELIVERY_CONCURRENCY, (i) => metering(deliveries[i]!)),
        ]);
        const final = await finalBalance(target.customerId);
        // What metering drew: the balance less the strict calls' reservations and what is left.
        const drawn = balance - outcomes.allow - final;
        if (drawn < 0 || drawn > metered) throw new Error(`b10 contention: metering drew ${drawn} of ${metered} metered units (balance ${balance}, ${outcomes.allow} strict calls allowed, ${final} left)`);
        contentionOvershoot = Math.max(contentionOvershoot, outcomes.allow - balance, -final);
        contention503 += outcomes.error;
        strictAllowed += outcomes.allow;
        contentionRuns.push({ allowed: outcomes.allow, denied: outcomes.deny, drawn, final });
      }
      // Reservation writes sent: at least one per allowed call, one more per retry by its id (a call the wallet as read
      // cannot cover sends none since grants, so retries are not this less the calls).
      const reservationWrites = reservationCounter.counts.commands.UpdateItem ?? 0;
      conflicts.stop();
      return {
        available: true,
        measures: [
          ratioMeasure('p50 strict decision / p50 BatchGetItem then conditional UpdateItem', p50, { unit: 'ms', target: { op: '<=', value: 1.15 } }),
          ratioMeasure('p99 strict decision / p99 BatchGetItem then conditional UpdateItem', p99, { unit: 'ms' }),
          // The customer item (key, standing) then the wallet's write: the write alone is B's side.
          exactMeasure('DynamoDB requests per strict decision', requests / decisions, { a: requests, b: decisions, target: { op: '==', value: 2 } }),
          exactMeasure('write units per strict reservation', writeUnits, { target: { op: '==', value: 1 } }),
          ratioMeasure('p50 strict decision, budgets set / none', budgets.latencies.p50, { unit: 'ms', target: { op: '<=', value: 1.02 } }),
          ratioMeasure('p99 strict decision, budgets set / none', budgets.latencies.p99, { unit: 'ms' }),
          ratioMeasure('p50 raw BatchGetItem then conditional UpdateItem of the same items, budgets set / none (DynamoDB Local and the SDK)', budgets.raw.p50, { unit: 'ms' }),
          ratioMeasure('p50 strict decision, budgets set / none, less what the raw requests add (tollgate\'s code)', budgets.ownP50, { unit: 'ms' }),
          exactMeasure('DynamoDB requests per strict decision, budgets set or none', budgets.requests / budgets.decisions, { a: budgets.requests, b: budgets.decisions, target: { op: '==', value: 2 } }),
          exactMeasure(`calls allowed beyond the balance, ${CLIENTS} concurrent clients (worst run)`, overshoot, {
            a: allowedTotal,
            b: balance * sizes.repetitions,
            target: { op: '==', value: 0 },
          }),
          exactMeasure(`503s, ${CLIENTS} strict clients on one customer under ${DELIVERY_CONCURRENCY} concurrent metering deliveries drawing its wallet`, contention503, {
            a: contention503,
            b: sizes.repetitions * balance * 2,
            target: { op: '==', value: 0 },
          }),
          exactMeasure('strict calls allowed beyond the balance under those metering deliveries (worst run)', contentionOvershoot, {
            a: strictAllowed,
            b: balance * sizes.repetitions,
            target: { op: '==', value: 0 },
          }),
        ],
        facts: {
          decisions,
          requestsByOperation,
          writeUnitsPerReservation: writeUnits,
          overshootRuns: runs,
          overshootBalance: balance,
          overshootCallsPerRun: balance * 2,
          overshootErrors: errors,
          contentionRuns,
          contentionMeteredUnitsPerRun: metered,
          contentionReservationWrites: reservationWrites,
          contentionConflictsSimulated: conflicts.injected(),
          contentionMeteringAttempts: { ...meteringCounter.counts.attempts },
          customers: credentials.length,
          budgetDecisions: budgets.decisions,
          budgetCustomersPerSide: budgets.customersPerSide,
        },
        notes: [
          'Sequential, interleaved strict decision / raw UpdateItem pairs after a warm-up; each side has its own client built by authorizerDynamoClient(). The raw side sends the reader\'s exact UpdateItem (condition on balance and key, ADD credits -1, UPDATED_NEW) without the document client, key parsing, validation or policy.',
          'Budgets: the strict decision for customers with a customer and a key budget per day that the run never reaches (the reservation\'s condition checks and spends both) against customers without, on the same handler and clients, interleaved; a customer whose budget is used up got a 402 first, so the decision checked the budgets. Interleaved with them, the decision\'s BatchGetItem and reservation UpdateItem (with the presented key\'s budget clause) for the same two sets of customers on the raw client: how much longer DynamoDB Local and the SDK take with budgets; the decision\'s ratio less that is what tollgate\'s code adds.',
          `Contention: the overshoot run's ${CLIENTS} strict callers on a fresh customer while ${DELIVERY_CONCURRENCY} metering deliveries at a time (${LINES_PER_DELIVERY} lines each, ${metered} pay-as-you-go units in all, a 0 s window so that every delivery writes) draw the same wallet in their transactions. Reservations go through production's reservation client (no SDK retries; the reservation retries a conflict by its id) with a 60 s store deadline, so a slow answer from a loaded machine is not counted as a 503. What metering drew is the balance less the strict calls allowed and what is left; it must lie in [0, metered units].`,
          'DynamoDB Local runs a transaction and a single-item write one after the other; DynamoDB rejects a write to an item an ongoing transaction holds with TransactionConflictException. The bench simulates that: while a metering TransactWriteItems is in flight, every reservation UpdateItem is answered TransactionConflictException before it reaches DynamoDB Local (contentionConflictsSimulated counts them; contentionReservationWrites counts the reservation writes sent, retries by id included).',
          `Overshoot: ${CLIENTS} callers make twice as many 1-unit strict calls as the balance covers; allowed minus balance (and a negative final balance) is the overshoot. These callers use the default local client and a long store deadline, so that a loaded machine cannot turn a call into an error.`,
        ],
      };
    } finally {
      for (const destroy of cleanup) destroy();
      seeder.destroy();
      reservationClient.destroy();
      authorizerClient.destroy();
      rawClient.destroy();
    }
  },
};
