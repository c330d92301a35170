import { type ChangeContext, LedgerChanges, requestedEntry } from "./ledger/changes";
import { newEntry } from "./ledger/fields";
import { entryIdForName, entryIdForToken } from "./ledger/ids";
import { isLive, LifecycleError, missingForApproval, missingForRegistration } from "./ledger/lifecycle";
import { type EntryRef, LedgerIndex } from "./ledger/match";
import type { EntryWrite, LedgerEntry, PatRequest, Status } from "./types";

/**
 * Keeping the register by hand: register, update, flag, retire, and the review of pending requests.
 * Pure: each returns the writes (with their events: who, when, why) for the adapter to make. Errors speak
 * of the ledger, not of the CLI's flags.
 */

export class LedgerOpError extends Error {
  override name = "LedgerOpError";
}

/** A change refused until the entry says more: `missing` names the fields (purpose, risks, approver). */
export class IncompleteEntryError extends LedgerOpError {
  override name = "IncompleteEntryError";
  constructor(
    message: string,
    readonly missing: readonly string[],
  ) {
    super(message);
  }
}

/** The fields a person may set on an entry (each has an option: see `OPTION_FIELDS`). */
export type EntryFields = Partial<
  Pick<
    LedgerEntry,
    | "purpose"
    | "scope"
    | "permissions"
    | "createdAt"
    | "expiresAt"
    | "risks"
    | "approvedBy"
    | "neededUntil"
    | "renew"
    | "slack"
    | "notes"
  >
>;

/** The entry a reference names, as the ledger's matcher finds it. */
export function findEntry(entries: readonly LedgerEntry[], ref: EntryRef): LedgerEntry {
  return new LedgerIndex(entries).find(ref);
}

type Change = { entry: LedgerEntry; writes: EntryWrite[] };

/**
 * Registers a token. A token the sweep found unregistered is adopted (its entry gets the fields and
 * becomes active, approved by the registrar unless another approver is named); a token already registered
 * is refused, so two entries never claim one token.
 */
