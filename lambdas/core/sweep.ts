import { formatPermissions, formatScope, permissionDrift, selectionExceeds } from "./ledger/access";
import { type ChangeContext, discoveredEntry, LedgerChanges, requestedEntry } from "./ledger/changes";
import { newEntry } from "./ledger/fields";
import { entryIdForToken, isClassicEntry } from "./ledger/ids";
import { isLive, LifecycleError } from "./ledger/lifecycle";
import { LedgerIndex } from "./ledger/match";
import type { Policy } from "./policy";
import type {
  Alert,
  AlertKind,
  EntryWrite,
  Grant,
  HeldRevocation,
  LedgerEntry,
  PatRequest,
  Revocation,
  RevokeReason,
  Status,
} from "./types";

/**
 * The sweep's every rule, in one pure function: grants, pending requests and the ledger in, a plan out.
 * No I/O, no clock: `now` is a parameter, so each rule is testable with plain data.
 */

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface SweepInput {
  org: string;
  grants: readonly Grant[];
  requests: readonly PatRequest[];
  ledger: readonly LedgerEntry[];
  policy: Policy;
  now: Date;
  runId: string;
  /** Who the ledger records as having made the sweep's changes. */
  actor: string;
  /**
   * The listing is not believed (see core/listing.ts): no entry is taken for gone or its revocation
   * confirmed because it was not listed.
   */
  suspectListing?: boolean;
}

export interface SweepPlan {
  /** Ledger writes to make before any revocation: new and updated entries, and each revocation's intent. */
  writes: EntryWrite[];
  revocations: Revocation[];
  held: HeldRevocation[];
  /** Alerts not delivered before. Remember them (`markAlertsDelivered`) only once Slack has them. */
  alerts: Alert[];
  /**
   * Expiry warnings the owner has not been told of directly, on entries that say how to reach them (a
   * Slack id, or an email to look one up by). Remember each (`markOwnersTold`) once it is sent.
   */
  ownerNotices: Alert[];
  /** The ledger as it will be once `writes` are made. */
  entries: LedgerEntry[];
  scanned: number;
}

/** Warnings an owner is told of directly, as well as the team: their token is running out. */
export const OWNER_NOTICE_KINDS: ReadonlySet<AlertKind> = new Set<AlertKind>([
  "expiring",
  "expired-awaiting-renewal",
]);

/** Where an owner's notice is remembered in `alertsSent`: apart from the digest's, as each is said once. */
export function ownerNoticeKey(alertKey: string): string {
  return `dm:${alertKey}`;
}

/** Revoked or gone: the token's story is over, unless it is granted access again. */
function isTerminal(status: Status): boolean {
  return !isLive(status);
}
/** Reasons that mean the token itself is not to be trusted: should it come back, it is revoked again. */
const COMPROMISED: ReadonlySet<RevokeReason | null> = new Set(["flagged", "on-demand", "leaked"]);
/**
 * The operator's way past the cap, named wherever a held night is reported: the cap is a circuit breaker
 * (a night over it revokes none of its policy-driven revocations), and one person's decision opens it.
 */
export function releaseCommand(org: string, count: number): string {
  return `patrol sweep --org ${org} --allow-revocations ${count} --by YOU`;
}

/** Policy-driven revocations beyond the cap are held; a compromise response never waits. */
export const NEVER_HELD: ReadonlySet<RevokeReason> = new Set(["flagged", "on-demand", "leaked"]);
/** When several rules want a token revoked, the first of these is the reason recorded. */
const REASON_ORDER: RevokeReason[] = [
  "flagged",
  "leaked",
  "on-demand",
  "not-needed",
  "expired",
  "unregistered",
  "permission-drift",
  "no-expiry",
  "over-lifetime",
  "unused",
];

