import { startDynamoDbLocal } from '../../lib/local/dynamodb-local';

/** Starts DynamoDB Local, prints java's pid, and waits to be killed (test/local/dynamodb-private.test.ts). */
startDynamoDbLocal().then(
  (db) => process.stdout.write(`java pid ${db.pid}\n`),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
setInterval(() => undefined, 60_000);
