import { type ChangeContext, entryIdForToken, LedgerChanges, newEntry, requestedEntry } from "./changes";
import type { EntryWrite, LedgerEntry, PatRequest, Status } from "./types";

/**
 * Keeping the register by hand: register, update, flag, retire, and the review of pending requests.
 * Pure: each returns the writes (with their events: who, when, why) for the adapter to make.
 */

export class LedgerOpError extends Error {
  override name = "LedgerOpError";
}

/** The fields a person may set on an entry; GitHub provides the rest. */
export interface EntryFields {
  purpose?: string;
  scope?: string;
  permissions?: string;
  createdAt?: string | null;
  expiresAt?: string | null;
  risks?: string;
  approvedBy?: string;
  neededUntil?: string | null;
  renew?: boolean;
  slack?: string;
  notes?: string;
}

/** How a command names one entry: its id, its token id, or owner and token name. */
export type EntryRef = { entryId: string } | { tokenId: number } | { owner: string; tokenName: string };

export function findEntry(entries: readonly LedgerEntry[], ref: EntryRef): LedgerEntry {
  const matches =
    "entryId" in ref
      ? entries.filter((e) => e.entryId === ref.entryId)
      : "tokenId" in ref
        ? entries.filter((e) => e.tokenId === ref.tokenId)
        : entries.filter(
            (e) => e.owner.toLowerCase() === ref.owner.toLowerCase() && e.tokenName === ref.tokenName,
          );
  const what =
    "entryId" in ref
      ? `entry ${ref.entryId}`
      : "tokenId" in ref
        ? `token id ${ref.tokenId}`
        : `${ref.owner}/${ref.tokenName}`;
  if (matches.length === 0) throw new LedgerOpError(`no ledger entry for ${what}`);
  // A name can have history (a revoked token and its successor): the live one is meant.
  const live = matches.filter((e) => e.status !== "revoked" && e.status !== "gone");
  const chosen = live.length === 1 ? live : matches.length === 1 ? matches : [];
  if (chosen.length !== 1 || !chosen[0]) {
    throw new LedgerOpError(
      `${what} matches ${matches.length} entries (${matches.map((e) => e.entryId).join(", ")}): name one with --entry`,
    );
  }
  return chosen[0];
}

export function registerEntry(
  entries: readonly LedgerEntry[],
  token: { tokenName: string; owner: string; tokenId: number | null },
  fields: EntryFields,
  reason: string,
  ctx: ChangeContext,
): { entry: LedgerEntry; writes: EntryWrite[] } {
  const clash = entries.find(
    (e) =>
      (token.tokenId !== null && e.tokenId === token.tokenId) ||
      (e.status !== "revoked" &&
        e.status !== "gone" &&
        e.owner.toLowerCase() === token.owner.toLowerCase() &&
        e.tokenName === token.tokenName),
  );
  if (clash) {
    throw new LedgerOpError(
      `${token.owner}/${token.tokenName} is already in the ledger as entry ${clash.entryId} (status ${clash.status}): use update`,
    );
  }
  const changes = new LedgerChanges(entries, ctx);
  const base =
    token.tokenId !== null
      ? entryIdForToken(token.tokenId)
      : `name-${token.owner.toLowerCase()}-${token.tokenName.replace(/[^A-Za-z0-9._-]+/g, "_")}`;
  const entry = changes.create(
    newEntry({
      org: ctx.org,
      entryId: changes.freeId(base),
      tokenName: token.tokenName,
      owner: token.owner,
      tokenId: token.tokenId,
      status: "active",
      approvedBy: ctx.actor,
      ...fields,
    }),
    "registered",
    reason,
  );
  return { entry, writes: changes.writes() };
}

export function updateEntry(
  entries: readonly LedgerEntry[],
  ref: EntryRef,
  fields: EntryFields,
  reason: string,
  ctx: ChangeContext,
): { entry: LedgerEntry; writes: EntryWrite[] } {
  const target = findEntry(entries, ref);
  const changes = new LedgerChanges(entries, ctx);
  const entry = changes.update(target.entryId, fields, "updated", reason);
  return { entry, writes: changes.writes() };
}

/** Flag (compromised: revoked at the next sweep, and whenever seen again) or retire (no longer needed). */
export function setStatus(
  entries: readonly LedgerEntry[],
  ref: EntryRef,
  status: Extract<Status, "flagged" | "retired">,
  reason: string,
  ctx: ChangeContext,
): { entry: LedgerEntry; writes: EntryWrite[] } {
  const target = findEntry(entries, ref);
  if (status === "retired" && target.status === "flagged") {
    throw new LedgerOpError(
      `entry ${target.entryId} is flagged as compromised; a flagged token is not retired`,
    );
  }
  const changes = new LedgerChanges(entries, ctx);
  const entry =
    target.status === status
      ? target
      : changes.update(target.entryId, { status }, status === "flagged" ? "flagged" : "retired", reason);
  return { entry, writes: changes.writes() };
}

/** The runbook: a request is approved only once its purpose and risks are written down. */
export function missingForApproval(fields: { purpose: string; risks: string }): string[] {
  return [fields.purpose.trim() ? "" : "purpose", fields.risks.trim() ? "" : "risks"].filter(Boolean);
}

