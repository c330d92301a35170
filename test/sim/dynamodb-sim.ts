/** The DynamoDB simulator is the CLI's embedded store (dynalite in-process); re-exported for tests. */
export {
  type EmbeddedDynamo,
  type EmbeddedDynamoOptions,
  ensureLedgerTable,
  startEmbeddedDynamo,
} from "../../lambdas/adapters/embedded-dynamodb";
