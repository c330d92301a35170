import { type ClassicPlan, type ClassicRevocation, completeClassic, planClassic } from "../core/classic";
import { buildDigest, type ItemDetail, overflowCsv, ownerNotice } from "../core/digest";
import type { ChangeContext } from "../core/ledger/changes";
import { judgeListing, unlistedTokenIds } from "../core/listing";
import type { Policy } from "../core/policy";
import { type SweepReport, toReportAlert, toRevokedToken } from "../core/report";
import { decideByRules } from "../core/request-rules";
import { githubWebUrl, renewalUrl } from "../core/slack-console";
import {
  completeRevocations,
  markAlertsDelivered,
  NEVER_HELD,
  type OwnerTold,
  planSweep,
  type RevocationOutcome,
  type SweepPlan,
} from "../core/sweep";
import { plural } from "../core/text";
import type { Alert, Grant, LedgerEntry, PatRequest, Revocation } from "../core/types";
import { type Budget, DEFAULT_INVOCATION_MS } from "./budget";
import { type Committed, commit, pick } from "./commit";
import { type Log, messageOf } from "./log";
import {
  type CarriedAlert,
  FIND_WINDOW_MS,
  type GrantSource,
  type Ledger,
  type Notifier,
  type PostedMessage,
  type SlackConsole,
} from "./ports";
import { applyRule, rememberVerdict, ruleSubject } from "./request-rules";

