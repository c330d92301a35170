/**
 * Classic PATs in the nightly sweep. On an Enterprise Cloud org with SAML SSO, GitHub lists each classic
 * token authorized for the org's SSO (credential authorizations); patrol keeps each as an entry of its own
 * kind (`classic-<credential id>`), applies the same policy as to fine-grained tokens (no expiry, over
 * lifetime, unused, unregistered; flagged and retired entries revoked), and revokes (removes the SSO
 * authorization) only where the policy says. Pure: the sweep lists, writes and calls.
 */
import type { ChangeContext } from "./ledger/changes";
import { LedgerChanges } from "./ledger/changes";
import { newEntry } from "./ledger/fields";
import { entryIdForClassic } from "./ledger/ids";
import type { Policy } from "./policy";
import type { ClassicCredential } from "./revoke";
import { confirmInFlight, NEVER_HELD, revokedFields } from "./sweep";
import type { Alert, EntryWrite, LedgerEntry, RevokeReason } from "./types";

const DAY_MS = 86_400_000;

export interface ClassicRevocation {
  entryId: string;
  credentialId: number;
  login: string;
  lastEight: string;
  reason: RevokeReason;
  detail: string;
}

export interface ClassicPlan {
  /** Entries created and synced, and each revocation's intent: written before any call. */
  writes: EntryWrite[];
  revocations: ClassicRevocation[];
  /** Revocations the policy wants, held by report mode or the cap. */
  held: (ClassicRevocation & { heldBy: "report-mode" | "cap" })[];
  alerts: Alert[];
  /** The listing lost too many known authorizations to be believed: none was taken for gone. */
  suspect: boolean;
}

function ms(iso: string | null): number | null {
  if (!iso) return null;
  const value = Date.parse(iso);
  return Number.isNaN(value) ? null : value;
}

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : "never");

/** How a classic token reads in the ledger and the digest: its note, else its last eight characters. */
function nameOf(cred: ClassicCredential): string {
  return cred.note.trim() || `classic PAT …${cred.lastEight}`;
}

/**
 * The classic tokens GitHub lists tonight against the ledger: each gets or keeps its entry; what the
 * policy says of it is alerted once (each finding keyed like the fine-grained ones) and, where the policy
 * revokes, its revocation is decided. `room` is how many policy-driven revocations the night's cap has
 * left after the fine-grained ones. Entries of credentials no longer listed are closed as gone (or as
 * revoked, when patrol's own removal was in flight).
 */
