import type { TokenSource } from "../adapters/github";
import type { Ledger } from "../adapters/ledger";
import type { Notifier } from "../adapters/slack";
import type { ChangeContext } from "../core/changes";
import { buildDigest } from "../core/digest";
import type { Policy } from "../core/policy";
import { type ReportError, type SweepReport, toReportAlert, toRevokedToken } from "../core/report";
import { completeRevocations, markAlertsDelivered, planSweep } from "../core/sweep";
import type { Alert, EntryWrite, LedgerEntry, Revocation } from "../core/types";
import type { Log } from "./log";

/** The ports a sweep needs; handlers and the CLI pass real adapters in. */
export interface SweepDeps {
  github: TokenSource;
  ledger: Ledger;
  /** Absent when Slack is not configured: alerts then stay unsent and are sent once it is. */
  notifier?: Notifier;
  policy: Policy;
  log?: Log;
}

export interface SweepOptions {
  org: string;
  now: Date;
  runId: string;
  dryRun?: boolean;
  actor?: string;
  /** Progress while a large org is listed. */
  onProgress?: (listed: number) => void;
}

export const SWEEP_ACTOR = "patrol-sweep";

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * One org's sweep: list, plan (pure), record intents, revoke, record outcomes, send the digest, remember
 * what was sent. Per-step failures are collected in the report and the sweep goes on where it safely can.
 */
export async function runSweep(deps: SweepDeps, options: SweepOptions): Promise<SweepReport> {
  const { github, ledger, notifier, policy, log } = deps;
  const { org, now, runId, dryRun = false, actor = SWEEP_ACTOR } = options;
  const ctx: ChangeContext = { org, now, actor, runId };
  const errors: ReportError[] = [];
  const report: SweepReport = {
    org,
    dryRun,
    mode: policy.mode,
    runId,
    now: now.toISOString(),
    scanned: 0,
    requests: 0,
    revoked: [],
    alerts: [],
    held: [],
    errors,
    slack: { sent: false },
    ledger: { entries: 0, written: 0, conflicts: 0 },
  };

  // Listing must be complete before anything is decided: a partial list would make live tokens look gone.
  let grants: Awaited<ReturnType<TokenSource["listGrants"]>>;
  let requests: Awaited<ReturnType<TokenSource["listRequests"]>>;
  let entries: LedgerEntry[];
  try {
    [grants, requests, entries] = await Promise.all([
      github.listGrants(org, options.onProgress),
      github.listRequests(org),
      ledger.load(org),
    ]);
  } catch (error) {
    errors.push({ stage: "list", message: messageOf(error) });
    report.slack.skipped = "nothing to report: the sweep could not start";
    return report;
  }

  const plan = planSweep({ org, grants, requests, ledger: entries, policy, now, runId, actor });
  report.scanned = plan.scanned;
  report.requests = requests.length;
  report.ledger.entries = plan.entries.length;
  report.held = plan.held.map((h) => ({ ...toRevokedToken(h), heldBy: h.heldBy }));
  report.alerts = plan.alerts.filter((a) => a.kind !== "revoked").map(toReportAlert);
  log?.info("sweep planned", {
    scanned: plan.scanned,
    revocations: plan.revocations.length,
    held: plan.held.length,
    alerts: plan.alerts.length,
    writes: plan.writes.length,
  });

  if (dryRun) {
    report.revoked = plan.revocations.map(toRevokedToken);
    report.slack.skipped = "dry run";
    return report;
  }

  let current = new Map(plan.entries.map((e) => [e.entryId, e]));
  const write = async (writes: EntryWrite[]): Promise<Set<string>> => {
    const result = await ledger.write(writes);
    report.ledger.written += result.written.length;
    report.ledger.conflicts += result.conflicts.length;
    for (const conflict of result.conflicts)
      errors.push({ stage: "ledger", message: conflict.message, entryId: conflict.entryId });
    current = new Map([...current, ...result.written.map((e) => [e.entryId, e] as const)]);
    return new Set(result.conflicts.map((c) => c.entryId));
  };

  // 1. Intents (and every other change the plan makes) go to the ledger before GitHub is touched.
  let revocations: Revocation[] = plan.revocations;
  try {
    const conflicted = await write(plan.writes);
    // An entry another writer changed meanwhile is not revoked on stale grounds; the next run decides again.
    revocations = revocations.filter((r) => !conflicted.has(r.entryId));
  } catch (error) {
    errors.push({
      stage: "ledger",
      message: `recording the plan failed, nothing was revoked: ${messageOf(error)}`,
    });
    return report;
  }

  // 2. Revoke, 100 grants a call.
  const outcomes =
    revocations.length > 0
      ? await github.revokeGrants(
          org,
          revocations.map((r) => r.patId),
        )
      : [];
  for (const outcome of outcomes) {
    if (!outcome.ok)
      errors.push({ stage: "revoke", message: outcome.error ?? "revocation failed", patId: outcome.patId });
  }
  const done = new Set(outcomes.filter((o) => o.ok).map((o) => o.patId));
  report.revoked = revocations.filter((r) => done.has(r.patId)).map(toRevokedToken);

  // 3. Outcomes to the ledger: reason, actor and time on every revoked entry.
  const completion = completeRevocations([...current.values()], revocations, outcomes, ctx);
  try {
    await write(completion.writes);
  } catch (error) {
    errors.push({
      stage: "ledger",
      message: `recording revocations failed (the next run confirms them): ${messageOf(error)}`,
    });
  }

  // 4. The digest, then remember what it said so it is said once.
  const alerts: Alert[] = [...plan.alerts, ...completion.alerts];
  const slackFor = (entryId: string) => current.get(entryId)?.slack ?? "";
  const revokedNow = revocations
    .filter((r) => done.has(r.patId))
    .map((r) => ({ ...r, slack: slackFor(r.entryId) }));
  const digest = buildDigest(report, revokedNow, plan.alerts);
  if (!digest) {
    report.slack.skipped = "nothing new";
  } else if (!notifier) {
    report.slack.skipped = "Slack is not configured; alerts stay unsent until it is";
  } else {
    try {
      await notifier.post(digest);
      report.slack.sent = true;
    } catch (error) {
      report.slack.error = messageOf(error);
      errors.push({
        stage: "slack",
        message: `${messageOf(error)}; the alerts will be sent by the next sweep`,
      });
    }
  }
  if (report.slack.sent && alerts.length > 0) {
    try {
      await write(markAlertsDelivered([...current.values()], alerts, ctx));
    } catch (error) {
      errors.push({
        stage: "ledger",
        message: `remembering sent alerts failed (they may be sent again): ${messageOf(error)}`,
      });
    }
  }
  log?.info("sweep finished", {
    revoked: report.revoked.length,
    errors: errors.length,
    slack: report.slack.sent,
  });
  return report;
}
