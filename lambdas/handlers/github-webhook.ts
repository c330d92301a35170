import { IdempotencyAlreadyInProgressError, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { verify } from "@octokit/webhooks-methods";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { ledgerIdempotency } from "../adapters/idempotency";
import { runBudget } from "../app/budget";
import { type Deps, lazyDepsFromEnvironment } from "../app/deps";
import { messageOf } from "../app/log";
import { type DeliveryOutcome, takeRequestEvent } from "../app/request-webhook";
import { secretOrValue } from "../app/secrets";
import { ConfigError, parseEnv } from "../config";
import { headerOf } from "../core/http";
import { IDEMPOTENCY_PARTITIONS } from "../core/idempotency";
import { canonicalOrg } from "../core/login";
import type { RequestEvent } from "../core/sweep";
import { DeliveryError, MAX_DELIVERY_BYTES, parseDelivery, readDeliveryHeaders } from "../core/webhook";
import { type Answer, answer, rawBody } from "./function-url";

const logger = new Logger({ serviceName: "patrol" });

/**
 * GitHub marks a delivery failed after 10 s. The work ends at 6 s; the idempotency record's read and write
 * around it take at most 2 × 0.8 s each (two tries of 0.8 s): 9.2 s in all.
 */
export const DELIVERY_BUDGET_MS = 6_000;
/** Where deliveries already taken are remembered: items of their own in the ledger table. */
export const IDEMPOTENCY_PK = IDEMPOTENCY_PARTITIONS.githubWebhook;
/** A redelivery is a person's action, within days; a week covers it. */
const REMEMBER_S = 7 * 86_400;

export interface WebhookDeps {
  webhookSecret: string;
  deps: Deps;
  /** The orgs the deployment governs (canonical logins), or "*": a delivery about another is ignored. */
  orgs?: ReadonlySet<string> | "*";
}

/** One delivery's work, as the idempotency layer keys it (by GitHub's delivery id). */
interface Delivery {
  deliveryId: string;
  org: string;
  event: RequestEvent;
  repositoryCount: number | null;
}

/**
 * GitHub's webhook endpoint (a Lambda Function URL) for `personal_access_token_request`. The signature
 * (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body with the webhook secret, compared in constant time)
 * is checked before anything is parsed. Each delivery is taken once (Powertools Idempotency, keyed by
 * `X-GitHub-Delivery`): a redelivery of a delivery already taken gets the first answer and changes nothing.
 * Other events and actions are answered 200 and ignored. A delivery that cannot be taken answers 500, so
 * GitHub shows it failed (it does not redeliver on its own): the nightly sweep is the backstop.
 */
export function makeWebhookHandler(
  getDeps: () => Promise<WebhookDeps>,
  store: { tableName: string; client?: DynamoDBClient },
  clock: () => Date = () => new Date(),
) {
  const { persistenceStore, config } = ledgerIdempotency(store, IDEMPOTENCY_PK, {
    keyPath: "deliveryId",
    rememberS: REMEMBER_S,
  });
  // Only the first argument is the idempotency key's source; the second is this request's means.
  const take = makeIdempotent(
    async (delivery: Delivery, means: { deps: Deps; remainingMs: number }): Promise<DeliveryOutcome> => {
      const budget = runBudget(means.remainingMs);
      try {
        const deps = means.deps.forRun(budget);
        return await takeRequestEvent({ ...deps, log: logger }, delivery.org, delivery.event, {
          deliveryId: delivery.deliveryId,
          now: clock(),
          repositoryCount: delivery.repositoryCount,
        });
      } finally {
        budget.end();
      }
    },
    { persistenceStore, config },
  );

  return async (event: APIGatewayProxyEventV2, context?: Context): Promise<Answer> => {
    if (context) {
      logger.addContext(context);
      config.registerLambdaContext(context);
    }
    const raw = rawBody(event);
    if (raw.length > MAX_DELIVERY_BYTES) return answer(400, `body over ${MAX_DELIVERY_BYTES} bytes`);
    // The signature first: nothing of an unsigned request is read, its other headers included.
    const signature = headerOf(event.headers ?? {}, "x-hub-signature-256");
    if (!signature) {
      logger.warn("refused an unsigned delivery");
      return answer(401, "refused: no X-Hub-Signature-256 header");
    }
    const { webhookSecret, deps, orgs = "*" } = await getDeps();
    if (!(await verify(webhookSecret, raw.toString("utf8"), signature).catch(() => false))) {
      logger.warn("refused a delivery whose signature does not match");
      return answer(401, "refused: the signature does not match the body");
    }
    let headers: ReturnType<typeof readDeliveryHeaders>;
    try {
      headers = readDeliveryHeaders(event.headers ?? {});
    } catch (error) {
      return answer(400, messageOf(error));
    }
    let parsed: ReturnType<typeof parseDelivery>;
    try {
      parsed = parseDelivery(headers.event, raw);
    } catch (error) {
      if (!(error instanceof DeliveryError)) throw error;
      logger.warn("refused a malformed delivery", { deliveryId: headers.deliveryId, reason: error.message });
      return answer(400, error.message);
    }
    if (parsed.kind === "ignored") return answer(200, `ignored: ${parsed.why}`);
    // The App may be installed on orgs this deployment does not govern: their requests are not its to decide.
    if (orgs !== "*" && !orgs.has(canonicalOrg(parsed.org))) {
      return answer(200, `ignored: ${parsed.org} is not an org this deployment governs`);
    }
    logger.appendKeys({ org: parsed.org, deliveryId: headers.deliveryId });
    const remainingMs = Math.min(
      DELIVERY_BUDGET_MS,
      (context?.getRemainingTimeInMillis() ?? DELIVERY_BUDGET_MS) - 500,
    );
    try {
      const outcome = await take(
        {
          deliveryId: headers.deliveryId,
          org: parsed.org,
          event: parsed.event,
          repositoryCount: parsed.repositoryCount,
        },
        { deps, remainingMs },
      );
      return answer(200, JSON.stringify(outcome), true);
    } catch (error) {
      if (error instanceof IdempotencyAlreadyInProgressError) {
        return answer(409, `delivery ${headers.deliveryId} is being taken already`);
      }
      logger.error("a delivery could not be taken", { error: messageOf(error) });
      // What went wrong stays in the function's log: the answer is shown in the App's delivery log.
      return answer(
        500,
        "not taken (see the patrol-github-webhook log); the nightly sweep records the request",
      );
    } finally {
      logger.removeKeys(["org", "deliveryId"]);
    }
  };
}

function lazyWebhookDeps(): () => Promise<WebhookDeps> {
  const deps = lazyDepsFromEnvironment(logger);
  let secret: Promise<string> | undefined;
  return async () => {
    secret ??= (async () => {
      const env = parseEnv(process.env);
      const value = await secretOrValue(env.GITHUB_WEBHOOK_SECRET_ARN, env.GITHUB_WEBHOOK_SECRET);
      if (!value)
        throw new ConfigError(
          "invalid environment: GITHUB_WEBHOOK_SECRET or GITHUB_WEBHOOK_SECRET_ARN is required",
        );
      return value.trim();
    })().catch((error: unknown) => {
      secret = undefined;
      throw error;
    });
    const [webhookSecret, built] = await Promise.all([secret, deps()]);
    const listed = (process.env.PATROL_ORGS ?? "*").trim();
    const orgs =
      listed === "*" || listed === ""
        ? ("*" as const)
        : new Set(
            listed
              .split(",")
              .map((o) => canonicalOrg(o.trim()))
              .filter((o) => o !== ""),
          );
    return { webhookSecret, deps: built, orgs };
  };
}

// Idempotency's own reads and writes are bounded like the ledger's (lambdas/app/deps.ts).
export const handler = makeWebhookHandler(lazyWebhookDeps(), {
  tableName: process.env.PATROL_TABLE ?? "",
  client: new DynamoDBClient({
    maxAttempts: 2,
    requestHandler: { requestTimeout: 800, connectionTimeout: 500, throwOnRequestTimeout: true },
  }),
});
