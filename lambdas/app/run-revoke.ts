import { buildRevokeMessage } from "../core/digest";
import type { ChangeContext } from "../core/ledger/changes";
import type { ReportError, RevokeReport } from "../core/report";
import {
  alreadyGone,
  type ClassicCredential,
  completeRevoke,
  describeSelector,
  flagGoneEntries,
  planRevoke,
  type RevokeRequest,
  recordClassic,
  type Selector,
} from "../core/revoke";
import type { EntryWrite, Grant, LedgerEntry } from "../core/types";
import { commit } from "./commit";
import type { Log } from "./log";
import type { GrantFilter, GrantSource, Ledger, Notifier } from "./ports";

export interface RevokeDeps {
  github: GrantSource;
  ledger: Ledger;
  notifier?: Notifier;
  log?: Log;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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

/**
 * On-demand revocation: resolve, record the intent, revoke (100 a call), record the outcome, remove classic
 * PAT authorizations on SAML SSO orgs, and only then tell Slack. Slack failing never delays or blocks a
 * revocation; it is reported in the result.
 */
export async function runRevoke(
  deps: RevokeDeps,
  request: RevokeRequest,
  now: Date,
  runId: string,
): Promise<RevokeReport> {
  const { github, ledger, notifier, log } = deps;
  const { org, selector, dryRun } = request;
  const ctx: ChangeContext = { org, now, actor: request.requestedBy, writer: "revoke", runId };
  const errors: ReportError[] = [];
  const report: RevokeReport = {
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
    errors,
    summary: "",
  };

  let entries: LedgerEntry[];
  let grants: Grant[];
  try {
    entries = await ledger.load(org);
    grants = uniqueByPatId(await resolveGrants(github, org, selector, entries));
  } catch (error) {
    errors.push({ stage: "list", message: `${messageOf(error)}; nothing was revoked` });
    report.summary = "failed before revoking anything";
    return report;
  }
  const plan = planRevoke(request, grants, entries, ctx);
  report.matched = plan.targets.length;
  report.alreadyGone = alreadyGone(selector, grants, entries);

  const classicWanted = "all" in selector || ("owner" in selector && !("tokenName" in selector));
  const listClassic = async (): Promise<ClassicCredential[]> => {
    if (!classicWanted) return [];
    try {
      const listing = await github.listClassicCredentials(
        org,
        "owner" in selector ? selector.owner : undefined,
      );
      report.classic.checked = listing.available;
      if (!listing.available) report.classic.note = listing.reason;
      return listing.available ? listing.credentials : [];
    } catch (error) {
      errors.push({ stage: "list", message: messageOf(error) });
      return [];
    }
  };

  if (dryRun) {
    const classic = await listClassic();
    report.revoked = plan.targets.map(({ patId, tokenId, tokenName, owner }) => ({
      patId,
      tokenId,
      tokenName,
      owner,
    }));
    report.classic.revoked = classic.map(({ credentialId, login, lastEight }) => ({
      credentialId,
      login,
      lastEight,
    }));
    report.slack.skipped = "dry run";
    report.summary = `dry run: would revoke ${plan.targets.length} token(s)${classic.length ? ` and ${classic.length} classic PAT authorization(s)` : ""}; nothing was changed`;
    return report;
  }

  const view = new Map(entries.map((e) => [e.entryId, e]));
  /** Writes what `decide` makes of the entries as they stand; a conflict is re-read and decided again. */
  const write = async (decide: (entries: LedgerEntry[]) => EntryWrite[], what: string): Promise<boolean> => {
    try {
      const result = await commit(ledger, org, view, (current) => ({
        writes: decide([...current.values()]),
        result: null,
      }));
      for (const c of result.unresolved)
        errors.push({ stage: "ledger", message: `${what}: ${c.message}`, entryId: c.entryId });
      return true;
    } catch (error) {
      errors.push({ stage: "ledger", message: `${what}: ${messageOf(error)}` });
      return false;
    }
  };

  // The intent is on record before GitHub is asked. If even that fails, revoke anyway: after a
  // compromise, cutting the token off comes first, and the report says what the ledger missed.
  await write(
    (current) => planRevoke(request, grants, current, ctx).writes,
    "recording the intent failed; revoking anyway",
  );

  const outcomes =
    plan.targets.length > 0
      ? await github.revokeGrants(
          org,
          plan.targets.map((t) => t.patId),
        )
      : [];
  const revokedIds = new Set(outcomes.filter((o) => o.ok).map((o) => o.patId));
  const failures = new Map(
    outcomes.filter((o) => !o.ok).map((o) => [o.patId, o.error ?? "revocation failed"]),
  );
  for (const t of plan.targets) {
    const grant = { patId: t.patId, tokenId: t.tokenId, tokenName: t.tokenName, owner: t.owner };
    if (revokedIds.has(t.patId)) report.revoked.push(grant);
    else report.failed.push({ ...grant, error: failures.get(t.patId) ?? "no answer from GitHub" });
  }

  // Fine-grained tokens are cut off first; classic PAT authorizations (SAML SSO orgs) right after.
  const classic = await listClassic();
  for (const cred of classic) {
    try {
      await github.removeClassicCredential(org, cred.credentialId);
      report.classic.revoked.push({
        credentialId: cred.credentialId,
        login: cred.login,
        lastEight: cred.lastEight,
      });
    } catch (error) {
      report.classic.failed.push({
        credentialId: cred.credentialId,
        login: cred.login,
        error: messageOf(error),
      });
    }
  }

  await write(
    (current) => completeRevoke(request, current, plan.targets, revokedIds, failures, ctx),
    "recording the revocations failed (they happened; the next sweep confirms them)",
  );
  const removed = classic.filter((c) =>
    report.classic.revoked.some((r) => r.credentialId === c.credentialId),
  );
  if (report.alreadyGone.length > 0 || removed.length > 0) {
    await write(
      (current) => [
        ...flagGoneEntries(request, current, report.alreadyGone, ctx),
        ...recordClassic(request, current, removed, ctx),
      ],
      "recording flagged and classic entries failed",
    );
  }

  const counts = [
    `${report.revoked.length} revoked`,
    report.classic.revoked.length
      ? `${report.classic.revoked.length} classic PAT authorization(s) removed`
      : "",
    report.failed.length + report.classic.failed.length
      ? `${report.failed.length + report.classic.failed.length} FAILED`
      : "",
    report.alreadyGone.length ? `${report.alreadyGone.length} already gone` : "",
  ].filter(Boolean);
  report.summary =
    plan.targets.length === 0 && classic.length === 0
      ? `nothing to revoke: no grant matches ${report.selector}${report.alreadyGone.length ? ` (${report.alreadyGone.length} already revoked or gone)` : ""}`
      : counts.join(", ");

  // Slack last: after the revocations, never before them and never instead of them.
  if (!notifier) {
    report.slack.skipped = "Slack is not configured";
  } else {
    try {
      await notifier.post(buildRevokeMessage(report));
      report.slack.sent = true;
    } catch (error) {
      report.slack.error = messageOf(error);
      errors.push({ stage: "slack", message: `${messageOf(error)}; the revocations were made regardless` });
    }
  }
  log?.info("on-demand revocation", {
    summary: report.summary,
    revoked: report.revoked.length,
    failed: report.failed.length,
  });
  return report;
}
