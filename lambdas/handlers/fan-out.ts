import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import pMap from "p-map";
import * as z from "zod";
import { type Budget, DEFAULT_INVOCATION_MS, invocationBudget } from "../app/budget";
import { buildFanOutDeps, type FanOutDeps } from "../app/deps";
import { messageOf } from "../app/log";
import type { Installation, InstallationsRecord } from "../app/ports";
import { parseEnv } from "../config";
import { canonicalOrg } from "../core/login";

export const logger = new Logger({ serviceName: "patrol" });
const metrics = new Metrics({ namespace: "patrol", serviceName: "patrol" });

/**
 * Orgs handed to the sweep at once. Each hand-off is one asynchronous Invoke (Lambda queues it and answers
 * 202), so a thousand orgs take seconds; the sweeps themselves then run in parallel, one org each.
 */
const INVOKE_CONCURRENCY = 8;
/** Tries of one org's hand-off, each bounded by the invoker's own timeout, all within the run's budget. */
const INVOKE_TRIES = 3;
const INVOKE_BACKOFF_MS = 200;
/** Reads and conditional writes of the installations record before another run's writes are given up on. */
const RECORD_TRIES = 3;

/** What a schedule sends (`{}`), or an operator's `aws lambda invoke` with no payload. */
const FanOutEventSchema = z.preprocess((e) => e ?? {}, z.object({}).strict());

export class InvalidFanOutEventError extends Error {
  override name = "InvalidFanOutEventError";
}

export class FanOutFailedError extends Error {
  override name = "FanOutFailedError";
}

export interface FanOutReport {
  /** Every org the App is installed on (and not suspended), as GitHub spells it: each one's sweep was handed on, or is in `failed`. */
  orgs: string[];
  /** Sweeps handed to the sweep Lambda. */
  invoked: number;
  /** Orgs whose sweep could not be handed on, with why. */
  failed: { org: string; message: string }[];
  /** Installed at the last run, not now (uninstalled, suspended or renamed): the InstallationsLost alarm. */
  disappeared: string[];
  /** Installed now, not at the last run (every org, at the first run). */
  appeared: string[];
  /** Installations an org owner suspended: not swept, since GitHub refuses their tokens. */
  suspended: string[];
  /** Why the record of last run's installations could not be read or written (nothing was compared). */
  errors: string[];
}

