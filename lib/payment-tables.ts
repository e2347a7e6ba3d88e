import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct, type IDependable } from 'constructs';
import { TABLES, type TableKey } from '../lambda/shared/tables';
import { SUBJECT_ATTRIBUTE, SUBJECT_INDEX } from '../lambda/shared/customers/subjects';

/** A DynamoDB API action, as IAM names it. */
export type DynamoAction = `dynamodb:${string}`;

/**
 * Actions allowed only on some items or attributes: every attribute they name is one of `attributes`
 * (IAM's dynamodb:Attributes), the item's partition key is one of `leadingKeys` (dynamodb:LeadingKeys).
 * A pattern with `*` matches any run of characters (`key_*`, `checkout#*`).
 */
export interface ScopedActions {
  readonly actions: readonly DynamoAction[];
  readonly attributes?: readonly string[];
  readonly leadingKeys?: readonly string[];
}

/** What a function does on each table it uses: actions on the whole table, or actions scoped to items or attributes. */
export type TableAccess = { readonly [K in TableKey]?: readonly (DynamoAction | ScopedActions)[] };

/** One condition per scope: StringLike only where a pattern needs it, so an exact list stays exact. */
function scopeConditions(scoped: ScopedActions): Record<string, Record<string, string[]>> {
  const conditions: Record<string, Record<string, string[]>> = {};
  const add = (key: string, values: readonly string[] | undefined): void => {
    if (values === undefined) return;
    const operator = values.some((v) => v.includes('*')) ? 'ForAllValues:StringLike' : 'ForAllValues:StringEquals';
    conditions[operator] = { ...conditions[operator], [key]: [...values] };
  };
  add('dynamodb:Attributes', scoped.attributes);
  add('dynamodb:LeadingKeys', scoped.leadingKeys);
  return conditions;
}

/**
 * The payment-state tables, from the shared definitions. Payment state is the product: every table is
 * on-demand, point-in-time recoverable, deletion protected and retained when the stack goes.
 */
export class PaymentTables extends Construct {
  public readonly customers: dynamodb.TableV2;
  public readonly apiKeys: dynamodb.TableV2;
  public readonly events: dynamodb.TableV2;
  public readonly usage: dynamodb.TableV2;
  /**
   * What a function bound to the customers table is deployed after: the layout migration
   * (lib/layout-migration.ts), so new code never serves a table still in the previous layout.
   */
  private readonly customersReady: IDependable[] = [];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const table = (key: TableKey): dynamodb.TableV2 => {
      const definition: (typeof TABLES)[TableKey] = TABLES[key];
      return new dynamodb.TableV2(this, definition.id, {
        partitionKey: { name: definition.partitionKey, type: dynamodb.AttributeType.STRING },
        ...('sortKey' in definition ? { sortKey: { name: definition.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
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
    this.usage = table('usage');
  }

  /** Functions bound to the customers table from now on are deployed after `ready`. */
  public customersAfter(ready: IDependable): void {
    this.customersReady.push(ready);
  }

  /**
   * Gives `fn` each table of `access` in one step (Powertools' bindTable): the environment variable it
   * reads the table's name from, and exactly the actions listed, nothing more. A table it is not
   * given here is neither named in its environment nor granted to its role. Returns the variables added.
   */
  public bind(fn: lambda.Function, access: TableAccess): Record<string, string> {
    const added: Record<string, string> = {};
    const byKey: Record<TableKey, dynamodb.TableV2> = { customers: this.customers, apiKeys: this.apiKeys, events: this.events, usage: this.usage };
    for (const key of Object.keys(access) as TableKey[]) {
      const table = byKey[key];
      const granted = access[key] ?? [];
      fn.addEnvironment(TABLES[key].envVar, table.tableName);
      // The function's code alone waits (its role and permissions need not).
      if (key === 'customers') for (const ready of this.customersReady) fn.node.defaultChild!.node.addDependency(ready);
      added[TABLES[key].envVar] = table.tableName;
      const whole = granted.filter((entry): entry is DynamoAction => typeof entry === 'string');
      if (whole.length > 0) table.grant(fn, ...whole);
      for (const scoped of granted.filter((entry): entry is ScopedActions => typeof entry !== 'string')) {
        iam.Grant.addToPrincipal({ grantee: fn, actions: [...scoped.actions], resourceArns: [table.tableArn], conditions: scopeConditions(scoped) });
      }
    }
    return added;
  }
}
