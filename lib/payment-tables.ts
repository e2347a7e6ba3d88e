import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLES, type TableKey } from '../lambda/shared/tables';
import { SUBJECT_ATTRIBUTE, SUBJECT_INDEX } from '../lambda/shared/customers/subjects';

/**
 * The payment-state tables, from the shared definitions. Payment state is the product: every table is
 * on-demand, point-in-time recoverable, deletion protected and retained when the stack goes.
 */
export class PaymentTables extends Construct {
  public readonly customers: dynamodb.TableV2;
  public readonly apiKeys: dynamodb.TableV2;
  public readonly events: dynamodb.TableV2;
  /** Time boundaries for the clock (lambda/shared/boundaries.ts). */
  public readonly boundaries: dynamodb.TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const table = (key: TableKey): dynamodb.TableV2 => {
      const definition: (typeof TABLES)[TableKey] = TABLES[key];
      return new dynamodb.TableV2(this, definition.id, {
        partitionKey: { name: definition.partitionKey, type: dynamodb.AttributeType.STRING },
        ...('sortKey' in definition ? { sortKey: { name: definition.sortKey, type: dynamodb.AttributeType.NUMBER } } : {}),
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
        ...('timeToLiveAttribute' in definition ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
      });
    };
    this.customers = table('customers');
    // Token subjects linked to customers (lambda/shared/customers/subjects.ts): sparse, only linked customers.
    // Declared on the L1 resource: TableV2.addGlobalSecondaryIndex would widen every grant of the table to
    // index/*; the authorizer alone is granted Query on this one index (tollgate-stack.ts).
    const customers = this.customers.node.defaultChild as dynamodb.CfnGlobalTable;
    customers.addPropertyOverride('AttributeDefinitions', [
      { AttributeName: TABLES.customers.partitionKey, AttributeType: 'S' },
      { AttributeName: SUBJECT_ATTRIBUTE, AttributeType: 'S' },
    ]);
    customers.addPropertyOverride('GlobalSecondaryIndexes', [
      { IndexName: SUBJECT_INDEX, KeySchema: [{ AttributeName: SUBJECT_ATTRIBUTE, KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } },
    ]);
    this.apiKeys = table('apiKeys');
    this.events = table('events');
    this.boundaries = table('boundaries');
  }

  /** Environment variables naming every table, for a function that uses them. */
  public environment(keys: readonly TableKey[]): Record<string, string> {
    const byKey: Record<TableKey, dynamodb.TableV2> = { customers: this.customers, apiKeys: this.apiKeys, events: this.events, boundaries: this.boundaries };
    return Object.fromEntries(keys.map((key) => [TABLES[key].envVar, byKey[key].tableName]));
  }
}