function day(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** `2026-11-22T03:00:00.000Z` → `2026-11-22`: how dates read in a report or a Slack line. */
function dateOf(iso: string | null): string {
  return iso ? iso.slice(0, 10) : "an unknown date";
}

/** Epoch ms of an ISO date, or null if there is none or it cannot be read. */
function isoOrNull(value: string | null): number | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/** What the rules say about one listed grant. */
interface Verdict {
  revoke: { reason: RevokeReason; detail: string }[];
  alerts: Omit<Alert, "entryId" | "tokenId" | "tokenName" | "owner" | "slack">[];
}

/** Applies DESIGN.md's table to one grant and its ledger entry (already matched and brought up to date). */
export function judgeGrant(grant: Grant, entry: LedgerEntry, policy: Policy, now: Date): Verdict {
  const verdict: Verdict = { revoke: [], alerts: [] };
  const nowMs = now.getTime();
  const expiresMs = isoOrNull(grant.tokenExpiresAt);
  const expired = grant.tokenExpired || (expiresMs !== null && expiresMs <= nowMs);
  const alert = (kind: AlertKind, key: string, detail: string, extra: Partial<Alert> = {}) =>
    verdict.alerts.push({ kind, key, detail, ...extra });

  if (entry.status === "flagged") {
    verdict.revoke.push({ reason: "flagged", detail: "flagged as compromised in the ledger" });
  }
  const pending = entry.pendingRevocation;
  if (pending && NEVER_HELD.has(pending.reason) && pending.patId === grant.patId) {
    // A compromise response in flight (an on-demand revocation that did not finish) is finished here.
    verdict.revoke.push({ reason: pending.reason, detail: pending.detail });
  }
  if (entry.status === "revoked" && entry.patId === grant.patId) {
    // GitHub's bulk revocation is asynchronous: the grant patrol revoked is still listed, so revoke it again.
    const reason = entry.revokedReason ?? "flagged";
    verdict.revoke.push({ reason, detail: "revoked before, but the grant is still listed" });
  }
  if (entry.status === "retired" && policy.revoke.notNeeded) {
    verdict.revoke.push({ reason: "not-needed", detail: "retired in the ledger" });
  }
  const neededUntilMs = isoOrNull(entry.neededUntil);
  if (neededUntilMs !== null && neededUntilMs <= nowMs && policy.revoke.notNeeded) {
    verdict.revoke.push({ reason: "not-needed", detail: `needed only until ${dateOf(entry.neededUntil)}` });
  }

  if (expired) {
    const when = dateOf(grant.tokenExpiresAt);
    if (entry.renew) {
      alert(
        "expired-awaiting-renewal",
        `awaiting-renewal:${grant.tokenExpiresAt}`,
        `expired ${when}; renewal expected`,
      );
    } else if (policy.revoke.expired) {
      verdict.revoke.push({ reason: "expired", detail: `expired ${when} and not marked for renewal` });
    }
  } else if (expiresMs !== null) {
    const msLeft = expiresMs - nowMs;
    const threshold = policy.expiryWarningDays.find((days) => msLeft <= days * DAY_MS);
    if (threshold !== undefined) {
      const daysLeft = Math.ceil(msLeft / DAY_MS);
      alert(
        "expiring",
        `expiring:${grant.tokenExpiresAt}:${threshold}`,
        `expires ${dateOf(grant.tokenExpiresAt)}`,
        {
          daysLeft,
        },
      );
    }
  }

  if (entry.status === "unregistered") {
    alert("unregistered", `unregistered:${grant.patId}`, "not in the ledger of approved tokens");
    const seenMs = isoOrNull(entry.firstSeenAt) ?? nowMs;
    if (policy.revoke.unregistered && nowMs - seenMs >= policy.unregisteredGraceDays * DAY_MS) {
      verdict.revoke.push({
        reason: "unregistered",
        detail: `unregistered for ${policy.unregisteredGraceDays} days or more`,
      });
    }
  }

  const lastUsedMs = isoOrNull(grant.tokenLastUsedAt) ?? isoOrNull(grant.accessGrantedAt);
  if (lastUsedMs !== null && nowMs - lastUsedMs >= policy.unusedDays * DAY_MS) {
    const detail = grant.tokenLastUsedAt
      ? `last used ${dateOf(grant.tokenLastUsedAt)}`
      : `never used since access was granted ${dateOf(grant.accessGrantedAt)}`;
    alert("unused", `unused:${grant.tokenLastUsedAt ?? "never"}`, detail);
    if (policy.revoke.unused) verdict.revoke.push({ reason: "unused", detail });
  }

  if (expiresMs === null) {
    alert("no-expiry", "no-expiry", "the token never expires");
    if (policy.revoke.noExpiry)
      verdict.revoke.push({ reason: "no-expiry", detail: "the token never expires" });
  } else {
    const startMs = isoOrNull(entry.createdAt) ?? isoOrNull(grant.accessGrantedAt);
    const lifetimeDays = startMs === null ? 0 : (expiresMs - startMs) / DAY_MS;
    if (lifetimeDays > policy.maxLifetimeDays) {
      const detail = `lifetime of ${Math.round(lifetimeDays)} days exceeds the ${policy.maxLifetimeDays}-day maximum`;
      alert("over-lifetime", `over-lifetime:${grant.tokenExpiresAt}`, detail);
      if (policy.revoke.overLifetime) verdict.revoke.push({ reason: "over-lifetime", detail });
    }
  }

  const drift =
    Object.keys(entry.permissions).length > 0 ? permissionDrift(grant.permissions, entry.permissions) : [];
  if (selectionExceeds(grant.repositorySelection, entry.scope)) {
    drift.push(
      `repositories: ${grant.repositorySelection} > ${entry.scope ? formatScope(entry.scope) : "none"}`,
    );
  }
  if (drift.length > 0) {
    const detail = `beyond what was approved: ${drift.join(", ")}`;
    alert(
      "permission-drift",
      `drift:${grant.repositorySelection}:${formatPermissions(grant.permissions)}`,
      detail,
    );
    if (policy.revoke.permissionDrift) verdict.revoke.push({ reason: "permission-drift", detail });
  }

  verdict.revoke.sort((a, b) => REASON_ORDER.indexOf(a.reason) - REASON_ORDER.indexOf(b.reason));
  return verdict;
}

/** How a listed token found its entry: by token id or name (the entry is the token's), or by renewal. */
type Match = { entry: LedgerEntry; how: "known" | "renewal" };

/**
 * Matches grants and requests to entries with the ledger's matcher (token id, else owner and name). On top
 * of it, the sweep's one rule of its own: a token whose entry expects renewal, and whose own token has
 * expired or gone, is renewed by a new token of the same owner and name.
 */
class Matcher {
  /** Entries already handed to a new token by renewal: each hands itself on once. */
  private readonly claimed = new Set<string>();

  constructor(
    private readonly changes: LedgerChanges,
    private readonly isLiveToken: (tokenId: number) => boolean,
  ) {}

  match(tokenId: number, owner: string, tokenName: string): Match | null {
    const index = this.changes.index;
    // A token's own entry is its own, even when that entry is handing its registration to a successor.
    const known = index.match({ tokenId, owner, tokenName });
    if (known) return { entry: known, how: "known" };
    // Only an approved token that ran its course is renewed: never a flagged, retired or revoked one.
    const renewable = index
      .withName(owner, tokenName)
      .find(
        (e) =>
          e.tokenId !== null &&
          e.tokenId !== tokenId &&
          e.renew &&
          (e.status === "active" || e.status === "gone") &&
          !this.claimed.has(e.entryId) &&
          !this.isLiveToken(e.tokenId),
      );
    if (!renewable) return null;
    this.claimed.add(renewable.entryId);
    return { entry: renewable, how: "renewal" };
  }
}

function isExpired(grant: Grant, now: Date): boolean {
  const expiresMs = isoOrNull(grant.tokenExpiresAt);
  return grant.tokenExpired || (expiresMs !== null && expiresMs <= now.getTime());
}

export function planSweep(input: SweepInput): SweepPlan {
  const { org, grants, requests, policy, now, runId, actor } = input;
  const nowIso = now.toISOString();
  const ctx: ChangeContext = { org, now, actor, writer: "sweep", runId };
  const changes = new LedgerChanges(input.ledger, ctx);
  const liveTokens = new Set(grants.filter((g) => !isExpired(g, now)).map((g) => g.tokenId));
  const matcher = new Matcher(changes, (tokenId) => liveTokens.has(tokenId));
  const wanted: Revocation[] = [];
  const alerts: Alert[] = [];
  const ownerNotices: Alert[] = [];

  const pushAlerts = (entry: LedgerEntry, drafts: Verdict["alerts"]) => {
    for (const draft of drafts) {
      const alert: Alert = {
        ...draft,
        entryId: entry.entryId,
        tokenId: entry.tokenId,
        tokenName: entry.tokenName,
        owner: entry.owner,
        slack: entry.slack,
      };
      if (!entry.alertsSent[draft.key]) alerts.push(alert);
      const reachable = entry.slack !== "" || entry.email !== "";
      if (OWNER_NOTICE_KINDS.has(draft.kind) && reachable && !entry.alertsSent[ownerNoticeKey(draft.key)])
        ownerNotices.push(alert);
    }
  };

  // Every grant and request is matched (and the ledger brought up to date) before any rule is applied:
  // a renewal found late in the list changes how an earlier token is judged.
  const grantEntries = grants.map((grant) => reconcileGrant(changes, matcher, grant, ctx));
  const requestEntries = requests.map((request) => reconcileRequest(changes, matcher, request, ctx));
  const seen = new Set([...grantEntries, ...requestEntries]);

  grants.forEach((grant, i) => {
    const entryId = grantEntries[i] ?? "";
    let entry = changes.existing(entryId);
    const verdict = judgeGrant(grant, entry, policy, now);
    const decided = verdict.revoke[0];
    if (decided) {
      wanted.push({
        entryId,
        patId: grant.patId,
        tokenId: grant.tokenId,
        tokenName: grant.tokenName,
        owner: grant.owner,
        ...decided,
      });
    } else {
      if (entry.pendingRevocation) {
        entry = changes.update(
          entryId,
          { pendingRevocation: null },
          "revocation-abandoned",
          "the rules no longer call for revoking this token",
        );
      }
      pushAlerts(entry, verdict.alerts);
    }
  });

  requests.forEach((request, i) => {
    const entry = changes.existing(requestEntries[i] ?? "");
    const waitedMs = now.getTime() - (isoOrNull(request.createdAt) ?? now.getTime());
    if (waitedMs > policy.requestWaitHours * HOUR_MS) {
      const hours = Math.floor(waitedMs / HOUR_MS);
      pushAlerts(entry, [
        {
          kind: "request-waiting",
          key: `request-waiting:${day(now)}`,
          detail: `request ${request.requestId} waiting ${hours < 48 ? `${hours} hours` : `${Math.floor(hours / 24)} days`}${request.reason ? `: “${request.reason}”` : ""}`,
        },
      ]);
    }
  });

  if (!input.suspectListing) closeVanished(changes, seen, ctx);

  // The cap: above it, policy-driven revocations are held; a compromise response is revoked regardless.
  const policyDriven = wanted.filter((r) => !NEVER_HELD.has(r.reason));
  const overCap = policyDriven.length > policy.maxRevocationsPerRun;
  const revocations: Revocation[] = [];
  const held: HeldRevocation[] = [];
  for (const revocation of wanted) {
    const heldBy =
      policy.mode === "report" ? "report-mode" : overCap && !NEVER_HELD.has(revocation.reason) ? "cap" : null;
    if (heldBy) {
      held.push({ ...revocation, heldBy });
      const why =
        heldBy === "cap"
          ? `held: ${policyDriven.length} revocations exceed the cap of ${policy.maxRevocationsPerRun}, so all are held (${releaseCommand(org, policyDriven.length)} releases them)`
          : "report mode: would be revoked";
      pushAlerts(changes.existing(revocation.entryId), [
        {
          kind: "held",
          key: `held:${day(now)}`,
          detail: `${why} (${revocation.reason}: ${revocation.detail})`,
          reason: revocation.reason,
        },
      ]);
      continue;
    }
    // The reason goes into the ledger before the revocation call, so a crash in between loses nothing.
    changes.update(
      revocation.entryId,
      {
        pendingRevocation: {
          reason: revocation.reason,
          detail: revocation.detail,
          patId: revocation.patId,
          at: nowIso,
          by: actor,
          runId,
        },
      },
      "revoke-intent",
      `${revocation.reason}: ${revocation.detail}`,
    );
    revocations.push(revocation);
  }

  // Revocations whose Slack notice never went out (Slack was down) are announced late rather than never.
  for (const entry of changes.all()) {
    if (!entry.revokedAt || entry.revokedBy !== actor) continue;
    // The age first: it rules out most of the ledger's history without building the alert key.
    if (now.getTime() - Date.parse(entry.revokedAt) > 7 * DAY_MS) continue;
    const key = `revoked:${entry.revokedAt}`;
    if (entry.alertsSent[key]) continue;
    alerts.push({
      kind: "revoked",
      key,
      entryId: entry.entryId,
      tokenId: entry.tokenId,
      tokenName: entry.tokenName,
      owner: entry.owner,
      slack: entry.slack,
      detail: `revoked ${entry.revokedAt}: ${entry.revokedReason ?? "unknown"}${entry.revokedDetail ? `: ${entry.revokedDetail}` : ""}`,
      ...(entry.revokedReason ? { reason: entry.revokedReason } : {}),
    });
  }

  return {
    writes: changes.writes(),
    revocations,
    held,
    alerts,
    ownerNotices,
    entries: changes.all(),
    scanned: grants.length,
  };
}

/** Finds or creates the grant's entry and brings its GitHub-side facts up to date; returns its id. */
function reconcileGrant(changes: LedgerChanges, matcher: Matcher, grant: Grant, ctx: ChangeContext): string {
  const found = matcher.match(grant.tokenId, grant.owner, grant.tokenName);
  if (!found) {
    return changes.create(
      discoveredEntry(changes, grant, ctx.now),
      "discovered",
      "a grant in the organization with no ledger entry",
    ).entryId;
  }
  const { entry, how } = found;
  if (how === "renewal") {
    return renewEntry(changes, entry, ctx, {
      tokenId: grant.tokenId,
      patId: grant.patId,
      tokenName: grant.tokenName,
      owner: grant.owner,
      expiresAt: grant.tokenExpiresAt,
      status: "active",
    });
  }
  const id = entry.entryId;
  if (entry.tokenId === null) {
    changes.update(
      id,
      { tokenId: grant.tokenId },
      "matched",
      "matched by owner and token name; token id learned",
    );
  }
  // Most nights nothing GitHub lists has changed: skip building a patch for the common case.
  const current = changes.existing(id);
  if (
    current.patId !== grant.patId ||
    current.tokenName !== grant.tokenName ||
    current.expiresAt !== grant.tokenExpiresAt ||
    current.firstSeenAt === null
  ) {
    changes.update(
      id,
      {
        patId: grant.patId,
        tokenName: grant.tokenName,
        expiresAt: grant.tokenExpiresAt,
        firstSeenAt: current.firstSeenAt ?? ctx.now.toISOString(),
      },
      "synced",
      "facts as GitHub lists them",
    );
  }

  if (entry.status === "requested") {
    changes.update(id, { status: "active" }, "approved", "the request was approved on GitHub");
  } else if (entry.status === "gone") {
    // A finding, not a verdict: the grant is listed again, so the entry returns to judgement as it was.
    const back = returnFromGone(entry);
    changes.update(
      id,
      { status: back },
      "listed-again",
      `grant ${grant.patId} is listed again; back to ${back}`,
    );
  } else if (entry.status === "revoked" && entry.patId !== grant.patId) {
    // Granted access again after being revoked. A token revoked as compromised is revoked again; any other
    // must be approved in the ledger anew.
    const compromised = COMPROMISED.has(entry.revokedReason);
    changes.update(
      id,
      { status: compromised ? "flagged" : "unregistered", pendingRevocation: null },
      "reappeared",
      `granted access again (grant ${grant.patId}) after being revoked${compromised ? ` (${entry.revokedReason})` : ""}`,
    );
  }
  return id;
}

/** The status a `gone` entry returns to: the one it left, or (for entries older than `goneFrom`) what its
 * registration says. A compromised token's entry comes back flagged. */
function returnFromGone(entry: LedgerEntry): Status {
  if (COMPROMISED.has(entry.revokedReason)) return "flagged";
  if (entry.goneFrom && entry.goneFrom !== "gone" && entry.goneFrom !== "revoked") {
    return entry.goneFrom === "requested" ? "active" : entry.goneFrom;
  }
  return entry.approvedBy.trim() ? "active" : "unregistered";
}

/**
 * A new token replaces one whose entry expected renewal: the new token inherits the registration, and the
 * old entry stops expecting renewal, so its expired token is revoked like any other. Returns the new id.
 */
function renewEntry(
  changes: LedgerChanges,
  old: LedgerEntry,
  ctx: ChangeContext,
  token: Pick<LedgerEntry, "tokenName" | "owner" | "expiresAt" | "status"> &
    Partial<LedgerEntry> & { tokenId: number },
): string {
  const { purpose, scope, permissions, approvedBy, risks, neededUntil, slack, notes } = old;
  const renewed = changes.create(
    newEntry({
      org: ctx.org,
      entryId: changes.freeId(entryIdForToken(token.tokenId)),
      firstSeenAt: ctx.now.toISOString(),
      renew: true,
      ...{ purpose, scope, permissions, approvedBy, risks, neededUntil, slack, notes },
      ...token,
    }),
    "renewal",
    `renews token ${old.tokenId} (entry ${old.entryId}), whose registration it inherits`,
  );
  changes.update(old.entryId, { renew: false }, "renewed", `renewed by token ${token.tokenId}`);
  return renewed.entryId;
}

/** Pulls a pending request into the ledger as `requested`, its stated reason kept as the purpose. */
function reconcileRequest(
  changes: LedgerChanges,
  matcher: Matcher,
  request: PatRequest,
  ctx: ChangeContext,
): string {
  const found = matcher.match(request.tokenId, request.owner, request.tokenName);
  if (!found) {
    return changes.create(
      requestedEntry(changes, request, ctx.now),
      "requested",
      `access requested on GitHub (request ${request.requestId})`,
    ).entryId;
  }
  const { entry, how } = found;
  const fromRequest = requestedEntry(changes, request, ctx.now);
  if (how === "renewal") {
    return renewEntry(changes, entry, ctx, {
      // What the old registration lacks, the request's own details fill in.
      ...(entry.purpose ? {} : { purpose: fromRequest.purpose }),
      ...(Object.keys(entry.permissions).length > 0 ? {} : { permissions: request.permissions }),
      tokenId: request.tokenId,
      requestId: request.requestId,
      tokenName: request.tokenName,
      owner: request.owner,
      expiresAt: request.tokenExpiresAt,
      status: "requested",
    });
  }
  const patch: Partial<LedgerEntry> = {
    tokenId: request.tokenId,
    requestId: request.requestId,
    expiresAt: request.tokenExpiresAt,
    firstSeenAt: entry.firstSeenAt ?? ctx.now.toISOString(),
  };
  if (!entry.purpose && fromRequest.purpose) patch.purpose = fromRequest.purpose;
  if (Object.keys(entry.permissions).length === 0) patch.permissions = request.permissions;
  // Requested again after being revoked or gone: a compromised token comes back flagged, any other as a request.
  if (isTerminal(entry.status)) patch.status = COMPROMISED.has(entry.revokedReason) ? "flagged" : "requested";
  changes.update(
    entry.entryId,
    patch,
    "requested",
    `access requested on GitHub (request ${request.requestId})`,
  );
  return entry.entryId;
}

// ---------------------------------------------------------------------------------------------------------
// Between sweeps: one request's news (a GitHub webhook), decided by the sweep's own matching

/** What GitHub said happened to one request. `by` is who did it on GitHub (requester or reviewer). */
export type RequestEvent =
  | { action: "created"; request: PatRequest }
  | { action: "approved"; request: PatRequest; by: string }
  | { action: "denied" | "cancelled"; request: PatRequest; by: string };

export interface RequestEventPlan {
  writes: EntryWrite[];
  /** The request's entry, when it has (or now gets) one. */
  entryId: string | null;
  /** What became of the event, in a sentence: for the log and the delivery's answer. */
  outcome: string;
}

/**
 * Token ids whose grants decide how a request of `owner`'s `tokenName` matches: an entry of that name whose
 * token has run its course is renewed by the new token. A one-off writer lists these grants (one call,
 * filtered by token id) so that it matches as the sweep would.
 */
export function renewalTokenIds(entries: readonly LedgerEntry[], owner: string, tokenName: string): number[] {
  return new LedgerIndex(entries)
    .withName(owner, tokenName)
    .flatMap((e) => (e.tokenId === null ? [] : [e.tokenId]));
}

/**
 * A request's news applied to the ledger between sweeps, by the sweep's own rules: a new request is pulled
 * in (or renews an entry) as the sweep would pull it in; an approval makes the entry follow its grant; a
 * denial or withdrawal closes the entry as `gone` with the reason. `grants` are GitHub's grants for the
 * tokens involved (`renewalTokenIds`, and the request's own token after an approval). Anything the
 * lifecycle does not let this writer do is left to the next sweep, which sees the whole org.
 */
export function planRequestEvent(
  entries: readonly LedgerEntry[],
  event: RequestEvent,
  grants: readonly Grant[],
  ctx: ChangeContext,
): RequestEventPlan {
  const changes = new LedgerChanges(entries, ctx);
  const live = new Set(grants.filter((g) => !isExpired(g, ctx.now)).map((g) => g.tokenId));
  const matcher = new Matcher(changes, (tokenId) => live.has(tokenId));
  const { request } = event;
  const id = request.requestId;
  try {
    if (event.action === "created") {
      const entryId = reconcileRequest(changes, matcher, request, ctx);
      return { writes: changes.writes(), entryId, outcome: `request ${id} recorded in ${entryId}` };
    }
    if (event.action === "approved") {
      const grant = grants.find((g) => g.tokenId === request.tokenId);
      if (!grant) {
        const known = changes.index.match(request);
        return {
          writes: [],
          entryId: known?.entryId ?? null,
          outcome: `request ${id} approved, but GitHub does not list its grant yet: the next sweep records it`,
        };
      }
      const entryId = reconcileGrant(changes, matcher, grant, ctx);
      return {
        writes: changes.writes(),
        entryId,
        outcome: `request ${id} approved by ${event.by}: ${entryId} follows grant ${grant.patId}`,
      };
    }
    const known = changes.index.match(request);
    const entryId = known?.entryId ?? reconcileRequest(changes, matcher, request, ctx);
    const entry = changes.existing(entryId);
    if (entry.status !== "requested" || (entry.requestId !== null && entry.requestId !== id)) {
      return {
        writes: changes.writes(),
        entryId,
        outcome: `request ${id} ${event.action}, but ${entryId} is ${entry.status}${entry.requestId !== id ? ` (request ${entry.requestId})` : ""}: nothing to close`,
      };
    }
    changes.update(
      entryId,
      { status: "gone", requestId: id },
      event.action,
      event.action === "denied"
        ? `request ${id} denied on GitHub by ${event.by}`
        : `request ${id} withdrawn by its requester (${event.by})`,
    );
    return {
      writes: changes.writes(),
      entryId,
      outcome: `request ${id} ${event.action}: ${entryId} is gone`,
    };
  } catch (error) {
    if (!(error instanceof LifecycleError)) throw error;
    return {
      writes: [],
      entryId: null,
      outcome: `request ${id} ${event.action}: left to the next sweep (${error.message})`,
    };
  }
}

/**
 * A revocation carried out, as the entry records it (fine-grained grant or classic authorization alike):
 * the reason, when and by whom; a flagged token stays flagged, so that it is revoked again should it come
 * back. The in-flight intent is cleared.
 */
export function revokedFields(
  entry: LedgerEntry,
  reason: RevokeReason,
  detail: string,
  at: string,
  by: string,
): Partial<LedgerEntry> {
  return {
    status: entry.status === "flagged" ? "flagged" : "revoked",
    revokedReason: reason,
    revokedDetail: detail,
    revokedAt: at,
    revokedBy: by,
    pendingRevocation: null,
  };
}

/**
 * A token no longer listed whose revocation by patrol was in flight: the revocation is confirmed, as its
 * intent recorded it (the reason, who asked). True when there was one. One rule for grants and classic
 * authorizations alike.
 */
export function confirmInFlight(
  changes: LedgerChanges,
  entry: LedgerEntry,
  nowIso: string,
  why: (id: number) => string,
): boolean {
  const pending = entry.pendingRevocation;
  if (!pending) return false;
  changes.update(
    entry.entryId,
    revokedFields(entry, pending.reason, pending.detail, nowIso, pending.by),
    "revoked",
    why(pending.patId),
  );
  return true;
}

/**
 * Entries whose grant or request is not listed: `revoked` if patrol's revocation was in flight, else `gone`
 * (a request denied or withdrawn, a grant removed, a token id the org never showed).
 */
function closeVanished(changes: LedgerChanges, seen: ReadonlySet<string>, ctx: ChangeContext): void {
  const nowIso = ctx.now.toISOString();
  for (const entry of changes.all()) {
    if (seen.has(entry.entryId) || isTerminal(entry.status)) continue;
    // A classic PAT is never in the fine-grained listing: its own step (core/classic.ts) closes it.
    if (isClassicEntry(entry.entryId)) continue;
    if (
      confirmInFlight(changes, entry, nowIso, (id) => `revocation confirmed: grant ${id} is no longer listed`)
    ) {
      continue;
    }
    if (entry.status === "requested") {
      if (entry.requestId === null) continue;
      changes.update(
        entry.entryId,
        { status: "gone" },
        "gone",
        "the request is no longer pending and no grant exists (denied or withdrawn)",
      );
    } else if (entry.status !== "flagged" && (entry.patId !== null || entry.tokenId !== null)) {
      changes.update(
        entry.entryId,
        { status: "gone" },
        "gone",
        entry.patId !== null
          ? "the grant is no longer listed (expired and removed, revoked outside patrol, or deleted by its owner)"
          : `token ${entry.tokenId} has no grant or request in the organization`,
      );
    }
  }
}

/** An alert as a digest carried it: enough to remember it as sent (a pending digest keeps these). */
export type CarriedAlert = Pick<Alert, "entryId" | "key" | "kind" | "detail">;

/** Outcome of carrying out the plan's revocations, per grant id. */
export interface RevocationOutcome {
  patId: number;
  ok: boolean;
  error?: string;
}

/**
 * After the revocation calls: confirmed ones become `revoked` with reason, actor and time (a flagged entry
 * stays flagged); failed ones keep their intent, so the next run tries again. Decided on the entries as
 * they stand, so a caller may decide again on a fresher read.
 */
export function completeRevocations(
  entries: readonly LedgerEntry[],
  revocations: readonly Revocation[],
  outcomes: readonly RevocationOutcome[],
  ctx: ChangeContext,
): { writes: EntryWrite[]; alerts: Alert[] } {
  const changes = new LedgerChanges(entries, ctx);
  const byPat = new Map(outcomes.map((o) => [o.patId, o]));
  const alerts: Alert[] = [];
  const nowIso = ctx.now.toISOString();
  for (const revocation of revocations) {
    const before = changes.get(revocation.entryId);
    if (!before) continue;
    const outcome = byPat.get(revocation.patId);
    const pending = before.pendingRevocation;
    if (pending?.runId !== ctx.runId || pending.patId !== revocation.patId) {
      // Another writer finished or replaced this revocation meanwhile (an on-demand revocation, say): its
      // record stands, and a compromise reason is never rewritten as a policy one.
      changes.note(
        revocation.entryId,
        "revoke-outcome",
        `grant ${revocation.patId}: ${outcome?.ok ? "revoked" : (outcome?.error ?? "no outcome")}; the entry's own record (${before.status}${before.revokedReason ? `, ${before.revokedReason}` : ""}) is kept`,
      );
      continue;
    }
    if (!outcome?.ok) {
      changes.note(
        revocation.entryId,
        "revoke-failed",
        `${outcome?.error ?? "no outcome"}; the next run tries again`,
      );
      continue;
    }
    const entry = changes.update(
      revocation.entryId,
      revokedFields(before, revocation.reason, revocation.detail, nowIso, ctx.actor),
      "revoked",
      `${revocation.reason}: ${revocation.detail}`,
    );
    alerts.push({
      kind: "revoked",
      key: `revoked:${nowIso}`,
      entryId: entry.entryId,
      tokenId: entry.tokenId,
      tokenName: entry.tokenName,
      owner: entry.owner,
      slack: entry.slack,
      detail: `${revocation.reason}: ${revocation.detail}`,
      reason: revocation.reason,
    });
  }
  return { writes: changes.writes(), alerts };
}

/**
 * Once Slack has them: each digest alert remembered in its entry so it is never sent twice, and each owner
 * told by DM (or found not to be in Slack) remembered as `ownerNoticeKey`, with a Slack id found by email
 * kept in `slack`, so the digest mentions the owner too and no one is looked up twice. One write an entry.
 */
export function markAlertsDelivered(
  entries: readonly LedgerEntry[],
  alerts: readonly CarriedAlert[],
  ctx: ChangeContext,
  owners: readonly OwnerTold[] = [],
): EntryWrite[] {
  const changes = new LedgerChanges(entries, ctx);
  const nowIso = ctx.now.toISOString();
  const byEntry = new Map<string, CarriedAlert[]>();
  for (const alert of alerts) byEntry.set(alert.entryId, [...(byEntry.get(alert.entryId) ?? []), alert]);
  for (const [entryId, delivered] of byEntry) {
    const entry = changes.get(entryId);
    if (!entry) continue;
    // Remembered already (a digest settled late whose alerts were partly remembered): nothing to change.
    const fresh = delivered.filter((a) => !entry.alertsSent[a.key]);
    if (fresh.length === 0) continue;
    const alertsSent = { ...entry.alertsSent };
    for (const alert of fresh) alertsSent[alert.key] = nowIso;
    changes.update(entryId, { alertsSent }, "alerted", fresh.map((a) => `${a.kind}: ${a.detail}`).join("; "));
  }
  for (const notice of owners) {
    const entry = changes.get(notice.entryId);
    if (!entry) continue;
    if (notice.found && entry.slack === "") {
      changes.update(
        notice.entryId,
        { slack: notice.found },
        "slack-found",
        "found in Slack by the owner's email",
      );
    }
    const key = ownerNoticeKey(notice.key);
    const now = changes.existing(notice.entryId);
    if (now.alertsSent[key]) continue;
    changes.update(
      notice.entryId,
      { alertsSent: { ...now.alertsSent, [key]: nowIso } },
      "owner-told",
      notice.outcome === "sent"
        ? `${notice.kind}: ${notice.detail}, told the owner by DM`
        : `${notice.kind}: ${notice.detail}; no Slack user has the owner's email (${entry.email}), so only the channel was told`,
    );
  }
  return changes.writes();
}

/** An owner's notice as it went: sent by DM, or not, since Slack has no user with the entry's email. */
export interface OwnerTold {
  entryId: string;
  /** The notice's alert key (the digest's): remembered as `ownerNoticeKey(key)`. */
  key: string;
  kind: AlertKind;
  detail: string;
  outcome: "sent" | "no-slack-user";
  /** The owner's Slack id, when it was found tonight by their email: kept, so it is looked up once. */
  found?: string;
}
