import { buildRevokeMessage } from "../core/digest";
import type { ChangeContext } from "../core/ledger/changes";
import type { RevokeReport } from "../core/report";
import {
  alreadyGone,
  type ClassicCredential,
  completeRevoke,
  describeSelector,
  flagGoneEntries,
  NothingMatchedError,
  nothingMatched,
  planRevoke,
  type RevokeRequest,
  type RevokeTarget,
  recordClassic,
  type Selector,
} from "../core/revoke";
import { plural } from "../core/text";
import type { EntryWrite, Grant, LedgerEntry } from "../core/types";
import { commit } from "./commit";
import { type Log, messageOf } from "./log";
import type { GrantFilter, GrantSource, Ledger, Notifier } from "./ports";
import { tellSlackLast } from "./tell-slack";

export interface RevokeDeps {
  github: GrantSource;
  ledger: Ledger;
  notifier?: Notifier;
  log?: Log;
}

/**
 * Resolves the selector with the list endpoint's own filters where one exists (`owner[]`, `token_id[]`);
 * grant ids are found through the ledger's token ids, and only ids the ledger does not know need the
 * whole org listed.
 */
async function resolveGrants(
  github: GrantSource,
  org: string,
  selector: Selector,
  ledger: readonly LedgerEntry[],
): Promise<Grant[]> {
  const list = (filter?: GrantFilter) => github.listGrants(org, undefined, filter);
  if ("owner" in selector && selector.owner) return list({ owners: [selector.owner] });
  if ("tokenIds" in selector) return list({ tokenIds: selector.tokenIds });
  if ("patIds" in selector) {
    const known = new Map(
      ledger.filter((e) => e.patId !== null && e.tokenId !== null).map((e) => [e.patId, e.tokenId as number]),
    );
    const tokenIds = selector.patIds.flatMap((id) => (known.has(id) ? [known.get(id) as number] : []));
    const unknown = selector.patIds.filter((id) => !known.has(id));
    const found = tokenIds.length > 0 ? await list({ tokenIds }) : [];
    const missing =
      unknown.length > 0 || found.filter((g) => selector.patIds.includes(g.patId)).length < tokenIds.length;
    return missing ? [...found, ...(await list())] : found;
  }
  return list();
}

const uniqueByPatId = (grants: readonly Grant[]) => [...new Map(grants.map((g) => [g.patId, g])).values()];

/** One on-demand revocation's state as its steps pass it on. */
interface Revoke {
  deps: RevokeDeps;
  request: RevokeRequest;
  ctx: ChangeContext;
  report: RevokeReport;
  /** The org's entries as the ledger now has them: what was read, written, or re-read after a conflict. */
  view: Map<string, LedgerEntry>;
}

/**
 * On-demand revocation, in its steps: resolve, record the intent, revoke (100 a call), remove classic PAT
 * authorizations on SAML SSO orgs, record the outcome, and only then tell Slack. Slack failing never delays
 * or blocks a revocation; it is reported in the result.
 */
