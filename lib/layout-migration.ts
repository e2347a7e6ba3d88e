import { CustomResource, Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { LAYOUT_VERSION, LAYOUT_WRITE_ATTRIBUTES } from '../lambda/shared/customers/layout';
import type { PaymentTables, TableAccess } from './payment-tables';
import { TollgateFunction } from './tollgate-function';

/**
 * Scan reads the customers, GetItem the layout item and a changed customer's `credits`, UpdateItem
 * (also each item of the move's transaction) writes the moved attributes and the layout item's, no others.
 */
export const MIGRATE_ACTIONS: TableAccess = {
  customers: ['dynamodb:GetItem', 'dynamodb:Scan', { actions: ['dynamodb:UpdateItem'], attributes: LAYOUT_WRITE_ATTRIBUTES }],
};

export interface LayoutMigrationProps {
  readonly tables: PaymentTables;
  /** Days the function's log group keeps its logs. @default 30 */
  readonly logRetentionDays?: number;
}

/**
 * The customers table's layout migration (lambda/migrate), run once at deploy: a custom resource whose
 * one property is the layout version, so CloudFormation runs it when the version changes (and on the
 * first deploy), and the function records the applied version in the table, so a run on a table
 * already there reads one item. Every function bound to the customers table waits for it
 * (PaymentTables.bind): new code serves only the new layout.
 */
export class LayoutMigration extends Construct {
  public readonly function: TollgateFunction;
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: LayoutMigrationProps) {
    super(scope, id);
    this.function = new TollgateFunction(this, 'Function', {
      entry: 'migrate',
      description: 'tollgate: migrates the customers table to the current data layout, at deploy',
      // A run stops a minute before with its progress recorded; Lambda's 2 retries of the event resume it.
      timeout: Duration.minutes(15),
      ...(props.logRetentionDays === undefined ? {} : { logRetentionDays: props.logRetentionDays }),
    });
    this.function.configureAsyncInvoke({ retryAttempts: 2 });
    props.tables.bind(this.function, MIGRATE_ACTIONS);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::TollgateLayout',
      properties: { LayoutVersion: LAYOUT_VERSION },
      // Three runs of 15 minutes and Lambda's waits between them.
      serviceTimeout: Duration.minutes(55),
    });
  }
}
