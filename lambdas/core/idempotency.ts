/**
 * The ledger-table partitions where Powertools Idempotency keeps each Lambda's records: items of their own,
 * never a ledger entry's. Named here, with no side effects, so the stack can scope each Lambda's
 * UpdateItem/DeleteItem to its own partition without importing a handler.
 */
export const IDEMPOTENCY_PARTITIONS = {
  slackWorker: "IDEMPOTENCY#slack-worker",
  githubWebhook: "IDEMPOTENCY#github-webhook",
} as const;
