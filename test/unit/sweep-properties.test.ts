import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, type PolicyInput } from "../../lambdas/core/policy";
import {
  completeRevocations,
  DAY_MS,
  markAlertsDelivered,
  planSweep,
  type SweepInput,
} from "../../lambdas/core/sweep";
import {
  type Grant,
  type LedgerEntry,
  type PatRequest,
  type PendingRevocation,
  type RevokeReason,
  STATUSES,
} from "../../lambdas/core/types";
import {
  ACTOR,
  applyWrites,
  at,
  byEntryId,
  context,
  entry,
  NOW,
  ORG,
  perms,
  plan,
  RUN_ID,
  scope,
} from "./fixtures";

/** Few owners and names, so that matching by name (and renewal) happens often. */
const OWNERS = ["alice", "Alice", "bob"] as const;
const NAMES = ["deploy", "ci", "backup"] as const;
/** Grants hold token ids 1..20, requests 21..25: a token is either granted or requested. */
const GRANT_TOKEN_IDS = { min: 1, max: 20 };
const REQUEST_TOKEN_IDS = { min: 21, max: 25 };

const msOffset = (minDays: number, maxDays: number) =>
  fc.integer({ min: Math.round(minDays * DAY_MS), max: Math.round(maxDays * DAY_MS) });
const isoAt = (minDays: number, maxDays: number) => msOffset(minDays, maxDays).map((ms) => at(ms));
const past = isoAt(-400, 0);
const future = isoAt(0.000_000_1, 400);

const permissionsArb = fc
  .subarray([
    ["repository.contents", "read"],
    ["repository.contents", "write"],
    ["repository.metadata", "read"],
    ["repository.issues", "write"],
    ["organization.members", "read"],
  ] as const)
  .map((pairs) => Object.fromEntries(pairs) as Record<string, string>);

/** A listed grant; `canBeExpired` decides whether it may be expired already. */
function grantArb(canBeExpired: boolean): fc.Arbitrary<Grant> {
  return fc
    .record({
      tokenId: fc.integer(GRANT_TOKEN_IDS),
      tokenName: fc.constantFrom(...NAMES),
      owner: fc.constantFrom(...OWNERS),
      repositorySelection: fc.constantFrom("none", "all", "subset"),
      permissions: permissionsArb,
      accessGrantedAt: past,
      tokenExpired: canBeExpired ? fc.boolean() : fc.constant(false),
      tokenExpiresAt: fc.option(canBeExpired ? isoAt(-30, 400) : future, { nil: null }),
      tokenLastUsedAt: fc.option(past, { nil: null }),
    })
    .map((g) => ({ ...g, patId: 1000 + g.tokenId }));
}

function grantsArb(canBeExpired: boolean): fc.Arbitrary<Grant[]> {
  return fc.uniqueArray(grantArb(canBeExpired), { selector: (g) => g.tokenId, maxLength: 8 });
}

const requestsArb: fc.Arbitrary<PatRequest[]> = fc.uniqueArray(
  fc
    .record({
      tokenId: fc.integer(REQUEST_TOKEN_IDS),
      tokenName: fc.constantFrom(...NAMES),
      owner: fc.constantFrom(...OWNERS),
      reason: fc.option(fc.constantFrom("needs CI", "backups"), { nil: null }),
      repositorySelection: fc.constantFrom("none", "all", "subset"),
      permissions: permissionsArb,
      createdAt: isoAt(-5, 0),
      tokenExpired: fc.constant(false),
      tokenExpiresAt: fc.option(future, { nil: null }),
    })
    .map((r) => ({ ...r, requestId: 5000 + r.tokenId })),
  { selector: (r) => r.tokenId, maxLength: 3 },
);

const reasonArb = fc.constantFrom<RevokeReason>("flagged", "not-needed", "expired", "unused", "on-demand");

const pendingArb: fc.Arbitrary<PendingRevocation> = fc.record({
  reason: reasonArb,
  detail: fc.constant("decided by an earlier run"),
  patId: fc.integer({ min: 1001, max: 1025 }),
  at: isoAt(-2, 0),
  by: fc.constant(ACTOR),
  runId: fc.constant("run-0"),
});

