import { IdempotencyConfig } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/**
 * Powertools Idempotency on the ledger table: each Lambda's records under its own partition
 * (lambdas/core/idempotency.ts), never an entry's, keyed by `keyPath` in the event and kept `rememberS`.
 */
export function ledgerIdempotency(
  store: { tableName: string; client?: DynamoDBClient },
  partition: string,
  options: { keyPath: string; rememberS: number },
) {
  return {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: store.tableName,
      keyAttr: "pk",
      sortKeyAttr: "sk",
      staticPkValue: partition,
      ...(store.client ? { awsSdkV3Client: store.client } : {}),
    }),
    config: new IdempotencyConfig({
      eventKeyJmesPath: options.keyPath,
      expiresAfterSeconds: options.rememberS,
      throwOnNoIdempotencyKey: true,
    }),
  };
}
