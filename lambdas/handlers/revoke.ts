import { randomUUID } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import { DEFAULT_INVOCATION_MS, invocationBudget } from "../app/budget";
import { type Deps, lazyDepsFromEnvironment } from "../app/deps";
import { runRevoke } from "../app/run-revoke";
import type { RevokeReport } from "../core/report";
import { parseRevokeRequest } from "../core/revoke";

const logger = new Logger({ serviceName: "patrol" });
const metrics = new Metrics({ namespace: "patrol", serviceName: "patrol" });

/**
 * The revoke Lambda, for `aws lambda invoke` after a compromise. A malformed event is refused with an
 * `InvalidRevokeError` naming the field (nothing is revoked); otherwise the report comes back, failures
 * included, so the person who asked sees exactly what was cut off.
 */
export function makeRevokeHandler(getDeps: () => Promise<Deps>) {
  return async (event: unknown, context?: Context): Promise<RevokeReport> => {
    if (context) logger.addContext(context);
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
  };
}

export const handler = makeRevokeHandler(lazyDepsFromEnvironment(logger));
