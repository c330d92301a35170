import { buildLeakedMessage } from "../core/digest";
import { flagLeakedEntry, hashedToken, type LeakRecord } from "../core/leaked";
import type { ChangeContext } from "../core/ledger/changes";
import { type EntryRef, LedgerIndex } from "../core/ledger/match";
import { plural } from "../core/text";
import type { LedgerEntry } from "../core/types";
import { commit } from "./commit";
import { type Log, messageOf } from "./log";
import type { GrantSource, Ledger, Notifier } from "./ports";
import { tellSlackLast } from "./tell-slack";

/**
 * A leaked token's value revoked at GitHub (the token itself, everywhere, not just its access to the org),
 * in its steps: find the entry the operator named, revoke the values, flag the entry, record the hashes,
 * tell Slack. The values are passed to GitHub and to nothing else: the report, the ledger and Slack know
 * them only as `hashed_token`.
 */

export interface LeakedRequest {
  org: string;
  values: readonly string[];
  reason: string;
  requestedBy: string;
  /** The token's entry, when the operator knows it: it is flagged as leaked. */
  entry?: EntryRef;
}

export interface LeakedReport {
  org: string;
  at: string;
  runId: string;
  requestedBy: string;
  reason: string;
  revoked: number;
  hashedTokens: string[];
  flagged: { entryId: string; tokenName: string; owner: string } | null;
  errors: { stage: "github" | "ledger" | "slack"; message: string }[];
  slack: { sent: boolean; skipped?: string; error?: string };
  summary: string;
}

export interface LeakedDeps {
  github: GrantSource;
  ledger: Ledger;
  notifier?: Notifier;
  log?: Log;
}

export async function revokeLeaked(
  deps: LeakedDeps,
  request: LeakedRequest,
  now: Date,
  runId: string,
): Promise<LeakedReport> {
  const { org } = request;
  const report: LeakedReport = {
    org,
    at: now.toISOString(),
    runId,
    requestedBy: request.requestedBy,
    reason: request.reason,
    revoked: 0,
    hashedTokens: request.values.map(hashedToken),
    flagged: null,
    errors: [],
    slack: { sent: false },
    summary: "",
  };
  // 1. The named entry first: a name that matches nothing is bad input, before GitHub is called.
  const entries = await deps.ledger.load(org);
  const entry = request.entry ? new LedgerIndex(entries).find(request.entry) : undefined;

  // 2. The values, at GitHub.
  try {
    await deps.github.revokeCredentials(org, request.values);
    report.revoked = request.values.length;
  } catch (error) {
    report.errors.push({ stage: "github", message: messageOf(error) });
    report.summary = `nothing revoked: ${messageOf(error)}`;
    return report;
  }

  // 3. The entry flagged, and 4. the hashes on record.
  const ctx: ChangeContext = { org, now, actor: request.requestedBy, writer: "revoke", runId };
  if (entry) await flag(deps, report, entries, entry, ctx);
  try {
    const records: LeakRecord[] = report.hashedTokens.map((h) => ({
      hashedToken: h,
      at: report.at,
      by: request.requestedBy,
      reason: request.reason,
      runId,
      ...(entry ? { entryId: entry.entryId } : {}),
    }));
    await deps.ledger.recordLeaks(org, records);
  } catch (error) {
    report.errors.push({ stage: "ledger", message: `recording the hashes failed: ${messageOf(error)}` });
  }
  report.summary = `${plural(report.revoked, "leaked token value")} revoked at GitHub${report.flagged ? `; ${report.flagged.owner}/${report.flagged.tokenName} flagged` : ""}`;

  // 5. Slack, last.
  await tellSlackLast(
    deps.notifier,
    report,
    () => buildLeakedMessage({ ...report, flagged: report.flagged }),
    "the values were revoked regardless",
  );
  deps.log?.info("leaked token values revoked", {
    revoked: report.revoked,
    hashedTokens: report.hashedTokens,
  });
  return report;
}

async function flag(
  deps: LeakedDeps,
  report: LeakedReport,
  entries: readonly LedgerEntry[],
  entry: LedgerEntry,
  ctx: ChangeContext,
): Promise<void> {
  const view = new Map(entries.map((e) => [e.entryId, e]));
  try {
    const committed = await commit(deps.ledger, ctx.org, view, (current) => ({
      writes: flagLeakedEntry([...current.values()], entry.entryId, report.hashedTokens, report, ctx),
      result: null,
    }));
    for (const c of committed.unresolved) report.errors.push({ stage: "ledger", message: c.message });
    report.flagged = { entryId: entry.entryId, tokenName: entry.tokenName, owner: entry.owner };
  } catch (error) {
    report.errors.push({ stage: "ledger", message: `flagging ${entry.entryId} failed: ${messageOf(error)}` });
  }
}