export async function runRevoke(
  deps: RevokeDeps,
  request: RevokeRequest,
  now: Date,
  runId: string,
): Promise<RevokeReport> {
  const run = startRevoke(deps, request, now, runId);
  const resolved = await resolve(run);
  if (!resolved) return run.report;
  await refuseStrangers(run, resolved);
  const plan = planRevoke(request, resolved, [...run.view.values()], run.ctx);
  run.report.matched = plan.targets.length;
  run.report.alreadyGone = alreadyGone(request.selector, resolved, [...run.view.values()]);
  if (request.dryRun) return dryRun(run, plan.targets);

  // The intent is on record before GitHub is asked. If even that fails, revoke anyway: after a
  // compromise, cutting the token off comes first, and the report says what the ledger missed.
  await record(
    run,
    (current) => planRevoke(request, resolved, current, run.ctx).writes,
    "recording the intent failed; revoking anyway",
  );
  const outcome = await revokeTargets(run, plan.targets);
  // Fine-grained tokens are cut off first; classic PAT authorizations (SAML SSO orgs) right after.
  const removed = await removeClassic(run);
  await record(
    run,
    (current) => completeRevoke(request, current, plan.targets, outcome.revoked, outcome.failures, run.ctx),
    "recording the revocations failed (they happened; the next sweep confirms them)",
  );
  if (run.report.alreadyGone.length > 0 || removed.length > 0) {
    await record(
      run,
      (current) => [
        ...flagGoneEntries(request, current, run.report.alreadyGone, run.ctx),
        ...recordClassic(request, current, removed, run.ctx),
      ],
      "recording flagged and classic entries failed",
    );
  }
  summarize(run, plan.targets.length + removed.length + run.report.classic.failed.length);
  await notify(run);
  deps.log?.info("on-demand revocation", {
    summary: run.report.summary,
    revoked: run.report.revoked.length,
    failed: run.report.failed.length,
  });
  return run.report;
}

function startRevoke(deps: RevokeDeps, request: RevokeRequest, now: Date, runId: string): Revoke {
  const { org, selector, dryRun } = request;
  return {
    deps,
    request,
    ctx: { org, now, actor: request.requestedBy, writer: "revoke", runId },
    view: new Map(),
    report: {
      org,
      dryRun,
      selector: describeSelector(selector),
      reason: request.reason,
      requestedBy: request.requestedBy,
      runId,
      at: now.toISOString(),
      matched: 0,
      revoked: [],
      alreadyGone: [],
      failed: [],
      classic: { checked: false, revoked: [], failed: [] },
      slack: { sent: false },
      errors: [],
      summary: "",
    },
  };
}

/** 1. The ledger, and the grants the selector names (GitHub's own filters where it has them). */
async function resolve(run: Revoke): Promise<Grant[] | null> {
  const { github, ledger } = run.deps;
  const { org, selector } = run.request;
  try {
    const entries = await ledger.load(org);
    for (const entry of entries) run.view.set(entry.entryId, entry);
    return uniqueByPatId(await resolveGrants(github, org, selector, entries));
  } catch (error) {
    run.report.errors.push({ stage: "list", message: `${messageOf(error)}; nothing was revoked` });
    run.report.summary = "failed before revoking anything";
    return null;
  }
}

/**
 * 1b. A selector naming what neither GitHub nor the ledger knows (a typo in an incident) is refused before
 * anything is written, revoked or told to Slack. A person with only classic PAT authorizations (SAML SSO
 * orgs) is no stranger.
 */
async function refuseStrangers(run: Revoke, grants: readonly Grant[]): Promise<void> {
  const { org, selector } = run.request;
  const stranger = nothingMatched(org, selector, grants, [...run.view.values()]);
  if (!stranger) return;
  if ("owner" in selector && !("tokenName" in selector) && (await listClassic(run)).length > 0) return;
  throw new NothingMatchedError(stranger);
}

/** The classic PAT authorizations the selector reaches (every one, or one person's), where GitHub shows them. */
async function listClassic(run: Revoke): Promise<ClassicCredential[]> {
  const { selector, org } = run.request;
  const wanted = "all" in selector || ("owner" in selector && !("tokenName" in selector));
  if (!wanted) return [];
  try {
    const listing = await run.deps.github.listClassicCredentials(
      org,
      "owner" in selector ? selector.owner : undefined,
    );
    run.report.classic.checked = listing.available;
    if (!listing.available) run.report.classic.note = listing.reason;
    return listing.available ? listing.credentials : [];
  } catch (error) {
    run.report.errors.push({ stage: "list", message: messageOf(error) });
    return [];
  }
}

const tokenOf = ({ patId, tokenId, tokenName, owner }: RevokeTarget) => ({
  patId,
  tokenId,
  tokenName,
  owner,
});
const credentialOf = ({ credentialId, login, lastEight }: ClassicCredential) => ({
  credentialId,
  login,
  lastEight,
});