/** Ledger entries with ids `e-0…`; `neededUntil` in the future (or null) unless `anyNeededUntil`. */
function ledgerArb(anyNeededUntil: boolean): fc.Arbitrary<LedgerEntry[]> {
  const entryArb = fc.record({
    tokenId: fc.option(fc.integer({ min: 1, max: 25 }), { nil: null }),
    patId: fc.option(fc.oneof(fc.integer({ min: 1001, max: 1025 }), fc.integer({ min: 1, max: 99 })), {
      nil: null,
    }),
    requestId: fc.option(fc.integer({ min: 5021, max: 5025 }), { nil: null }),
    tokenName: fc.constantFrom(...NAMES),
    owner: fc.constantFrom(...OWNERS),
    status: fc.constantFrom(...STATUSES),
    renew: fc.boolean(),
    neededUntil: fc.option(anyNeededUntil ? isoAt(-30, 400) : future, { nil: null }),
    permissions: fc
      .constantFrom("", "contents:read", "contents:write; issues:read", "members:read")
      .map(perms),
    scope: fc.constantFrom("", "all", "subset: api", "none").map(scope),
    createdAt: fc.option(past, { nil: null }),
    firstSeenAt: fc.option(past, { nil: null }),
    revokedReason: fc.option(reasonArb, { nil: null }),
    pendingRevocation: fc.option(pendingArb, { nil: null, freq: 4 }),
    version: fc.integer({ min: 1, max: 9 }),
  });
  return fc
    .array(entryArb, { maxLength: 8 })
    .map((fields) => fields.map((f, i) => entry({ ...f, entryId: `e-${i}` })));
}

const policyArb: fc.Arbitrary<PolicyInput> = fc.record({
  mode: fc.constantFrom("enforce", "report"),
  maxRevocationsPerRun: fc.integer({ min: 0, max: 4 }),
  unregisteredGraceDays: fc.integer({ min: 0, max: 10 }),
  revoke: fc.record({
    notNeeded: fc.boolean(),
    expired: fc.boolean(),
    unregistered: fc.boolean(),
    unused: fc.boolean(),
    noExpiry: fc.boolean(),
    overLifetime: fc.boolean(),
    permissionDrift: fc.boolean(),
  }),
});

const anyInputArb = fc.record({
  grants: grantsArb(true),
  requests: requestsArb,
  ledger: ledgerArb(true),
  policy: policyArb,
});

function isExpired(g: Grant): boolean {
  return g.tokenExpired || (g.tokenExpiresAt !== null && Date.parse(g.tokenExpiresAt) <= NOW.getTime());
}

/**
 * Checks every revocation of a default-policy plan against the rule it names: nothing the policy keeps is
 * revoked. A token patrol revoked before whose grant is still listed is revoked again, for its old reason.
 */
function assertOnlyRulesRevoke(grants: Grant[], ledger: LedgerEntry[]) {
  const result = plan({ grants, ledger });
  const nowMs = NOW.getTime();
  for (const revocation of result.revocations) {
    const g = grants.find((x) => x.patId === revocation.patId);
    const after = result.entries.find((e) => e.entryId === revocation.entryId);
    expect(g).toBeDefined();
    expect(after).toBeDefined();
    if (!g || !after) return;
    // An entry created by this run (an unregistered token, a renewal) is judged as created.
    const before = ledger.find((e) => e.entryId === revocation.entryId) ?? after;
    expect(revocation.tokenId).toBe(g.tokenId);
    if (before.status === "revoked" && before.patId === g.patId) continue;
    // A compromise response in flight for this very grant is finished, whatever else the rules say.
    if (inFlight(before, g)) {
      // Its own reason, or flagged when the entry is flagged as well (flagged comes first).
      expect([before.pendingRevocation?.reason, "flagged"]).toContain(revocation.reason);
      continue;
    }
    expect(["flagged", "not-needed", "expired"]).toContain(revocation.reason);
    switch (revocation.reason) {
      case "flagged":
        // Flagged now, or revoked as compromised before and granted access again.
        expect(before.status === "flagged" || compromisedBefore(before)).toBe(true);
        break;
      case "not-needed": {
        const neededUntil = after.neededUntil === null ? null : Date.parse(after.neededUntil);
        expect(before.status === "retired" || (neededUntil !== null && neededUntil <= nowMs)).toBe(true);
        break;
      }
      case "expired":
        expect(isExpired(g)).toBe(true);
        expect(after.renew).toBe(false);
        if (before.renew) {
          // It expected renewal: only a renewal by a new token of the same owner and name ends that.
          const renewals = result.writes
            .flatMap((w) => w.events)
            .filter((e) => e.action === "renewal")
            .map((e) => e.reason);
          expect(renewals).toContainEqual(expect.stringContaining(`(entry ${before.entryId})`));
        }
        break;
    }
  }
}

