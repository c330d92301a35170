import type { TokenSource } from "../adapters/github";
import type { Ledger } from "../adapters/ledger";
import type { Notifier } from "../adapters/slack";
import { type ChangeContext, mergeWrites } from "../core/changes";
import { buildDigest } from "../core/digest";
import type { Policy } from "../core/policy";
import { type ReportError, type SweepReport, toReportAlert, toRevokedToken } from "../core/report";
import { completeRevocations, markAlertsDelivered, planSweep, type RevocationOutcome } from "../core/sweep";
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

/** GitHub's bulk revocation takes at most 100 grants a call. */
const REVOKE_BATCH = 100;

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
    // GitHub asks for one request at a time: grants, then requests. The ledger loads meanwhile.
    const listing = (async () => {
      const listed = await github.listGrants(org, options.onProgress);
      return [listed, await github.listRequests(org)] as const;
    })();
    [[grants, requests], entries] = await Promise.all([listing, ledger.load(org)]);
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

  const current = new Map(plan.entries.map((e) => [e.entryId, e]));
  const write = async (writes: EntryWrite[]): Promise<Set<string>> => {
    const result = await ledger.write(writes);
    report.ledger.written += result.written.length;
    report.ledger.conflicts += result.conflicts.length;
    for (const conflict of result.conflicts)
      errors.push({ stage: "ledger", message: conflict.message, entryId: conflict.entryId });
    for (const entry of result.written) current.set(entry.entryId, entry);
    return new Set(result.conflicts.map((c) => c.entryId));
  };

  // 1–2. A hundred revocations at a time: the batch's intents go to the ledger (with the first batch, every
  // other change the plan makes), then the call. Later batches' writes fall inside the second the throttle
  // keeps between two revocation calls, so they cost no wall time.
  const intentOf = new Map<string, EntryWrite>();
  const revoking = new Set(plan.revocations.map((r) => r.entryId));
  let otherWrites: EntryWrite[] = [];
  for (const w of plan.writes) {
    if (revoking.has(w.entry.entryId)) intentOf.set(w.entry.entryId, w);
    else otherWrites.push(w);
  }
  const revocations: Revocation[] = [];
  const outcomes: RevocationOutcome[] = [];
  for (let i = 0; i === 0 || i < plan.revocations.length; i += REVOKE_BATCH) {
    const batch = plan.revocations.slice(i, i + REVOKE_BATCH);
    let conflicted: Set<string>;
    try {
      conflicted = await write([...otherWrites, ...batch.flatMap((r) => intentOf.get(r.entryId) ?? [])]);
      otherWrites = [];
    } catch (error) {
      const skipped =
        i === 0 ? "nothing was revoked" : `${plan.revocations.length - i} revocations were not made`;
      errors.push({ stage: "ledger", message: `recording the plan failed, ${skipped}: ${messageOf(error)}` });
      if (i === 0) return report;
      break;
    }
    // An entry another writer changed meanwhile is not revoked on stale grounds; the next run decides again.
    const go = batch.filter((r) => !conflicted.has(r.entryId));
    if (go.length === 0) continue;
    revocations.push(...go);
    outcomes.push(
      ...(await github.revokeGrants(
        org,
        go.map((r) => r.patId),
      )),
    );
  }
  for (const outcome of outcomes) {
    if (!outcome.ok)
      errors.push({ stage: "revoke", message: outcome.error ?? "revocation failed", patId: outcome.patId });
  }
  const done = new Set(outcomes.filter((o) => o.ok).map((o) => o.patId));
  report.revoked = revocations.filter((r) => done.has(r.patId)).map(toRevokedToken);

  // 3. Outcomes (reason, actor and time on every revoked entry), decided now and written with what the
  // digest delivered: one write per entry. Should the process die before that write, the next sweep
  // confirms the revocations from their intents and announces them late.
  const entriesOf = (ids: Iterable<string>) => [...new Set(ids)].flatMap((id) => current.get(id) ?? []);
  const completion = completeRevocations(
    entriesOf(revocations.map((r) => r.entryId)),
    revocations,
    outcomes,
    ctx,
  );
  const completed = new Map(completion.writes.map((w) => [w.entry.entryId, w.entry]));

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
  const delivered =
    report.slack.sent && alerts.length > 0
      ? markAlertsDelivered(
          [...new Set(alerts.map((a) => a.entryId))].flatMap(
            (id) => completed.get(id) ?? current.get(id) ?? [],
          ),
          alerts,
          ctx,
        )
      : [];
  try {
    await write(mergeWrites(completion.writes, delivered));
  } catch (error) {
    errors.push({
      stage: "ledger",
      message: `recording outcomes and sent alerts failed (the next run confirms the revocations; alerts may be sent again): ${messageOf(error)}`,
    });
  }
  log?.info("sweep finished", {
    revoked: report.revoked.length,
    errors: errors.length,
    slack: report.slack.sent,
  });
  return report;
}