/**
 * Step one of a review: the entry (created from GitHub's request when the sweep has not pulled it yet)
 * with the reviewer's fields and an intent event, written before GitHub is asked.
 */
export function planReview(
  entries: readonly LedgerEntry[],
  request: PatRequest,
  decision: "approve" | "deny",
  fields: EntryFields,
  reason: string,
  ctx: ChangeContext,
): { entry: LedgerEntry; writes: EntryWrite[] } {
  const changes = new LedgerChanges(entries, ctx);
  let entry =
    entries.find((e) => e.requestId === request.requestId) ??
    entries.find((e) => e.tokenId === request.tokenId);
  if (!entry) {
    entry = changes.create(
      requestedEntry(changes, ctx.org, request, ctx.now),
      "requested",
      `access requested on GitHub (request ${request.requestId})`,
    );
  }
  const patch: Partial<LedgerEntry> =
    decision === "approve" ? { ...fields, approvedBy: fields.approvedBy ?? ctx.actor } : { ...fields };
  if (decision === "approve") {
    const missing = missingForApproval({
      purpose: patch.purpose ?? entry.purpose,
      risks: patch.risks ?? entry.risks,
    });
    if (missing.length > 0) {
      throw new LedgerOpError(
        `request ${request.requestId} cannot be approved while its ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} empty (the runbook requires both): pass --${missing.join(" and --")}`,
      );
    }
  }
  const action = decision === "approve" ? "approving" : "denying";
  const before = entry;
  entry = changes.update(entry.entryId, patch, action, reason);
  // Nothing to change is still a decision on record: the intent is an event either way.
  if (entry === before) changes.note(entry.entryId, action, reason);
  return { entry: changes.get(entry.entryId) ?? entry, writes: changes.writes() };
}

/** Step two, once GitHub has the decision: the entry says approved (active) or denied (gone), and by whom. */
export function completeReview(
  entries: readonly LedgerEntry[],
  entryId: string,
  decision: "approve" | "deny",
  reason: string,
  ctx: ChangeContext,
): EntryWrite[] {
  const changes = new LedgerChanges(entries, ctx);
  changes.update(
    entryId,
    decision === "approve" ? { status: "active" } : { status: "gone" },
    decision === "approve" ? "approved" : "denied",
    `${decision === "approve" ? "approved" : "denied"} on GitHub by ${ctx.actor}${reason ? `: ${reason}` : ""}`,
  );
  return changes.writes();
}

/** A summary for a review meeting. */
export interface LedgerSummary {
  org: string;
  at: string;
  total: number;
  byStatus: Record<string, number>;
  expiringSoon: { entryId: string; tokenName: string; owner: string; expiresAt: string; daysLeft: number }[];
  unregistered: { entryId: string; tokenName: string; owner: string; firstSeenAt: string | null }[];
  missingPurposeOrApprover: { entryId: string; tokenName: string; owner: string; missing: string[] }[];
  pendingRequests: { entryId: string; tokenName: string; owner: string; requestId: number | null }[];
}

const LIVE: ReadonlySet<Status> = new Set(["requested", "active", "unregistered", "flagged", "retired"]);

export function summarizeLedger(
  org: string,
  entries: readonly LedgerEntry[],
  now: Date,
  withinDays = 30,
): LedgerSummary {
  const byStatus: Record<string, number> = {};
  for (const e of entries) byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
  const nowMs = now.getTime();
  const day = 86_400_000;
  const pick = (e: LedgerEntry) => ({ entryId: e.entryId, tokenName: e.tokenName, owner: e.owner });
  const byName = (a: { owner: string; tokenName: string }, b: { owner: string; tokenName: string }) =>
    a.owner.localeCompare(b.owner) || a.tokenName.localeCompare(b.tokenName);
  return {
    org,
    at: now.toISOString(),
    total: entries.length,
    byStatus,
    expiringSoon: entries
      .filter((e) => (e.status === "active" || e.status === "unregistered") && e.expiresAt)
      .map((e) => ({
        ...pick(e),
        expiresAt: e.expiresAt as string,
        msLeft: Date.parse(e.expiresAt as string) - nowMs,
      }))
      .filter((e) => e.msLeft > 0 && e.msLeft <= withinDays * day)
      .sort((a, b) => a.msLeft - b.msLeft)
      .map(({ msLeft, ...e }) => ({ ...e, daysLeft: Math.ceil(msLeft / day) })),
    unregistered: entries
      .filter((e) => e.status === "unregistered")
      .map((e) => ({ ...pick(e), firstSeenAt: e.firstSeenAt }))
      .sort(byName),
    missingPurposeOrApprover: entries
      .filter((e) => LIVE.has(e.status) && e.status !== "unregistered" && e.status !== "requested")
      .map((e) => ({
        ...pick(e),
        missing: [e.purpose.trim() ? "" : "purpose", e.approvedBy.trim() ? "" : "approver"].filter(Boolean),
      }))
      .filter((e) => e.missing.length > 0)
      .sort(byName),
    pendingRequests: entries
      .filter((e) => e.status === "requested")
      .map((e) => ({ ...pick(e), requestId: e.requestId }))
      .sort(byName),
  };
}
