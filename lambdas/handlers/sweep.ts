import { randomUUID } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import * as z from "zod";
import { DEFAULT_INVOCATION_MS, invocationBudget } from "../app/budget";
import { type Deps, lazyDepsFromEnvironment } from "../app/deps";
import { runSweep } from "../app/run-sweep";
import { OrgSchema } from "../core/login";
import type { SweepReport } from "../core/report";

export const logger = new Logger({ serviceName: "patrol" });
const metrics = new Metrics({ namespace: "patrol", serviceName: "patrol" });

export { OrgSchema };

const SweepEventSchema = z
  .object({
    org: OrgSchema,
    dryRun: z.boolean().optional(),
    /** Evaluate the policy as of this instant (what-if, audits): implies dryRun. */
    now: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export class InvalidEventError extends Error {
  override name = "InvalidEventError";
}

export class SweepFailedError extends Error {
  override name = "SweepFailedError";
}

export function parseSweepEvent(event: unknown) {
  const parsed = SweepEventSchema.safeParse(event);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "event"}: ${i.message}`)
      .join("; ");
    throw new InvalidEventError(
      `invalid sweep event: ${problems}; expected { "org": "<login>", "dryRun"?: boolean }`,
    );
  }
  return parsed.data;
}

/** The sweep Lambda, with its dependencies passed in: tests build them against the simulators. */
export function makeSweepHandler(getDeps: () => Promise<Deps>) {
  return async (event: unknown, context?: Context): Promise<SweepReport> => {
    if (context) logger.addContext(context);
    const { org, dryRun, now } = parseSweepEvent(event);
    logger.appendKeys({ org });
    // The run's time: what Lambda says is left, less the margin to return; nothing outlives the return.
    const budget = invocationBudget(context?.getRemainingTimeInMillis() ?? DEFAULT_INVOCATION_MS);
    try {
      const deps = (await getDeps()).forRun(budget);
      const runId = context?.awsRequestId ?? randomUUID();
      const report = await runSweep(
        { ...deps, log: logger },
        // A what-if (`now`) changes nothing: evaluated as of another instant, a revocation would be wrong today.
        { org, now: now ? new Date(now) : new Date(), runId, dryRun: (dryRun ?? false) || now !== undefined },
      );
      metrics.addDimension("org", org);
      metrics.addMetric("TokensScanned", MetricUnit.Count, report.scanned);
      metrics.addMetric("TokensRevoked", MetricUnit.Count, report.revoked.length);
      metrics.addMetric("TokensHeld", MetricUnit.Count, report.held.length);
      metrics.addMetric("AlertsRaised", MetricUnit.Count, report.alerts.length);
      metrics.addMetric("Failures", MetricUnit.Count, report.errors.length);
      // The heartbeat: an org without a successful sweep for a day raises the alarm.
      // A sweep skipped because another holds the org is not this run's success: that one reports its own.
      if (report.errors.length === 0 && !report.skipped) {
        metrics.addMetric("SweepSucceeded", MetricUnit.Count, 1);
        // The same heartbeat without the org, for a deployment whose orgs are found at each run (`orgs: "*"`)
        // and so cannot have an alarm per org (infra/constructs/alarms.ts).
        metrics.singleMetric().addMetric("SweepSucceeded", MetricUnit.Count, 1);
      }
      logger.info("sweep report", { report });
      if (report.errors.length > 0) {
        throw new SweepFailedError(
          `sweep of ${org} finished with ${report.errors.length} error(s): ${report.errors.map((e) => `${e.stage}: ${e.message}`).join("; ")}`,
        );
      }
      return report;
    } finally {
      budget.end();
      metrics.publishStoredMetrics();
      logger.removeKeys(["org"]);
    }
  };
}

export const handler = makeSweepHandler(lazyDepsFromEnvironment(logger));