/** What would go, and nothing changed. */
async function dryRun(run: Revoke, targets: readonly RevokeTarget[]): Promise<RevokeReport> {
  const classic = await listClassic(run);
  const { report } = run;
  report.revoked = targets.map(tokenOf);
  report.classic.revoked = classic.map(credentialOf);
  report.slack.skipped = "dry run";
  report.summary = `dry run: would revoke ${plural(targets.length, "token")}${classic.length ? ` and ${plural(classic.length, "classic PAT authorization")}` : ""}; nothing was changed`;
  return report;
}

/** Writes what `decide` makes of the entries as they stand; a conflict is re-read and decided again. */
async function record(
  run: Revoke,
  decide: (entries: LedgerEntry[]) => EntryWrite[],
  what: string,
): Promise<void> {
  try {
    const result = await commit(run.deps.ledger, run.request.org, run.view, (current) => ({
      writes: decide([...current.values()]),
      result: null,
    }));
    for (const c of result.unresolved) {
      run.report.errors.push({ stage: "ledger", message: `${what}: ${c.message}`, entryId: c.entryId });
    }
  } catch (error) {
    run.report.errors.push({ stage: "ledger", message: `${what}: ${messageOf(error)}` });
  }
}

/** 2. The grants, a hundred a call (the adapter's batches); each one's outcome goes into the report. */
async function revokeTargets(
  run: Revoke,
  targets: readonly RevokeTarget[],
): Promise<{ revoked: Set<number>; failures: Map<number, string> }> {
  const outcomes =
    targets.length > 0
      ? await run.deps.github.revokeGrants(
          run.request.org,
          targets.map((t) => t.patId),
        )
      : [];
  const revoked = new Set(outcomes.filter((o) => o.ok).map((o) => o.patId));
  const failures = new Map(
    outcomes.filter((o) => !o.ok).map((o) => [o.patId, o.error ?? "revocation failed"]),
  );
  for (const t of targets) {
    if (revoked.has(t.patId)) run.report.revoked.push(tokenOf(t));
    else run.report.failed.push({ ...tokenOf(t), error: failures.get(t.patId) ?? "no answer from GitHub" });
  }
  return { revoked, failures };
}

/** 3. Classic PAT authorizations removed, one call each; returns those removed. */
async function removeClassic(run: Revoke): Promise<ClassicCredential[]> {
  const removed: ClassicCredential[] = [];
  for (const cred of await listClassic(run)) {
    try {
      await run.deps.github.removeClassicCredential(run.request.org, cred.credentialId);
      run.report.classic.revoked.push(credentialOf(cred));
      removed.push(cred);
    } catch (error) {
      run.report.classic.failed.push({
        credentialId: cred.credentialId,
        login: cred.login,
        error: messageOf(error),
      });
    }
  }
  return removed;
}

/** The report's one-line summary. */
function summarize(run: Revoke, attempted: number): void {
  const { report } = run;
  const failed = report.failed.length + report.classic.failed.length;
  const counts = [
    `${report.revoked.length} revoked`,
    report.classic.revoked.length
      ? `${plural(report.classic.revoked.length, "classic PAT authorization")} removed`
      : "",
    failed ? `${failed} FAILED` : "",
    report.alreadyGone.length ? `${report.alreadyGone.length} already gone` : "",
  ].filter(Boolean);
  report.summary =
    attempted === 0
      ? `nothing to revoke: no grant matches ${report.selector}${report.alreadyGone.length ? ` (${report.alreadyGone.length} already revoked or gone)` : ""}`
      : counts.join(", ");
}

/** 4. Slack last: after the revocations, never before them and never instead of them. */
async function notify(run: Revoke): Promise<void> {
  await tellSlackLast(
    run.deps.notifier,
    run.report,
    () => buildRevokeMessage(run.report),
    "the revocations were made regardless",
  );
}