/** The ports a sweep needs; handlers and the CLI pass real adapters in. */
export interface SweepDeps {
  github: GrantSource;
  ledger: Ledger;
  /** Absent when Slack is not configured: alerts then stay unsent and are sent once it is. */
  notifier?: Notifier;
  /** Slack's DMs, to tell owners of their expiring tokens directly; absent, only the channel is told. */
  slackConsole?: Pick<SlackConsole, "dm" | "userByEmail">;
  policy: Policy;
  log?: Log;
  /** The run's budget; when it ends, the report says so (`stopped`). */
  budget?: Budget;
  /** `GITHUB_API_URL`, for the digest's links to GitHub's pages (github.com when unset). */
  githubApiUrl?: string | undefined;
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

/** One sweep's state as its steps pass it on. */
interface Sweep {
  deps: SweepDeps;
  options: SweepOptions;
  ctx: ChangeContext;
  report: SweepReport;
  /** The org's entries as the ledger now has them: what was read, written, or re-read after a conflict. */
  view: Map<string, LedgerEntry>;
  /** Entries this sweep wrote, over all its steps. */
  written: Set<string>;
}

/**
 * One org's sweep, in its steps: list, plan (pure), record intents, revoke, record outcomes, post the
 * digest, remember what was sent. Failures are collected in the report and the sweep goes on where it
 * safely can.
 */
export async function runSweep(deps: SweepDeps, options: SweepOptions): Promise<SweepReport> {
  const sweep = startSweep(deps, options);
  // A dry run changes nothing, so it needs no lease and may run beside a real sweep.
  if (options.dryRun) {
    await sweepSteps(sweep);
    return finish(sweep);
  }
  if (!(await holdOrg(sweep))) return finish(sweep);
  try {
    await sweepSteps(sweep);
  } finally {
    await releaseOrg(sweep);
  }
  return finish(sweep);
}

async function sweepSteps(sweep: Sweep): Promise<void> {
  const listed = await listAndLoad(sweep);
  if (!listed) return;
  await confirmUnlisted(sweep, listed);
  if (!sweep.options.dryRun) await settleLastDigest(sweep);
  const planned = planAndReport(sweep, listed);
  if (sweep.options.dryRun) {
    sweep.report.revoked = planned.revocations.map(toRevokedToken);
    sweep.report.slack.skipped = "dry run";
    // What the night would do to classic PATs too: listed and judged, nothing written or removed.
    await sweepClassic(sweep, { plan: planned, revocations: planned.revocations });
    return;
  }
  const due = await recordIntents(sweep, listed, planned);
  if (!due) return;
  const outcomes = await revoke(sweep, due);
  const revokedAlerts = await recordOutcomes(sweep, due, outcomes);
  const ruled = await decideNewRequests(sweep, listed);
  const classic = await sweepClassic(sweep, due);
  // A request a rule decided waits for no one: its "waiting" item gives way to what was decided.
  const waiting = due.plan.alerts.filter(
    (a) => a.kind !== "request-waiting" || !ruled.decided.has(a.entryId),
  );
  const plan = { ...due.plan, alerts: [...waiting, ...ruled.alerts, ...classic] };
  const delivered = await postDigest(sweep, listed, plan, outcomes, revokedAlerts);
  const told = await tellOwners(sweep, due.plan.ownerNotices);
  await rememberAlerts(sweep, delivered, told);
  sweep.deps.log?.info("sweep finished", {
    revoked: sweep.report.revoked.length,
    errors: sweep.report.errors.length,
    slack: sweep.report.slack.sent,
  });
}

/**
 * 0. One sweep of an org at a time: two at once would post two digests and race each other's writes.
 * The lease lasts until the run's deadline, so a run that was killed holds it no longer than it could
 * have run. Returns false when another sweep holds it (this one then does nothing, and says so).
 */
async function holdOrg(sweep: Sweep): Promise<boolean> {
  const { org, runId } = sweep.options;
  const now = new Date();
  // Without a budget of its own (a test calling `runSweep`), a run's lease lasts as long as a Lambda may run.
  const until = new Date(sweep.deps.budget?.deadline ?? now.getTime() + DEFAULT_INVOCATION_MS);
  try {
    const other = await sweep.deps.ledger.acquireLease(org, runId, until, now);
    if (!other) return true;
    sweep.report.skipped = `another sweep of ${org} (run ${other.holder}) is running, until ${other.until} at the latest`;
    sweep.report.slack.skipped = sweep.report.skipped;
    sweep.deps.log?.warn("sweep skipped: the org is being swept", {
      holder: other.holder,
      until: other.until,
    });
    return false;
  } catch (error) {
    sweep.report.errors.push({
      stage: "ledger",
      message: `taking the org's sweep lease failed: ${messageOf(error)}`,
    });
    sweep.report.slack.skipped = "nothing to report: the sweep could not start";
    return false;
  }
}

async function releaseOrg(sweep: Sweep): Promise<void> {
  try {
    await sweep.deps.ledger.releaseLease(sweep.options.org, sweep.options.runId);
  } catch (error) {
    // It expires at the run's deadline anyway.
    sweep.deps.log?.warn("releasing the sweep lease failed", { error: messageOf(error) });
  }
}

/** The report as the run ends: if its budget ran out, why, so that what was not done is explained. */
function finish(sweep: Sweep): SweepReport {
  const stopped = sweep.deps.budget?.work.stopped;
  if (stopped && stopped !== "the run ended") sweep.report.stopped = stopped;
  return sweep.report;
}

function startSweep(deps: SweepDeps, options: SweepOptions): Sweep {
  const { org, now, runId, dryRun = false, actor = SWEEP_ACTOR } = options;
  return {
    deps,
    options,
    ctx: { org, now, actor, writer: "sweep", runId },
    view: new Map(),
    written: new Set(),
    report: {
      org,
      dryRun,
      mode: deps.policy.mode,
      runId,
      now: now.toISOString(),
      scanned: 0,
      requests: 0,
      revoked: [],
      alerts: [],
      held: [],
      errors: [],
      slack: { sent: false },
      ledger: { entries: 0, written: 0, conflicts: 0 },
      listing: { known: 0, missing: 0, confirmed: 0, found: 0, suspect: false },
    },
  };
}

interface Listed {
  grants: Grant[];
  requests: PatRequest[];
  /** Not believed: nothing is taken for gone because this listing did not show it. */
  suspect?: boolean;
}

/** 1. The listing must be complete before anything is decided: a partial list would make live tokens look gone. */
async function listAndLoad(sweep: Sweep): Promise<Listed | null> {
  const { github, ledger } = sweep.deps;
  const { org, onProgress } = sweep.options;
  try {
    // GitHub asks for one request at a time: grants, then requests. The ledger loads meanwhile.
    const listing = (async () => {
      const grants = await github.listGrants(org, onProgress);
      return { grants, requests: await github.listRequests(org) };
    })();
    const [listed, entries] = await Promise.all([listing, ledger.load(org)]);
    for (const entry of entries) sweep.view.set(entry.entryId, entry);
    return listed;
  } catch (error) {
    sweep.report.errors.push({ stage: "list", message: messageOf(error) });
    sweep.report.slack.skipped = "nothing to report: the sweep could not start";
    return null;
  }
}

/**
 * 1b. Before anything is taken for gone. A listing that lost too much of what the ledger knows is not
 * believed; otherwise each entry it did not show is looked up by token id (50 a call), and a grant the
 * listing missed (its page shifted) joins the listing, to be judged like any other.
 */
async function confirmUnlisted(sweep: Sweep, listed: Listed): Promise<void> {
  const entries = [...sweep.view.values()];
  const { report } = sweep;
  const verdict = judgeListing(entries, listed.grants, sweep.deps.policy);
  report.listing = {
    ...report.listing,
    known: verdict.known,
    missing: verdict.missing,
    suspect: verdict.suspect,
  };
  if (verdict.message) {
    listed.suspect = true;
    report.errors.push({ stage: "list", message: verdict.message });
    return;
  }
  const tokenIds = unlistedTokenIds(entries, listed.grants, listed.requests);
  if (tokenIds.length === 0) return;
  try {
    const found = await sweep.deps.github.listGrants(sweep.options.org, undefined, { tokenIds });
    const listedIds = new Set(listed.grants.map((g) => g.patId));
    const missed = found.filter((g) => !listedIds.has(g.patId));
    listed.grants.push(...missed);
    report.listing.confirmed = tokenIds.length;
    report.listing.found = missed.length;
    if (missed.length > 0) {
      sweep.deps.log?.warn("the listing missed grants that GitHub still has", {
        missed: missed.map((g) => g.patId),
      });
    }
  } catch (error) {
    listed.suspect = true;
    report.listing.suspect = true;
    report.errors.push({
      stage: "list",
      message: `confirming ${plural(tokenIds.length, "token")} the listing did not show failed, so nothing was marked gone: ${messageOf(error)}`,
    });
  }
}

function plan(sweep: Sweep, listed: Listed, entries: readonly LedgerEntry[]): SweepPlan {
  const { org, now, runId } = sweep.options;
  return planSweep({
    org,
    grants: listed.grants,
    requests: listed.requests,
    ledger: entries,
    policy: sweep.deps.policy,
    now,
    runId,
    actor: sweep.ctx.actor,
    suspectListing: listed.suspect ?? false,
  });
}

/** 2. The plan, pure, and what the report says of it. */
function planAndReport(sweep: Sweep, listed: Listed): SweepPlan {
  const planned = plan(sweep, listed, [...sweep.view.values()]);
  const { report } = sweep;
  report.scanned = planned.scanned;
  report.requests = listed.requests.length;
  report.ledger.entries = planned.entries.length;
  report.held = planned.held.map((h) => ({ ...toRevokedToken(h), heldBy: h.heldBy }));
  report.alerts = planned.alerts.filter((a) => a.kind !== "revoked").map(toReportAlert);
  sweep.deps.log?.info("sweep planned", {
    scanned: planned.scanned,
    revocations: planned.revocations.length,
    held: planned.held.length,
    alerts: planned.alerts.length,
    writes: planned.writes.length,
  });
  return planned;
}

function tally(sweep: Sweep, committed: Committed<unknown>): void {
  for (const id of committed.written) sweep.written.add(id);
  sweep.report.ledger.written = sweep.written.size;
  sweep.report.ledger.conflicts += committed.conflicts;
  for (const c of committed.unresolved) {
    sweep.report.errors.push({ stage: "ledger", message: c.message, entryId: c.entryId });
  }
}

/** What may be revoked now: the plan as finally decided, without entries still changing under the sweep. */
interface Due {
  plan: SweepPlan;
  revocations: Revocation[];
}

/**
 * 3. Every change the plan makes and each revocation's intent go to the ledger before any revocation. An
 * entry another writer changed meanwhile is re-read and the plan decided again on it: a token flagged a
 * moment ago is revoked as flagged, one retired is not revoked on stale grounds.
 */
async function recordIntents(sweep: Sweep, listed: Listed, planned: SweepPlan): Promise<Due | null> {
  try {
    const committed = await commit(
      sweep.deps.ledger,
      sweep.options.org,
      sweep.view,
      (entries) => {
        const decided = plan(sweep, listed, [...entries.values()]);
        return { writes: decided.writes, result: decided };
      },
      { writes: planned.writes, result: planned },
    );
    tally(sweep, committed);
    const unresolved = new Set(committed.unresolved.map((c) => c.entryId));
    const decided = committed.result;
    return { plan: decided, revocations: decided.revocations.filter((r) => !unresolved.has(r.entryId)) };
  } catch (error) {
    sweep.report.errors.push({
      stage: "ledger",
      message: `recording the plan failed, nothing was revoked: ${messageOf(error)}`,
    });
    return null;
  }
}

/** 4. The revocations (the adapter sends a hundred grants a call); every outcome is kept for the ledger. */
async function revoke(sweep: Sweep, due: Due): Promise<RevocationOutcome[]> {
  const outcomes =
    due.revocations.length === 0
      ? []
      : await sweep.deps.github.revokeGrants(
          sweep.options.org,
          due.revocations.map((r) => r.patId),
        );
  for (const outcome of outcomes) {
    if (!outcome.ok) {
      sweep.report.errors.push({
        stage: "revoke",
        message: outcome.error ?? "revocation failed",
        patId: outcome.patId,
      });
    }
  }
  const done = new Set(outcomes.filter((o) => o.ok).map((o) => o.patId));
  sweep.report.revoked = due.revocations.filter((r) => done.has(r.patId)).map(toRevokedToken);
  return outcomes;
}

/**
 * 5. Reason, actor and time on every revoked entry, decided on each entry as it now stands. Should this
 * write fail, the next sweep confirms the revocations from their intents and announces them late.
 */
async function recordOutcomes(sweep: Sweep, due: Due, outcomes: RevocationOutcome[]): Promise<Alert[]> {
  if (due.revocations.length === 0) return [];
  try {
    const committed = await commit(sweep.deps.ledger, sweep.options.org, sweep.view, (entries) => {
      const revoked = pick(
        entries,
        due.revocations.map((r) => r.entryId),
      );
      const completion = completeRevocations(revoked, due.revocations, outcomes, sweep.ctx);
      return { writes: completion.writes, result: completion.alerts };
    });
    tally(sweep, committed);
    return committed.result;
  } catch (error) {
    sweep.report.errors.push({
      stage: "ledger",
      message: `recording outcomes failed (the next run confirms the revocations): ${messageOf(error)}`,
    });
    return [];
  }
}

/**
 * 5c. Classic PATs, on an org with SAML SSO: listed, kept in the ledger as their own kind, judged by the
 * same policy; each removal's intent recorded before GitHub is asked. On another org GitHub shows none:
 * the report says so, once, and the sweep goes on.
 */
async function sweepClassic(sweep: Sweep, due: Due): Promise<Alert[]> {
  const { github, ledger, policy, budget, log } = sweep.deps;
  const { org, runId } = sweep.options;
  let listing: Awaited<ReturnType<GrantSource["listClassicCredentials"]>>;
  try {
    listing = await github.listClassicCredentials(org);
  } catch (error) {
    sweep.report.errors.push({
      stage: "list",
      message: `listing the classic PATs failed: ${messageOf(error)}; they are swept the next night`,
    });
    return [];
  }
  if (!listing.available) {
    sweep.report.classic = { visible: false, note: listing.reason };
    log?.info("classic PATs cannot be seen in this org", { reason: listing.reason });
    return [];
  }
  const { credentials } = listing;
  // The night's cap counts every policy-driven revocation, fine-grained and classic together.
  // A night whose fine-grained revocations tripped the cap holds every classic policy removal too.
  const tripped = due.plan.held.some((h) => h.heldBy === "cap");
  const room = tripped
    ? -1
    : policy.maxRevocationsPerRun - due.revocations.filter((r) => !NEVER_HELD.has(r.reason)).length;
  if (sweep.options.dryRun) {
    const preview = planClassic([...sweep.view.values()], credentials, policy, sweep.ctx, room);
    sweep.report.classic = {
      visible: true,
      scanned: credentials.length,
      revoked: preview.revocations.map((r) => ({
        credentialId: r.credentialId,
        login: r.login,
        lastEight: r.lastEight,
        reason: r.reason,
      })),
      held: preview.held.length,
    };
    return [];
  }
  let plan: ClassicPlan;
  try {
    const committed = await commit(ledger, org, sweep.view, (entries) => {
      const decided = planClassic([...entries.values()], credentials, policy, sweep.ctx, room);
      return { writes: decided.writes, result: decided };
    });
    tally(sweep, committed);
    plan = committed.result;
  } catch (error) {
    sweep.report.errors.push({
      stage: "ledger",
      message: `recording the classic PATs failed: ${messageOf(error)}`,
    });
    return [];
  }
  if (plan.suspect) {
    sweep.report.errors.push({
      stage: "list",
      message:
        "GitHub's classic PAT listing lost too many of the authorizations the ledger knows to be believed: none was marked gone",
    });
  }
  const outcomes: { revocation: ClassicRevocation; ok: boolean; error?: string }[] = [];
  for (const revocation of plan.revocations) {
    // Only a removal whose intent is on record is made (an entry still changing under the sweep waits).
    if (sweep.view.get(revocation.entryId)?.pendingRevocation?.runId !== runId) continue;
    if (budget?.stopped) break;
    try {
      await github.removeClassicCredential(org, revocation.credentialId);
      outcomes.push({ revocation, ok: true });
    } catch (error) {
      outcomes.push({ revocation, ok: false, error: messageOf(error) });
      sweep.report.errors.push({
        stage: "revoke",
        entryId: revocation.entryId,
        message: `removing classic PAT authorization ${revocation.credentialId} of ${revocation.login} failed: ${messageOf(error)}`,
      });
    }
  }
  let done: Alert[] = [];
  if (outcomes.length > 0) {
    try {
      const committed = await commit(ledger, org, sweep.view, (entries) => {
        const completed = completeClassic(
          pick(
            entries,
            outcomes.map((o) => o.revocation.entryId),
          ),
          outcomes,
          sweep.ctx,
        );
        return { writes: completed.writes, result: completed.alerts };
      });
      tally(sweep, committed);
      done = committed.result;
    } catch (error) {
      sweep.report.errors.push({
        stage: "ledger",
        message: `recording the classic PATs removed failed (the next sweep confirms them): ${messageOf(error)}`,
      });
    }
  }
  const revoked = outcomes.filter((o) => o.ok).map((o) => o.revocation);
  sweep.report.classic = {
    visible: true,
    scanned: credentials.length,
    revoked: revoked.map((r) => ({
      credentialId: r.credentialId,
      login: r.login,
      lastEight: r.lastEight,
      reason: r.reason,
    })),
    held: plan.held.length,
  };
  const alerts = [...plan.alerts, ...done];
  sweep.report.alerts.push(...alerts.map(toReportAlert));
  return alerts;
}

/**
 * 5b. Pending requests the approval rules were not put to (their delivery was lost, none is set up, or the
 * rule step failed) meet them now, as a delivery's would: a rule's decision goes to GitHub with its reason
 * and the rule as actor (only said, in report mode). Then every decision the team was not told of yet (by
 * the request's card) goes in the digest.
 */
async function decideNewRequests(
  sweep: Sweep,
  listed: Listed,
): Promise<{ alerts: Alert[]; decided: Set<string> }> {
  const { policy, github, ledger, budget } = sweep.deps;
  const rules = policy.requestRules;
  const { org } = sweep.options;
  const byRequest = new Map(
    [...sweep.view.values()].flatMap((e) => (e.requestId === null ? [] : [[e.requestId, e] as const])),
  );
  const refresh = async (entryId: string) => {
    for (const now of await ledger.read(org, [entryId])) sweep.view.set(now.entryId, now);
    sweep.written.add(entryId);
  };
  for (const request of rules.length > 0 ? listed.requests : []) {
    const entry = byRequest.get(request.requestId);
    if (entry?.status !== "requested" || entry.ruleDecision?.requestId === request.requestId) continue;
    if (budget?.stopped) break;
    try {
      const decided = decideByRules(rules, await ruleSubject({ github }, rules, org, request));
      if (decided)
        await applyRule({ github, ledger }, org, request, entry.entryId, decided, sweep.ctx, policy.mode);
      else
        await rememberVerdict(
          { ledger },
          org,
          entry.entryId,
          { requestId: request.requestId, decided, applied: false },
          sweep.ctx,
        );
      await refresh(entry.entryId);
    } catch (error) {
      sweep.report.errors.push({
        stage: "review",
        entryId: entry.entryId,
        message: `deciding request ${request.requestId} by the approval rules failed: ${messageOf(error)}; the next sweep tries again, or a person decides`,
      });
    }
  }
  const alerts: Alert[] = [];
  const decidedIds = new Set<string>();
  const nowMs = sweep.options.now.getTime();
  for (const entry of sweep.view.values()) {
    const verdict = entry.ruleDecision;
    if (!verdict?.rule || !verdict.decision) continue;
    const key = `request-decided:${verdict.requestId}`;
    if (entry.alertsSent[key] || nowMs - Date.parse(verdict.at) > 7 * 86_400_000) continue;
    if (verdict.applied) decidedIds.add(entry.entryId);
    alerts.push({
      kind: "request-decided",
      key,
      entryId: entry.entryId,
      tokenId: entry.tokenId,
      tokenName: entry.tokenName,
      owner: entry.owner,
      slack: entry.slack,
      detail: verdict.applied
        ? `request ${verdict.requestId} ${verdict.decision === "approve" ? "approved" : "denied"} by rule ${verdict.rule}: ${verdict.reason}`
        : `request ${verdict.requestId}: rule ${verdict.rule} would ${verdict.decision} it (report mode: a person decides): ${verdict.reason}`,
    });
  }
  const decidedTokens = new Set([...decidedIds].map((id) => sweep.view.get(id)?.tokenId));
  sweep.report.alerts = [
    ...sweep.report.alerts.filter((a) => a.kind !== "request-waiting" || !decidedTokens.has(a.tokenId)),
    ...alerts.map(toReportAlert),
  ];
  return { alerts, decided: decidedIds };
}

/** What the digest step leaves for the last: the alerts Slack now has, and the digest to settle. */
interface Posted {
  delivered: Alert[];
  /** The run whose pending digest is to be settled once its alerts are remembered. */
  digest?: string;
}

/**
 * 6. The digest, when there is news and Slack is configured. Its alerts are recorded as a pending digest
 * before it is posted, and the message carries the run id: should the answer be lost, or the run die
 * before it remembers the alerts, the next run finds the message in Slack and does not say it twice.
 */
async function postDigest(
  sweep: Sweep,
  listed: Listed,
  decided: SweepPlan,
  outcomes: RevocationOutcome[],
  revokedAlerts: Alert[],
): Promise<Posted> {
  const { report } = sweep;
  const { notifier, ledger } = sweep.deps;
  const { org, runId } = sweep.options;
  const done = new Set(outcomes.filter((o) => o.ok).map((o) => o.patId));
  const revokedNow = decided.revocations
    .filter((r) => done.has(r.patId))
    .map((r) => ({ ...r, slack: sweep.view.get(r.entryId)?.slack ?? "" }));
  const details = itemDetails(sweep, listed);
  const digest = buildDigest(report, revokedNow, decided.alerts, {
    webUrl: githubWebUrl(sweep.deps.githubApiUrl),
    details,
  });
  if (!digest) {
    report.slack.skipped = "nothing new";
    return { delivered: [] };
  }
  if (!notifier) {
    report.slack.skipped = "Slack is not configured; alerts stay unsent until it is";
    return { delivered: [] };
  }
  // Only what the message shows is delivered with it; a cut list counts once its file is in the thread.
  const alerts = [...digest.shown, ...revokedAlerts];
  try {
    await ledger.recordDigest(org, { runId, at: new Date().toISOString(), alerts: alerts.map(carried) });
  } catch (error) {
    report.errors.push({
      stage: "ledger",
      message: `recording the digest before posting it failed, so it was not posted (the next sweep sends its alerts): ${messageOf(error)}`,
    });
    return { delivered: [] };
  }
  let posted: PostedMessage;
  try {
    posted = await notifier.post(digest, { key: runId });
    report.slack.sent = true;
  } catch (error) {
    report.slack.error = messageOf(error);
    report.errors.push({
      stage: "slack",
      message: `${messageOf(error)}; the alerts will be sent by the next sweep`,
    });
    // Not posted for certain (refused, rate limited): settled now. Otherwise the next run asks Slack.
    if (!(error as { maybePosted?: boolean }).maybePosted) await settle(sweep, runId, "not-posted");
    return { delivered: [] };
  }
  if (digest.overflow.length === 0) return { delivered: alerts, digest: runId };
  try {
    await notifier.attach(posted, {
      filename: `patrol-${org}-${report.now.slice(0, 10)}.csv`,
      title: `patrol · ${org}: every alert of run ${runId}`,
      content: overflowCsv([...digest.shown, ...digest.overflow], details),
      comment: `The full list: ${plural(digest.shown.length + digest.overflow.length, "alert")}, ${digest.overflow.length} not shown above.`,
    });
    return { delivered: [...alerts, ...digest.overflow], digest: runId };
  } catch (error) {
    report.errors.push({
      stage: "slack",
      message: `attaching the full list failed: ${messageOf(error)}; the ${plural(digest.overflow.length, "alert")} not shown will be sent by the next sweep`,
    });
    return { delivered: alerts, digest: runId };
  }
}

/** DMs a night sends at most; the rest wait for the next night (Slack allows about one message a second). */
export const MAX_OWNER_NOTICES = 50;

/**
 * 7. Owners told of their expiring tokens by DM, where the ledger has their Slack id or an email to find
 * it by (looked up once: a found id is kept in the entry). Each notice is remembered apart from the
 * digest's alert, so a failed digest does not send a DM twice, and a failed DM is tried the next night.
 */
async function tellOwners(sweep: Sweep, notices: readonly Alert[]): Promise<OwnerTold[]> {
  const slack = sweep.deps.slackConsole;
  if (!slack || notices.length === 0) return [];
  const { org } = sweep.options;
  const webUrl = githubWebUrl(sweep.deps.githubApiUrl);
  const found = new Map<string, string | null>();
  const told: OwnerTold[] = [];
  let failed = 0;
  // The most urgent first: what runs out soonest (or already has) is told even on a night over the cap.
  const urgent = [...notices].sort((a, b) => (a.daysLeft ?? -1) - (b.daysLeft ?? -1));
  for (const notice of urgent.slice(0, MAX_OWNER_NOTICES)) {
    if (sweep.deps.budget?.stopped) break;
    const entry = sweep.view.get(notice.entryId);
    if (!entry) continue;
    const base = { entryId: notice.entryId, key: notice.key, kind: notice.kind, detail: notice.detail };
    try {
      let userId: string | null = entry.slack || null;
      let lookedUp: string | undefined;
      if (!userId) {
        if (!found.has(entry.email)) found.set(entry.email, await slack.userByEmail(entry.email));
        userId = found.get(entry.email) ?? null;
        if (!userId) {
          told.push({ ...base, outcome: "no-slack-user" });
          continue;
        }
        lookedUp = userId;
      }
      await slack.dm(
        userId,
        ownerNotice(notice, org, {
          renew: renewalUrl(webUrl, entry),
          tokens: `${webUrl}/settings/personal-access-tokens`,
        }),
      );
      told.push({ ...base, outcome: "sent", ...(lookedUp ? { found: lookedUp } : {}) });
    } catch (error) {
      failed++;
      sweep.report.errors.push({
        stage: "slack",
        entryId: entry.entryId,
        message: `telling ${entry.owner} of ${entry.tokenName} by DM failed: ${messageOf(error)}; the next sweep tries again`,
      });
    }
  }
  const sent = told.filter((t) => t.outcome === "sent").length;
  if (sent > 0) sweep.report.slack.ownersTold = sent;
  sweep.deps.log?.info("owners told", { sent, notInSlack: told.length - sent, failed, due: notices.length });
  return told;
}

/** What the digest shows of each item: its grant or request as listed tonight, and the ledger's scope. */
function itemDetails(sweep: Sweep, listed: Listed): (alert: Alert) => ItemDetail | undefined {
  const grants = new Map(listed.grants.map((g) => [g.tokenId, g]));
  const requests = new Map(listed.requests.map((r) => [r.requestId, r]));
  const requestsByToken = new Map(listed.requests.map((r) => [r.tokenId, r]));
  return (alert) => {
    const entry = sweep.view.get(alert.entryId);
    const repositoryCount = entry?.scope?.repositories.length ? entry.scope.repositories.length : null;
    const request =
      alert.kind === "request-waiting"
        ? ((entry?.requestId != null ? requests.get(entry.requestId) : undefined) ??
          (alert.tokenId !== null ? requestsByToken.get(alert.tokenId) : undefined))
        : undefined;
    if (request) {
      return {
        patId: null,
        requestId: request.requestId,
        permissions: request.permissions,
        repositorySelection: request.repositorySelection,
        repositoryCount,
        grantedAt: null,
        lastUsedAt: null,
      };
    }
    const grant = alert.tokenId !== null ? grants.get(alert.tokenId) : undefined;
    if (!grant) return undefined;
    return {
      patId: grant.patId,
      requestId: null,
      permissions: grant.permissions,
      repositorySelection: grant.repositorySelection,
      repositoryCount,
      grantedAt: grant.accessGrantedAt,
      lastUsedAt: grant.tokenLastUsedAt,
    };
  };
}

function carried(alert: Alert): CarriedAlert {
  return { entryId: alert.entryId, key: alert.key, kind: alert.kind, detail: alert.detail.slice(0, 300) };
}

/**
 * 8. Each delivered alert, and each owner told, remembered in its entry (as it now stands), so it is said
 * once: one write an entry for both.
 */
async function rememberAlerts(sweep: Sweep, posted: Posted, told: readonly OwnerTold[]): Promise<void> {
  if (posted.delivered.length === 0 && told.length === 0) return;
  if (
    !(await remember(
      sweep,
      posted.delivered,
      "recording sent alerts failed (the next sweep finds the digest in Slack; owners told by DM may be told again)",
      told,
    ))
  )
    return;
  if (posted.digest) await settle(sweep, posted.digest, "posted");
}

async function remember(
  sweep: Sweep,
  delivered: readonly CarriedAlert[],
  failure: string,
  told: readonly OwnerTold[] = [],
): Promise<boolean> {
  try {
    const committed = await commit(sweep.deps.ledger, sweep.options.org, sweep.view, (entries) => ({
      writes: markAlertsDelivered(
        pick(
          entries,
          [...delivered, ...told].map((a) => a.entryId),
        ),
        delivered,
        sweep.ctx,
        told,
      ),
      result: null,
    }));
    tally(sweep, committed);
    return committed.unresolved.length === 0;
  } catch (error) {
    sweep.report.errors.push({ stage: "ledger", message: `${failure}: ${messageOf(error)}` });
    return false;
  }
}

async function settle(sweep: Sweep, runId: string, outcome: "posted" | "not-posted"): Promise<void> {
  try {
    await sweep.deps.ledger.settleDigest(sweep.options.org, runId, outcome);
  } catch (error) {
    // Left pending, the next run asks Slack again: it finds the message and settles it then.
    sweep.deps.log?.warn("settling the digest failed", { runId, error: messageOf(error) });
  }
}

/**
 * 1c. The last run's digest, if its fate is unknown (the run ended between posting and remembering): if
 * Slack has it, its alerts are remembered now, so tonight's digest does not repeat them; if not, they
 * are still unsent, and tonight's digest carries them.
 */
async function settleLastDigest(sweep: Sweep): Promise<void> {
  const { notifier, ledger, log } = sweep.deps;
  if (!notifier) return;
  try {
    const pending = await ledger.pendingDigest(sweep.options.org);
    if (!pending) return;
    // Older than Slack's history is looked through: its alerts are taken for unsent (said at most twice).
    if (Date.now() - Date.parse(pending.at) > FIND_WINDOW_MS) {
      log?.warn("the last digest's fate is unknown and too old to look for", { runId: pending.runId });
      await settle(sweep, pending.runId, "not-posted");
      return;
    }
    const posted = await notifier.find(pending.runId);
    log?.info("the last digest's fate", { runId: pending.runId, posted, alerts: pending.alerts.length });
    if (posted && !(await remember(sweep, pending.alerts, "remembering the last digest's alerts failed")))
      return;
    await settle(sweep, pending.runId, posted ? "posted" : "not-posted");
  } catch (error) {
    sweep.report.errors.push({
      stage: "slack",
      message: `finding out whether the last digest was posted failed (its alerts may be sent again): ${messageOf(error)}`,
    });
  }
}
