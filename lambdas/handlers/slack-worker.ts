import { makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { ledgerIdempotency } from "../adapters/idempotency";
import { DEFAULT_INVOCATION_MS, invocationBudget } from "../app/budget";
import { type Deps, lazyDepsFromEnvironment } from "../app/deps";
import { type ActionOutcome, carryOut, parseSlackWork } from "../app/slack-action";
import { ConfigError, parseApproversEnv, parseEnv } from "../config";
import { IDEMPOTENCY_PARTITIONS } from "../core/idempotency";
import type { Approvers } from "../core/slack-console";

const logger = new Logger({ serviceName: "patrol" });

/** Where the worker remembers what it did: items of their own in the ledger table, never an entry's. */
export const IDEMPOTENCY_PK = IDEMPOTENCY_PARTITIONS.slackWorker;
/** A double click or a Slack retry arrives within seconds; an hour covers them with room to spare. */
const REMEMBER_S = 3600;

export type WorkerDeps = Deps & { approvers: Approvers };

/**
 * The worker behind Slack's endpoint, invoked asynchronously with one click or submission. Powertools
 * Idempotency (records in the ledger table) makes each piece of work happen once: a double click, a
 * Slack retry or a second delivery of the same event gets the first one's outcome, and one arriving while
 * the first is still running is refused rather than run beside it.
 */
export function makeSlackWorker(
  getDeps: () => Promise<WorkerDeps>,
  store: { tableName: string; client?: DynamoDBClient },
) {
  const { persistenceStore, config } = ledgerIdempotency(store, IDEMPOTENCY_PK, {
    keyPath: "dedupeKey",
    rememberS: REMEMBER_S,
  });
  const run = async (event: unknown, context: Context): Promise<ActionOutcome> => {
    logger.addContext(context);
    const { work } = parseSlackWork(event);
    const budget = invocationBudget(context.getRemainingTimeInMillis?.() ?? DEFAULT_INVOCATION_MS);
    try {
      const base = await getDeps();
      const deps = base.forRun(budget);
      if (!deps.slackConsole)
        throw new ConfigError("invalid environment: the Slack worker needs SLACK_BOT_TOKEN");
      const outcome = await carryOut(
        { ...deps, slackConsole: deps.slackConsole, approvers: base.approvers },
        work,
        new Date(),
        context.awsRequestId ?? `slack-${Date.now()}`,
      );
      logger.info("Slack action", {
        action: work.type === "click" ? work.action : work.context.action,
        user: work.user.id,
        outcome: outcome.outcome,
      });
      return outcome;
    } finally {
      budget.end();
    }
  };
  return makeIdempotent(run, { persistenceStore, config });
}

function lazyWorkerDeps(): () => Promise<WorkerDeps> {
  const deps = lazyDepsFromEnvironment(logger);
  // Who may act is read once per cold start, with the rest of the environment.
  let approvers: Approvers | undefined;
  return async () => {
    const built = await deps();
    approvers ??= parseApproversEnv(parseEnv(process.env));
    return { ...built, approvers };
  };
}

// Idempotency's own reads and writes are bounded like the ledger's (lambdas/app/deps.ts).
export const handler = makeSlackWorker(lazyWorkerDeps(), {
  tableName: process.env.PATROL_TABLE ?? "",
  client: new DynamoDBClient({
    requestHandler: { requestTimeout: 5_000, connectionTimeout: 2_000, throwOnRequestTimeout: true },
  }),
});