/** An entry revoked as compromised (flagged or on demand) before: its token is revoked whenever it returns. */
/** An on-demand (or flagged) revocation of this grant decided before and not finished. */
function inFlight(e: LedgerEntry, g: Grant): boolean {
  const pending = e.pendingRevocation;
  // A revoked entry granted access again starts over: its reappearance is judged, not its old intent.
  return (
    e.status !== "revoked" &&
    pending !== null &&
    pending.patId === g.patId &&
    ["flagged", "on-demand", "leaked"].includes(pending.reason)
  );
}

function compromisedBefore(e: LedgerEntry): boolean {
  return (
    (e.status === "revoked" || e.status === "gone") &&
    ["flagged", "on-demand", "leaked"].includes(e.revokedReason ?? "")
  );
}

describe("planSweep properties", () => {
  it("with the default policy, no token the policy keeps is ever revoked", () => {
    fc.assert(
      fc.property(grantsArb(false), ledgerArb(false), (grants, ledger) => {
        assertOnlyRulesRevoke(grants, ledger);
        // Nothing expired, nothing past its needed-until: only flagged, retired or re-revoked tokens go,
        // and never an entry this run created.
        const result = plan({ grants, ledger });
        for (const revocation of result.revocations) {
          const before = ledger.find((e) => e.entryId === revocation.entryId);
          const grant = grants.find((g) => g.patId === revocation.patId);
          expect(
            before !== undefined &&
              (["flagged", "retired", "revoked"].includes(before.status) ||
                compromisedBefore(before) ||
                (grant !== undefined && inFlight(before, grant))),
          ).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("with the default policy, expired and not-needed revocations satisfy their rules", () => {
    fc.assert(
      fc.property(grantsArb(true), ledgerArb(true), (grants, ledger) => {
        assertOnlyRulesRevoke(grants, ledger);
      }),
      { numRuns: 500 },
    );
  });

  it("is deterministic", () => {
    fc.assert(
      fc.property(anyInputArb, ({ grants, requests, ledger, policy }) => {
        expect(plan({ grants, requests, ledger, policy })).toEqual(
          plan({ grants, requests, ledger, policy }),
        );
      }),
    );
  });

  it("does not mutate its input", () => {
    fc.assert(
      fc.property(anyInputArb, ({ grants, requests, ledger, policy }) => {
        const copy = structuredClone({ grants, requests, ledger });

        plan({ grants, requests, ledger, policy });

        expect({ grants, requests, ledger }).toEqual(copy);
      }),
    );
  });

  it("every write carries events, each saying who, when and why", () => {
    fc.assert(
      fc.property(anyInputArb, ({ grants, requests, ledger, policy }) => {
        const result = plan({ grants, requests, ledger, policy });

        for (const write of result.writes) {
          expect(write.events.length).toBeGreaterThan(0);
          for (const event of write.events) {
            expect(event).toMatchObject({
              org: ORG,
              entryId: write.entry.entryId,
              actor: ACTOR,
              at: NOW.toISOString(),
              runId: RUN_ID,
            });
            expect(event.action).not.toBe("");
            expect(event.reason).toEqual(expect.any(String));
            expect(event.reason).not.toBe("");
          }
        }
      }),
    );
  });

  it("never deletes an entry, and its writes turn the ledger into the plan's entries", () => {
    fc.assert(
      fc.property(anyInputArb, ({ grants, requests, ledger, policy }) => {
        const result = plan({ grants, requests, ledger, policy });

        expect(result.entries.length).toBeGreaterThanOrEqual(ledger.length);
        const ids = result.entries.map((e) => e.entryId);
        expect(new Set(ids).size).toBe(ids.length);
        for (const before of ledger) expect(ids).toContain(before.entryId);
        expect(byEntryId(applyWrites(ledger, result.writes))).toEqual(byEntryId(result.entries));
      }),
    );
  });

  it("revokes or holds each grant at most once, and only listed grants", () => {
    fc.assert(
      fc.property(anyInputArb, ({ grants, requests, ledger, policy }) => {
        const result = plan({ grants, requests, ledger, policy });

        const patIds = [...result.revocations, ...result.held].map((r) => r.patId);
        expect(new Set(patIds).size).toBe(patIds.length);
        const listed = new Set(grants.map((g) => g.patId));
        for (const patId of patIds) expect(listed.has(patId)).toBe(true);
        expect(result.scanned).toBe(grants.length);
      }),
    );
  });

  it("the cap never holds a flagged token, and report mode revokes nothing", () => {
    fc.assert(
      fc.property(anyInputArb, ({ grants, requests, ledger, policy }) => {
        const result = plan({ grants, requests, ledger, policy });

        if (policy.mode === "report") expect(result.revocations).toEqual([]);
        for (const held of result.held) {
          if (held.heldBy === "cap") expect(held.reason).not.toBe("flagged");
        }
      }),
    );
  });

  it("a second run at the same instant, after the first was carried out, changes and sends nothing", () => {
    // Entries here always record their approved permissions: a renewal by a pending request of an entry
    // with none recorded is not idempotent (see the failing case in sweep-rules.test.ts).
    const recorded = anyInputArb.map((input) => ({
      ...input,
      ledger: input.ledger.map((e) =>
        Object.keys(e.permissions).length > 0 ? e : { ...e, permissions: perms("contents:read") },
      ),
    }));
    fc.assert(
      fc.property(recorded, ({ grants, requests, ledger, policy }) => {
        const first = plan({ grants, requests, ledger, policy });
        const afterPlan = applyWrites(ledger, first.writes);
        const revoked = new Set(first.revocations.map((r) => r.patId));
        const outcomes = first.revocations.map((r) => ({ patId: r.patId, ok: true }));
        const done = completeRevocations(afterPlan, first.revocations, outcomes, context());
        const afterRevoking = applyWrites(afterPlan, done.writes);
        const delivered = markAlertsDelivered(afterRevoking, [...first.alerts, ...done.alerts], context());
        const afterAlerts = applyWrites(afterRevoking, delivered);

        const second = plan({
          grants: grants.filter((g) => !revoked.has(g.patId)),
          requests,
          ledger: afterAlerts,
          policy,
        });

        expect(second.revocations).toEqual([]);
        expect(second.alerts).toEqual([]);
        expect(second.writes).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("the clock is a parameter: planSweep reads no other time", () => {
    const input: SweepInput = {
      org: ORG,
      grants: [],
      requests: [],
      ledger: [entry({ status: "active", patId: 1, pendingRevocation: null })],
      policy: DEFAULT_POLICY,
      now: new Date("2031-01-01T00:00:00Z"),
      runId: RUN_ID,
      actor: ACTOR,
    };

    const result = planSweep(input);

    expect(result.writes[0]?.entry.updatedAt).toBe("2031-01-01T00:00:00.000Z");
    expect(result.writes[0]?.events[0]?.at).toBe("2031-01-01T00:00:00.000Z");
  });
});