function parseFanOutEvent(event: unknown): void {
  const parsed = FanOutEventSchema.safeParse(event);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "event"}: ${i.message}`)
      .join("; ");
    throw new InvalidFanOutEventError(
      `invalid fan-out event: ${problems}; expected {} (the orgs are those the GitHub App is installed on)`,
    );
  }
}

/** Step 1: the orgs to sweep, from the installations; a suspended one is named, not swept. */
function orgsToSweep(installations: readonly Installation[]): { orgs: string[]; suspended: string[] } {
  const byLogin = (a: string, b: string) => canonicalOrg(a).localeCompare(canonicalOrg(b));
  return {
    orgs: installations
      .filter((i) => !i.suspended)
      .map((i) => i.org)
      .sort(byLogin),
    suspended: installations
      .filter((i) => i.suspended)
      .map((i) => i.org)
      .sort(byLogin),
  };
}

/**
 * Step 2: holds this run's orgs against the last run's record and writes this run's in its place,
 * conditional on the version read. Another run that wrote in between (an operator's invoke beside the
 * schedule's) has reported the orgs that left before it: the record is read again and compared with that.
 */
async function rememberInstallations(
  record: InstallationsRecord,
  orgs: readonly string[],
  now: Date,
): Promise<{ disappeared: string[]; appeared: string[] }> {
  const current = new Set(orgs.map(canonicalOrg));
  for (let attempt = 1; attempt <= RECORD_TRIES; attempt++) {
    const previous = await record.readInstallations();
    const before = new Set((previous?.orgs ?? []).map(canonicalOrg));
    const disappeared = (previous?.orgs ?? []).filter((org) => !current.has(canonicalOrg(org)));
    const appeared = orgs.filter((org) => !before.has(canonicalOrg(org)));
    const written = await record.writeInstallations(
      { orgs, lost: disappeared, at: now.toISOString() },
      previous?.version ?? null,
    );
    if (written) return { disappeared, appeared };
  }
  throw new Error(
    `the installations record changed under each of ${RECORD_TRIES} writes (other fan-outs running at once); not overwritten`,
  );
}

/**
 * One org's hand-off to the sweep Lambda, tried again within the budget. A try whose answer was lost may
 * still have been queued, so an org can be swept twice: the sweep holds the org's lease, and a second sweep
 * the same night changes nothing and sends nothing.
 */
async function handOn(invokeSweep: FanOutDeps["invokeSweep"], org: string, budget: Budget): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    budget.check(`handing ${org} to the sweep`);
    try {
      await budget.race(invokeSweep({ org }));
      return;
    } catch (error) {
      const wait = INVOKE_BACKOFF_MS * 2 ** (attempt - 1);
      if (attempt >= INVOKE_TRIES || !budget.fits(wait)) throw error;
      await budget.sleep(wait);
    }
  }
}

/** Step 3: every org's sweep handed on; one refused hand-off stops no other. */
async function invokeSweeps(
  invokeSweep: FanOutDeps["invokeSweep"],
  orgs: readonly string[],
  budget: Budget,
): Promise<{ invoked: number; failed: FanOutReport["failed"] }> {
  const failed: FanOutReport["failed"] = [];
  let invoked = 0;
  await pMap(
    orgs,
    async (org) => {
      try {
        await handOn(invokeSweep, org, budget);
        invoked++;
      } catch (error) {
        failed.push({ org, message: `handing ${org} to the sweep failed: ${messageOf(error)}` });
      }
    },
    { concurrency: INVOKE_CONCURRENCY },
  );
  failed.sort((a, b) => a.org.localeCompare(b.org));
  return { invoked, failed };
}

/** list installations → compare with the last run's and remember → hand each org to the sweep. */
async function fanOut(deps: FanOutDeps, budget: Budget, now: Date): Promise<FanOutReport> {
  const installations = await deps.installations(budget.work).listInstallations();
  const { orgs, suspended } = orgsToSweep(installations);
  const errors: string[] = [];
  let compared = { disappeared: [] as string[], appeared: [] as string[] };
  try {
    compared = await rememberInstallations(deps.record(budget), orgs, now);
  } catch (error) {
    errors.push(`installations record: ${messageOf(error)}`);
  }
  const { invoked, failed } = await invokeSweeps(deps.invokeSweep, orgs, budget.work);
  return { orgs, invoked, failed, ...compared, suspended, errors };
}

/**
 * The fan-out Lambda, run by the one schedule of a deployment with `orgs: "*"`: it lists where the GitHub
 * App is installed and hands each org to the sweep Lambda as its own invocation (`{ org }`, the event the
 * per-org schedules send), so every org is swept in parallel and one org's failure touches no other. It
 * publishes how many orgs it found and how many left since its last run (the InstallationsLost alarm), and
 * fails at the end if any org could not be handed on.
 */
export function makeFanOutHandler(getDeps: () => Promise<FanOutDeps>, clock: () => Date = () => new Date()) {
  return async (event: unknown, context?: Context): Promise<FanOutReport> => {
    if (context) logger.addContext(context);
    parseFanOutEvent(event);
    const budget = invocationBudget(context?.getRemainingTimeInMillis() ?? DEFAULT_INVOCATION_MS);
    try {
      const report = await fanOut(await getDeps(), budget, clock());
      metrics.addMetric("Installations", MetricUnit.Count, report.orgs.length);
      // Only a comparison that was made says how many left: no datapoint is no news, not "none left".
      if (report.errors.length === 0)
        metrics.addMetric("InstallationsLost", MetricUnit.Count, report.disappeared.length);
      metrics.addMetric("SweepsInvoked", MetricUnit.Count, report.invoked);
      metrics.addMetric("SweepInvokeFailures", MetricUnit.Count, report.failed.length);
      for (const org of report.disappeared) {
        logger.warn("the GitHub App is no longer installed on an org it swept", { org });
      }
      for (const org of report.suspended) logger.warn("the GitHub App's installation is suspended", { org });
      logger.info("fan-out report", { report });
      const problems = [...report.failed.map((f) => f.message), ...report.errors];
      if (problems.length > 0) {
        throw new FanOutFailedError(
          `fan-out handed ${report.invoked} of ${report.orgs.length} org(s) to the sweep, with ${problems.length} problem(s): ${problems.join("; ")}`,
        );
      }
      return report;
    } finally {
      budget.end();
      // A run that failed before it counted anything has nothing to publish (and its error, the alarm).
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

/** The fan-out's ports, built on first use and kept for the execution environment; a failed build is retried. */
export function lazyFanOutDeps(): () => Promise<FanOutDeps> {
  let deps: Promise<FanOutDeps> | undefined;
  return () => {
    deps ??= Promise.resolve()
      .then(() => buildFanOutDeps(parseEnv(process.env), { log: logger }))
      .catch((error: unknown) => {
        deps = undefined;
        throw error;
      });
    return deps;
  };
}

export const handler = makeFanOutHandler(lazyFanOutDeps());
