import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

/**
 * What the ledger adapter (lambdas/adapters/ledger.ts) does to the table: one Query per org, conditional
 * PutItem per entry, BatchWriteItem for events. Nothing updates or deletes an entry or event in place, so the
 * Lambdas are not allowed to (test/infra checks this list against the commands the adapters send).
 */
export const LEDGER_ACTIONS = [
  "dynamodb:Query",
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:BatchWriteItem",
] as const;

/**
 * What Powertools Idempotency's DynamoDB persistence layer does besides the ledger's actions: it marks a
 * record done (UpdateItem) and drops the record of a call that failed (DeleteItem), so a retry runs again.
 */
export const IDEMPOTENCY_ACTIONS = ["dynamodb:UpdateItem", "dynamodb:DeleteItem"] as const;

/**
 * What the fan-out does to its one item (lambdas/adapters/ledger.ts, `readInstallations` and
 * `writeInstallations`): a consistent read, and a put conditional on the version it read.
 */
export const INSTALLATIONS_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem"] as const;

/** The partition of the fan-out's record: `INSTALLATIONS_PK` in lambdas/adapters/ledger.ts (test/infra checks). */
export const INSTALLATIONS_PARTITION = "INSTALLATIONS";

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

  /**
   * Update and delete the Powertools Idempotency records kept under partition `pk`, and no other item:
   * the ledger's own entries and events stay write-once for this grantee (`dynamodb:LeadingKeys`).
   * Reading and creating the records is `grantLedgerAccess`'s GetItem and PutItem.
   */
  grantIdempotencyRecords(grantee: IGrantable, pk: string): void {
    Grant.addToPrincipal({
      grantee,
      actions: [...IDEMPOTENCY_ACTIONS],
      resourceArns: [this.table.tableArn],
      conditions: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [pk] } },
    });
  }

  /**
   * Read and replace the fan-out's record of the App's installations, and no other item: the grantee never
   * sees an org's entries or events (`dynamodb:LeadingKeys`).
   */
  grantInstallationsRecord(grantee: IGrantable): void {
    Grant.addToPrincipal({
      grantee,
      actions: [...INSTALLATIONS_ACTIONS],
      resourceArns: [this.table.tableArn],
      conditions: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [INSTALLATIONS_PARTITION] } },
    });
  }
}
