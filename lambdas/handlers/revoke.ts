import { randomUUID } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import { DEFAULT_INVOCATION_MS, invocationBudget } from "../app/budget";
import { type Deps, lazyDepsFromEnvironment } from "../app/deps";
import { type LeakedReport, revokeLeaked } from "../app/revoke-leaked";
import { runRevoke } from "../app/run-revoke";
import { parseLeakedEvent } from "../core/leaked";
import type { RevokeReport } from "../core/report";
import { parseRevokeRequest } from "../core/revoke";

const logger = new Logger({ serviceName: "patrol" });
const metrics = new Metrics({ namespace: "patrol", serviceName: "patrol" });

/** An on-demand revocation's report, or a leaked-value revocation's for an event with `leakedTokens`. */
export interface RevokeHandler {
  // The leaked-token event carries its org, reason and requester too: any other field is checked at run time.
  (event: { leakedTokens: unknown; [field: string]: unknown }, context?: Context): Promise<LeakedReport>;
  (event: unknown, context?: Context): Promise<RevokeReport>;
}

/**
 * The revoke Lambda, for `aws lambda invoke` after a compromise. A malformed event is refused with an
 * `InvalidRevokeError` (or `LeakedInputError`) naming the field (nothing is revoked); otherwise the report
 * comes back, failures included, so the person who asked sees exactly what was cut off.
 */
export function makeRevokeHandler(getDeps: () => Promise<Deps>): RevokeHandler {
  return (async (event: unknown, context?: Context): Promise<RevokeReport | LeakedReport> => {
    if (context) logger.addContext(context);
    // Leaked values: revoked at GitHub, known from then on by their hashes. The event is never logged.
    const leaked = parseLeakedEvent(event);
    if (leaked) {
      return invocation(getDeps, leaked, context, async (deps, runId) => {
        const report = await revokeLeaked(deps, leaked, new Date(), runId);
        metrics.addMetric("LeakedValuesRevoked", MetricUnit.Count, report.revoked);
        logger.info("leaked token values revoked", {
          hashedTokens: report.hashedTokens,
          errors: report.errors,
        });
        return report;
      });
    }
    const request = parseRevokeRequest(event);
    return invocation(getDeps, request, context, async (deps, runId) => {
      const report = await runRevoke(deps, request, new Date(), runId);
      metrics.addMetric(
        "TokensRevokedOnDemand",
        MetricUnit.Count,
        report.revoked.length + report.classic.revoked.length,
      );
      metrics.addMetric(
        "RevocationFailures",
        MetricUnit.Count,
        report.failed.length + report.classic.failed.length,
      );
      if (report.failed.length + report.classic.failed.length + report.errors.length > 0) {
        logger.error("on-demand revocation finished with failures", { report });
      } else {
        logger.info("on-demand revocation report", { report });
      }
      return report;
    });
  }) as RevokeHandler;
}

/**
 * One invocation's frame, whatever it revokes: the org and requester on every log line, the budget from
 * what Lambda says is left (nothing outlives the return), the deps bound to it, the metrics published.
 */
async function invocation<T>(
  getDeps: () => Promise<Deps>,
  who: { org: string; requestedBy: string },
  context: Context | undefined,
  run: (deps: Deps & { log: typeof logger }, runId: string) => Promise<T>,
): Promise<T> {
  logger.appendKeys({ org: who.org, requestedBy: who.requestedBy });
  const budget = invocationBudget(context?.getRemainingTimeInMillis() ?? DEFAULT_INVOCATION_MS);
  try {
    const deps = (await getDeps()).forRun(budget);
    metrics.addDimension("org", who.org);
    return await run({ ...deps, log: logger }, context?.awsRequestId ?? randomUUID());
  } finally {
    budget.end();
    metrics.publishStoredMetrics();
    logger.removeKeys(["org", "requestedBy"]);
  }
}

export const handler = makeRevokeHandler(lazyDepsFromEnvironment(logger));
