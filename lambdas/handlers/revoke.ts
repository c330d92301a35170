import { randomUUID } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import { DEFAULT_INVOCATION_MS, invocationBudget } from "../app/budget";
import { type Deps, lazyDepsFromEnvironment } from "../app/deps";
import { type LeakedReport, revokeLeaked } from "../app/revoke-leaked";
import { runRevoke } from "../app/run-revoke";
import { type LeakedEvent, parseLeakedEvent } from "../core/leaked";
import type { RevokeReport } from "../core/report";
import { parseRevokeRequest } from "../core/revoke";

const logger = new Logger({ serviceName: "patrol" });
const metrics = new Metrics({ namespace: "patrol", serviceName: "patrol" });

/**
 * The revoke Lambda, for `aws lambda invoke` after a compromise. A malformed event is refused with an
 * `InvalidRevokeError` naming the field (nothing is revoked); otherwise the report comes back, failures
 * included, so the person who asked sees exactly what was cut off.
 */
/** An on-demand revocation's report, or a leaked-value revocation's for an event with `leakedTokens`. */
export interface RevokeHandler {
  (event: { leakedTokens: unknown }, context?: Context): Promise<LeakedReport>;
  (event: unknown, context?: Context): Promise<RevokeReport>;
}

export function makeRevokeHandler(getDeps: () => Promise<Deps>): RevokeHandler {
  return (async (event: unknown, context?: Context): Promise<RevokeReport | LeakedReport> => {
    if (context) logger.addContext(context);
    // Leaked values: revoked at GitHub, known from then on by their hashes. The event is never logged.
    const leaked = parseLeakedEvent(event);
    if (leaked) return revokeLeakedValues(getDeps, leaked, context);
    const request = parseRevokeRequest(event);
    logger.appendKeys({ org: request.org, requestedBy: request.requestedBy });
    const budget = invocationBudget(context?.getRemainingTimeInMillis() ?? DEFAULT_INVOCATION_MS);
    try {
      const deps = (await getDeps()).forRun(budget);
      const report = await runRevoke(
        { ...deps, log: logger },
        request,
        new Date(),
        context?.awsRequestId ?? randomUUID(),
      );
      metrics.addDimension("org", request.org);
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
    } finally {
      budget.end();
      metrics.publishStoredMetrics();
      logger.removeKeys(["org", "requestedBy"]);
    }
  }) as RevokeHandler;
}

async function revokeLeakedValues(
  getDeps: () => Promise<Deps>,
  leaked: LeakedEvent,
  context?: Context,
): Promise<LeakedReport> {
  logger.appendKeys({ org: leaked.org, requestedBy: leaked.requestedBy });
  const budget = invocationBudget(context?.getRemainingTimeInMillis() ?? DEFAULT_INVOCATION_MS);
  try {
    const deps = (await getDeps()).forRun(budget);
    const { entry, ...rest } = leaked;
    const report = await revokeLeaked(
      { ...deps, log: logger },
      { ...rest, ...(entry ? { entry } : {}) },
      new Date(),
      context?.awsRequestId ?? randomUUID(),
    );
    metrics.addDimension("org", leaked.org);
    metrics.addMetric("LeakedValuesRevoked", MetricUnit.Count, report.revoked);
    logger.info("leaked token values revoked", { hashedTokens: report.hashedTokens, errors: report.errors });
    return report;
  } finally {
    budget.end();
    metrics.publishStoredMetrics();
    logger.removeKeys(["org", "requestedBy"]);
  }
}

export const handler = makeRevokeHandler(lazyDepsFromEnvironment(logger));
