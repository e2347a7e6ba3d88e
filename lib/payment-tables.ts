import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLES, type TableKey } from '../lambda/shared/tables';

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
