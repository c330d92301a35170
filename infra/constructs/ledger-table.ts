import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import type { IGrantable } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

/**
 * What the ledger adapter (lambdas/adapters/ledger.ts) does to the table: one Query per org, conditional
 * PutItem per entry, BatchWriteItem for events. Nothing updates or deletes in place, so the Lambdas are not
 * allowed to (test/infra checks this list against the commands the adapters send).
 */
export const LEDGER_ACTIONS = [
  "dynamodb:Query",
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:BatchWriteItem",
] as const;

/**
 * The ledger: one table, `pk` (ORG#<org>) and `sk` (ENTRY#… / EVENT#…), as lambdas/adapters/ledger.ts
 * expects. It is also the audit trail, so it outlives the stack: retained on delete, protected against
 * deletion, recoverable to any second of the last 35 days. No TTL: entries and events never expire.
 */
export class LedgerTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, "Table", {
      partitionKey: { name: "pk", type: AttributeType.STRING },
      sortKey: { name: "sk", type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Read and write the ledger's items: exactly this table, exactly the adapter's actions. */
  grantLedgerAccess(grantee: IGrantable): void {
    this.table.grant(grantee, ...LEDGER_ACTIONS);
  }
}