export function planClassic(
  entries: readonly LedgerEntry[],
  credentials: readonly ClassicCredential[],
  policy: Policy,
  ctx: ChangeContext,
  room: number,
): ClassicPlan {
  const changes = new LedgerChanges(entries, ctx);
  const nowMs = ctx.now.getTime();
  const nowIso = ctx.now.toISOString();
  const wanted: ClassicRevocation[] = [];
  const alerts: Alert[] = [];
  const listed = new Set<string>();

  for (const cred of credentials) {
    const entryId = entryIdForClassic(cred.credentialId);
    listed.add(entryId);
    const classic = {
      credentialId: cred.credentialId,
      lastEight: cred.lastEight,
      scopes: [...cred.scopes],
      authorizedAt: cred.authorizedAt,
      lastAccessedAt: cred.accessedAt,
    };
    let entry = changes.get(entryId);
    if (!entry) {
      entry = changes.create(
        newEntry({
          org: ctx.org,
          entryId,
          tokenName: nameOf(cred),
          owner: cred.login,
          status: "unregistered",
          expiresAt: cred.expiresAt,
          createdAt: cred.authorizedAt,
          firstSeenAt: nowIso,
          classic,
        }),
        "discovered",
        `a classic PAT authorized for the org's SSO (credential ${cred.credentialId}, ending ${cred.lastEight}, scopes ${cred.scopes.join(", ") || "none"}) with no ledger entry`,
      );
    } else if (
      JSON.stringify(entry.classic) !== JSON.stringify(classic) ||
      entry.expiresAt !== cred.expiresAt ||
      entry.firstSeenAt === null
    ) {
      entry = changes.update(
        entryId,
        { classic, expiresAt: cred.expiresAt, firstSeenAt: entry.firstSeenAt ?? nowIso },
        "synced",
        "facts as GitHub lists the SSO authorization",
      );
    }
    const compromise =
      entry.revokedReason !== null && NEVER_HELD.has(entry.revokedReason) ? entry.revokedReason : null;
    if (entry.status === "revoked" && compromise) {
      // Removed after a compromise, and authorized again: removed again, whatever else it is.
      wanted.push(revocation(entry, cred, compromise, "removed before, but authorized again"));
      continue;
    }
    if (entry.status === "revoked" || entry.status === "gone") {
      // Authorized again after it was removed or vanished: judged anew, as it was before it vanished.
      const back =
        entry.status === "gone" && entry.goneFrom !== null && ["active", "retired"].includes(entry.goneFrom);
      entry = changes.update(
        entryId,
        { status: back ? (entry.goneFrom as "active" | "retired") : "unregistered" },
        "listed-again",
        "the classic PAT is authorized for the org's SSO again",
      );
    }

    const findings: { key: string; detail: string; reason: RevokeReason; revoke: boolean }[] = [];
    const expiresMs = ms(cred.expiresAt);
    const startMs = ms(cred.authorizedAt);
    if (expiresMs === null) {
      findings.push({
        key: "no-expiry",
        detail: "never expires",
        reason: "no-expiry",
        revoke: policy.revoke.noExpiry,
      });
    } else if (startMs !== null && (expiresMs - startMs) / DAY_MS > policy.maxLifetimeDays) {
      findings.push({
        key: `over-lifetime:${cred.expiresAt}`,
        detail: `a lifetime of ${Math.round((expiresMs - startMs) / DAY_MS)} days exceeds the ${policy.maxLifetimeDays}-day maximum`,
        reason: "over-lifetime",
        revoke: policy.revoke.overLifetime,
      });
    }
    const lastUseMs = ms(cred.accessedAt) ?? startMs;
    if (lastUseMs !== null && nowMs - lastUseMs >= policy.unusedDays * DAY_MS) {
      findings.push({
        key: `unused:${cred.accessedAt ?? "never"}`,
        detail: cred.accessedAt
          ? `last used ${day(cred.accessedAt)}`
          : `never used since authorized ${day(cred.authorizedAt)}`,
        reason: "unused",
        revoke: policy.revoke.unused,
      });
    }
    if (entry.status === "unregistered") {
      const seenMs = ms(entry.firstSeenAt) ?? nowMs;
      findings.push({
        key: "unregistered",
        detail: "not in the ledger of approved tokens",
        reason: "unregistered",
        revoke: policy.revoke.unregistered && nowMs - seenMs >= policy.unregisteredGraceDays * DAY_MS,
      });
    }
    const before = wanted.length;
    const pending = entry.pendingRevocation;
    if (entry.status === "flagged") {
      wanted.push(revocation(entry, cred, "flagged", "flagged as compromised in the ledger"));
    } else if (pending && NEVER_HELD.has(pending.reason)) {
      // A compromise response in flight (an on-demand removal that did not finish) is finished here.
      wanted.push(revocation(entry, cred, pending.reason, pending.detail));
    } else if (entry.status === "retired" && policy.revoke.notNeeded) {
      wanted.push(revocation(entry, cred, "not-needed", "retired in the ledger"));
    } else {
      const revoking = findings.find((f) => f.revoke);
      if (revoking) wanted.push(revocation(entry, cred, revoking.reason, revoking.detail));
    }
    if (wanted.length === before && pending) {
      entry = changes.update(
        entryId,
        { pendingRevocation: null },
        "revocation-abandoned",
        "the policy no longer calls for removing this classic PAT",
      );
    }
    for (const f of findings) {
      const key = `classic-${f.key}:${cred.credentialId}`;
      if (entry.alertsSent[key]) continue;
      alerts.push({
        kind: "classic",
        key,
        entryId,
        tokenId: null,
        tokenName: entry.tokenName,
        owner: entry.owner,
        slack: entry.slack,
        detail: `classic PAT ending ${cred.lastEight} (scopes ${cred.scopes.join(", ") || "none"}): ${f.detail}`,
      });
    }
  }

  // A listing that lost a large share of the authorizations the ledger knows is not believed (as the
  // fine-grained listing is not): nothing is taken for gone on its word.
  const known = changes
    .all()
    .filter((e) => e.classic !== null && e.status !== "revoked" && e.status !== "gone");
  const missing = known.filter((e) => !listed.has(e.entryId)).length;
  const suspect =
    missing >= policy.suspectListingMinimum && missing > known.length * policy.suspectListingShare;
  if (!suspect) closeUnlisted(changes, listed, ctx);

  // The cap, a circuit breaker as for fine-grained tokens: a night whose policy-driven removals exceed the
  // room the cap has left holds them all; a compromise response never waits.
  const overCap = wanted.filter((r) => !NEVER_HELD.has(r.reason)).length > room;
  const revocations: ClassicRevocation[] = [];
  const held: ClassicPlan["held"] = [];
  for (const r of wanted) {
    const neverHeld = NEVER_HELD.has(r.reason);
    const heldBy = policy.mode === "report" ? "report-mode" : !neverHeld && overCap ? "cap" : null;
    if (heldBy) {
      held.push({ ...r, heldBy });
      // An intent left from an earlier night is not a removal in flight while it is held.
      if (changes.existing(r.entryId).pendingRevocation) {
        changes.update(
          r.entryId,
          { pendingRevocation: null },
          "revocation-held",
          `held by ${heldBy === "cap" ? "the night's revocation cap" : "report mode"}`,
        );
      }
      continue;
    }
    revocations.push(r);
    changes.update(
      r.entryId,
      {
        pendingRevocation: {
          reason: r.reason,
          detail: r.detail,
          patId: r.credentialId,
          at: nowIso,
          by: ctx.actor,
          runId: ctx.runId ?? "",
        },
      },
      "revoking",
      `removing the classic PAT's SSO authorization ${r.credentialId}: ${r.reason}: ${r.detail}`,
    );
  }
  for (const h of held) {
    const key = `classic-held:${h.reason}:${h.credentialId}`;
    const entry = changes.existing(h.entryId);
    if (entry.alertsSent[key]) continue;
    alerts.push({
      kind: "classic",
      key,
      entryId: h.entryId,
      tokenId: null,
      tokenName: entry.tokenName,
      owner: entry.owner,
      slack: entry.slack,
      detail: `classic PAT ending ${h.lastEight}: would be revoked (${h.reason}: ${h.detail}), held by ${h.heldBy === "cap" ? "the night's revocation cap" : "report mode"}`,
    });
  }
  return { writes: changes.writes(), revocations, held, alerts, suspect };
}

