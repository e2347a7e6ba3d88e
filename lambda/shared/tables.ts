/**
 * The DynamoDB tables, as plain data: the CDK stack, the local run and the tests all create their
 * tables from these definitions, so they cannot drift apart.
 */
export interface TableDefinition {
  /** Construct id in the stack, and the table name prefix locally. */
  readonly id: string;
  readonly partitionKey: string;
  /** Sort key (string), for tables read by Query. */
  readonly sortKey?: string;
  /** Attribute DynamoDB expires items by (epoch seconds). */
  readonly timeToLiveAttribute?: string;
  /** Environment variable a function reads the table name from. */
  readonly envVar: string;
}

export const TABLES = {
  /** One item per Stripe customer: payment state and the customer's API key hashes. */
  customers: { id: 'Customers', partitionKey: 'customerId', envVar: 'CUSTOMERS_TABLE' },
  /** Key id → customer id, for managing a key by its id alone. The authorizer never reads it. */
  apiKeys: { id: 'ApiKeys', partitionKey: 'keyId', envVar: 'API_KEYS_TABLE' },
  /** Stripe event ids already applied (expire well after Stripe's 3-day retry window), and the stage's flush outbox. */
  events: { id: 'EventLedger', partitionKey: 'eventId', timeToLiveAttribute: 'expiresAt', envVar: 'EVENTS_TABLE' },
  /** Metering's usage windows: per delivery, the units of customers far from a limit, summed per customer once a window (lambda/metering/window.ts). */
  usage: { id: 'UsageWindows', partitionKey: 'pk', sortKey: 'sk', timeToLiveAttribute: 'expiresAt', envVar: 'USAGE_TABLE' },
} as const satisfies Record<string, TableDefinition>;

export type TableKey = keyof typeof TABLES;
export type TableNames = Record<TableKey, string>;

/** How long an applied event id is remembered: Stripe retries for 3 days; keep 30. */
export const EVENT_LEDGER_RETENTION_SECONDS = 30 * 24 * 60 * 60;