export function registerEntry(
  entries: readonly LedgerEntry[],
  token: { tokenName: string; owner: string; tokenId: number | null },
  fields: EntryFields,
  reason: string,
  ctx: ChangeContext,
): Change {
  const changes = new LedgerChanges(entries, ctx);
  const existing = changes.index.match(token);
  if (existing?.status === "unregistered") {
    const withFields = { approvedBy: ctx.actor, ...fields };
    const missing = missingForRegistration({ ...existing, ...withFields });
    if (missing.length > 0) {
      throw new IncompleteEntryError(
        `entry ${existing.entryId} (${existing.owner}/${existing.tokenName}) is unregistered; registering it needs its ${missing.join(" and ")}`,
        missing,
      );
    }
    changes.update(existing.entryId, withFields, "registered", reason);
    const entry = changes.adoptIfComplete(existing.entryId, reason);
    return { entry, writes: changes.writes() };
  }
  // One token, one entry: a token the ledger holds (live, or revoked and gone with its history) is
  // changed with update, never registered a second time past its story.
  const holder = token.tokenId !== null ? changes.index.withTokenId(token.tokenId) : undefined;
  const clash = holder ?? (existing && isLive(existing.status) ? existing : undefined);
  if (clash) {
    throw new LedgerOpError(
      `${token.owner}/${token.tokenName} is already in the ledger as entry ${clash.entryId} (status ${clash.status}); change it with update`,
    );
  }
  const base =
    token.tokenId !== null ? entryIdForToken(token.tokenId) : entryIdForName(token.owner, token.tokenName);
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

/** Changes what the register says of one token; an unregistered one given purpose and approver is adopted. */
export function updateEntry(
  entries: readonly LedgerEntry[],
  ref: EntryRef,
  fields: EntryFields,
  reason: string,
  ctx: ChangeContext,
): Change {
  const changes = new LedgerChanges(entries, ctx);
  const target = changes.index.find(ref);
  changes.update(target.entryId, fields, "updated", reason);
  const entry = changes.adoptIfComplete(target.entryId, reason);
  return { entry, writes: changes.writes() };
}

/** Flag (compromised: revoked at the next sweep, and whenever seen again) or retire (no longer needed). */
export function setStatus(
  entries: readonly LedgerEntry[],
  ref: EntryRef,
  status: Extract<Status, "flagged" | "retired">,
  reason: string,
  ctx: ChangeContext,
): Change {
  const changes = new LedgerChanges(entries, ctx);
  const target = changes.index.find(ref);
  if (target.status === status) return { entry: target, writes: [] };
  try {
    const entry = changes.update(target.entryId, { status }, status, reason);
    return { entry, writes: changes.writes() };
  } catch (error) {
    if (!(error instanceof LifecycleError)) throw error;
    throw new LedgerOpError(
      target.status === "flagged"
        ? `entry ${target.entryId} is flagged as compromised; a flagged token is not ${status}`
        : `entry ${target.entryId} is ${target.status}; it cannot be ${status}`,
    );
  }
}

/** The entry a request is about: by request id, else the ledger's matcher. */
function entryForRequest(changes: LedgerChanges, request: PatRequest): LedgerEntry | undefined {
  return changes.all().find((e) => e.requestId === request.requestId) ?? changes.index.match(request);
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
): Change {
  const changes = new LedgerChanges(entries, ctx);
  let entry = entryForRequest(changes, request);
  if (!entry) {
    entry = changes.create(
      requestedEntry(changes, request, ctx.now),
      "requested",
      `access requested on GitHub (request ${request.requestId})`,
    );
  }
  const patch: EntryFields =
    decision === "approve" ? { ...fields, approvedBy: fields.approvedBy ?? ctx.actor } : { ...fields };
  if (decision === "approve") {
    const missing = missingForApproval({ ...entry, ...patch });
    if (missing.length > 0) {
      throw new IncompleteEntryError(
        `request ${request.requestId} cannot be approved while its ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} empty (the runbook requires both)`,
        missing,
      );
    }
  }
  const action = decision === "approve" ? "approving" : "denying";
  const before = entry;
  // A token revoked or gone that is requested again is a request once more.
  entry = changes.update(
    entry.entryId,
    { ...patch, ...(isLive(entry.status) ? {} : { status: "requested" }) },
    action,
    reason,
  );
  // Nothing to change is still a decision on record: the intent is an event either way.
  if (entry === before) changes.note(entry.entryId, action, reason);
  return { entry: changes.existing(entry.entryId), writes: changes.writes() };
}

/**
 * Step two, once GitHub has the decision: the entry says approved (active) or denied (gone), and by whom.
 * The decision is always on record, even when the entry already said so.
 */
export function completeReview(
  entries: readonly LedgerEntry[],
  entryId: string,
  decision: "approve" | "deny",
  reason: string,
  ctx: ChangeContext,
): EntryWrite[] {
  const changes = new LedgerChanges(entries, ctx);
  const action = decision === "approve" ? "approved" : "denied";
  const why = `${action} on GitHub by ${ctx.actor}${reason ? `: ${reason}` : ""}`;
  const before = changes.existing(entryId);
  // A pending request becomes active or gone; an entry a person flagged or retired meanwhile stays so.
  const status: Status =
    before.status !== "requested" ? before.status : decision === "approve" ? "active" : "gone";
  const after = changes.update(entryId, { status }, action, why);
  if (after === before) changes.note(entryId, action, why);
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
      .filter((e) => isLive(e.status) && e.status !== "unregistered" && e.status !== "requested")
      .map((e) => ({
        ...pick(e),
        missing: missingForRegistration(e),
      }))
      .filter((e) => e.missing.length > 0)
      .sort(byName),
    pendingRequests: entries
      .filter((e) => e.status === "requested")
      .map((e) => ({ ...pick(e), requestId: e.requestId }))
      .sort(byName),
  };
}