function revocation(
  entry: LedgerEntry,
  cred: ClassicCredential,
  reason: RevokeReason,
  detail: string,
): ClassicRevocation {
  return {
    entryId: entry.entryId,
    credentialId: cred.credentialId,
    login: cred.login,
    lastEight: cred.lastEight,
    reason,
    detail,
  };
}

/** Classic entries whose authorization is no longer listed: revoked when patrol's removal was in flight, else gone. */
function closeUnlisted(changes: LedgerChanges, listed: ReadonlySet<string>, ctx: ChangeContext): void {
  const nowIso = ctx.now.toISOString();
  for (const entry of changes.all()) {
    if (entry.classic === null || listed.has(entry.entryId)) continue;
    if (entry.status === "revoked" || entry.status === "gone") continue;
    if (
      confirmInFlight(
        changes,
        entry,
        nowIso,
        (id) => `removal confirmed: SSO authorization ${id} is no longer listed`,
      )
    ) {
      continue;
    }
    if (entry.status !== "flagged") {
      changes.update(
        entry.entryId,
        { status: "gone" },
        "gone",
        "the classic PAT's SSO authorization is no longer listed (revoked, expired or deleted outside patrol)",
      );
    }
  }
}

/** After the removals: each one GitHub took is recorded as revoked, with its reason; a failed one is noted. */
export function completeClassic(
  entries: readonly LedgerEntry[],
  outcomes: readonly { revocation: ClassicRevocation; ok: boolean; error?: string }[],
  ctx: ChangeContext,
): { writes: EntryWrite[]; alerts: Alert[] } {
  const changes = new LedgerChanges(entries, ctx);
  const nowIso = ctx.now.toISOString();
  const alerts: Alert[] = [];
  for (const { revocation: r, ok, error } of outcomes) {
    const before = changes.get(r.entryId);
    if (!before) continue;
    if (!ok) {
      changes.note(r.entryId, "revoke-failed", `${error ?? "no outcome"}; the next run tries again`);
      continue;
    }
    const entry = changes.update(
      r.entryId,
      revokedFields(before, r.reason, r.detail, nowIso, ctx.actor),
      "revoked",
      `classic PAT's SSO authorization ${r.credentialId} removed: ${r.reason}: ${r.detail}`,
    );
    alerts.push({
      kind: "classic",
      // The sweep's own key for a revocation: the late notice of an unsent one looks for exactly this.
      key: `revoked:${nowIso}`,
      entryId: entry.entryId,
      tokenId: null,
      tokenName: entry.tokenName,
      owner: entry.owner,
      slack: entry.slack,
      detail: `classic PAT ending ${r.lastEight}: revoked (${r.reason}: ${r.detail})`,
      reason: r.reason,
    });
  }
  return { writes: changes.writes(), alerts };
}
