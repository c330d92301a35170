import { describe, expect, it } from "vitest";
import type { PolicyInput } from "../../lambdas/core/policy";
import { completeRevocations, markAlertsDelivered, type SweepPlan } from "../../lambdas/core/sweep";
import type {
  AlertKind,
  EntryWrite,
  Grant,
  LedgerEntry,
  PatRequest,
  PendingRevocation,
  RevokeReason,
} from "../../lambdas/core/types";
import {
  ACTOR,
  applyWrites,
  at,
  byEntryId,
  context,
  DAY_MS,
  days,
  entry,
  scope as fixtureScope,
  grant,
  HOUR_MS,
  NOW,
  perms,
  plan,
  RUN_ID,
  request,
  token,
} from "./fixtures";

function alertKinds(result: SweepPlan): AlertKind[] {
  return result.alerts.map((a) => a.kind).sort();
}

function writeFor(result: SweepPlan, entryId: string): EntryWrite | undefined {
  return result.writes.find((w) => w.entry.entryId === entryId);
}

function entryIn(result: SweepPlan, entryId: string): LedgerEntry | undefined {
  return result.entries.find((e) => e.entryId === entryId);
}

function actions(write: EntryWrite | undefined): string[] {
  return write?.events.map((e) => e.action) ?? [];
}

interface RuleCase {
  rule: string;
  grant?: Partial<Grant>;
  entry?: Partial<LedgerEntry>;
  policy?: PolicyInput;
  revoke: RevokeReason | null;
  alerts: AlertKind[];
}

describe("planSweep: one registered token, rule by rule", () => {
  const cases: RuleCase[] = [
    { rule: "a healthy registered token is left alone", revoke: null, alerts: [] },
    { rule: "flagged → revoke flagged", entry: { status: "flagged" }, revoke: "flagged", alerts: [] },
    { rule: "retired → revoke not-needed", entry: { status: "retired" }, revoke: "not-needed", alerts: [] },
    {
      rule: "retired, but policy does not revoke not-needed tokens → nothing",
      entry: { status: "retired" },
      policy: { revoke: { notNeeded: false } },
      revoke: null,
      alerts: [],
    },
    {
      rule: "needed-until passed → revoke not-needed",
      entry: { neededUntil: days(-1) },
      revoke: "not-needed",
      alerts: [],
    },
    {
      rule: "needed-until exactly now → revoke not-needed",
      entry: { neededUntil: at(0) },
      revoke: "not-needed",
      alerts: [],
    },
    {
      rule: "needed-until one ms from now → nothing",
      entry: { neededUntil: at(1) },
      revoke: null,
      alerts: [],
    },
    {
      rule: "token_expired and renew=false → revoke expired",
      grant: { tokenExpired: true },
      revoke: "expired",
      alerts: [],
    },
    {
      rule: "expiry date in the past, token_expired not yet set → revoke expired",
      grant: { tokenExpired: false, tokenExpiresAt: days(-1) },
      entry: { expiresAt: days(-1) },
      revoke: "expired",
      alerts: [],
    },
    {
      rule: "expiry date exactly now → revoke expired",
      grant: { tokenExpired: false, tokenExpiresAt: at(0) },
      entry: { expiresAt: at(0) },
      revoke: "expired",
      alerts: [],
    },
    {
      rule: "expiry one ms from now → not expired, warned at the last threshold",
      grant: { tokenExpired: false, tokenExpiresAt: at(1) },
      entry: { expiresAt: at(1) },
      revoke: null,
      alerts: ["expiring"],
    },
    {
      rule: "expired and renew=true → alert expired-awaiting-renewal, no revocation",
      grant: { tokenExpired: true, tokenExpiresAt: days(-1) },
      entry: { renew: true, expiresAt: days(-1) },
      revoke: null,
      alerts: ["expired-awaiting-renewal"],
    },
    {
      rule: "expired, but policy does not revoke expired tokens → nothing",
      grant: { tokenExpired: true },
      policy: { revoke: { expired: false } },
      revoke: null,
      alerts: [],
    },
    {
      rule: "flagged wins over every other reason",
      grant: { tokenExpired: true },
      entry: { status: "flagged", neededUntil: days(-1) },
      revoke: "flagged",
      alerts: [],
    },
    {
      rule: "not-needed wins over expired",
      grant: { tokenExpired: true },
      entry: { neededUntil: days(-1) },
      revoke: "not-needed",
      alerts: [],
    },
  ];

  it.each(cases)("$rule", ({ grant: g, entry: e, policy, revoke, alerts }) => {
    // Arrange
    const input = { grants: [grant(g)], ledger: [entry(e)], policy };

    // Act
    const result = plan(input);

    // Assert
    expect(result.revocations.map((r) => r.reason)).toEqual(revoke ? [revoke] : []);
    if (revoke) {
      expect(result.revocations[0]).toMatchObject({
        entryId: "token-101",
        patId: 1,
        tokenId: 101,
        tokenName: "deploy-bot",
        owner: "alice",
      });
    }
    expect(result.held).toEqual([]);
    expect(alertKinds(result)).toEqual([...alerts].sort());
    expect(result.scanned).toBe(1);
  });

  it("an expired token awaiting renewal is alerted with its expiry in the key", () => {
    const result = plan({
      grants: [grant({ tokenExpired: true, tokenExpiresAt: days(-1) })],
      ledger: [entry({ renew: true })],
    });

    expect(result.alerts).toEqual([
      expect.objectContaining({
        kind: "expired-awaiting-renewal",
        key: `awaiting-renewal:${days(-1)}`,
        entryId: "token-101",
        tokenId: 101,
        slack: "U0OPS",
      }),
    ]);
  });

  it("a token patrol revoked whose grant is still listed is revoked again, for the same reason", () => {
    const result = plan({
      grants: [grant()],
      ledger: [
        entry({
          status: "revoked",
          revokedReason: "expired",
          revokedDetail: "expired yesterday",
          revokedAt: days(-1),
          revokedBy: ACTOR,
        }),
      ],
    });

    expect(result.revocations).toEqual([expect.objectContaining({ patId: 1, reason: "expired" })]);
  });
});

describe("planSweep: unregistered tokens", () => {
  it("a grant with no entry is recorded as unregistered and alerted, not revoked", () => {
    const result = plan({ grants: [grant({ permissions: { "repository.issues": "write" } })] });

    const write = writeFor(result, "token-101");
    expect(write?.expectedVersion).toBeNull();
    expect(write?.entry).toMatchObject({
      status: "unregistered",
      tokenId: 101,
      patId: 1,
      tokenName: "deploy-bot",
      owner: "alice",
      firstSeenAt: NOW.toISOString(),
      version: 1,
    });
    expect(actions(write)).toEqual(["discovered"]);
    expect(result.alerts).toEqual([
      expect.objectContaining({ kind: "unregistered", entryId: "token-101", key: "unregistered:1" }),
    ]);
    expect(result.revocations).toEqual([]);
    expect(result.entries).toHaveLength(1);
  });

  const revokeUnregistered: PolicyInput = { revoke: { unregistered: true }, unregisteredGraceDays: 7 };

  it.each([
    { seen: "just now (a new grant)", firstSeenAt: null, revoked: false },
    { seen: "6 days ago", firstSeenAt: days(-6), revoked: false },
    { seen: "one ms short of 7 days ago", firstSeenAt: at(-7 * DAY_MS + 1), revoked: false },
    { seen: "exactly 7 days ago", firstSeenAt: days(-7), revoked: true },
    { seen: "30 days ago", firstSeenAt: days(-30), revoked: true },
  ])(
    "with revoke.unregistered and 7 days' grace, first seen $seen → revoked: $revoked",
    ({ firstSeenAt, revoked }) => {
      const ledger = firstSeenAt ? [entry({ status: "unregistered", firstSeenAt })] : [];

      const result = plan({ grants: [grant()], ledger, policy: revokeUnregistered });

      expect(result.revocations.map((r) => r.reason)).toEqual(revoked ? ["unregistered"] : []);
      if (!revoked) expect(alertKinds(result)).toEqual(["unregistered"]);
    },
  );

  it("without revoke.unregistered an old unregistered token is only alerted", () => {
    const result = plan({
      grants: [grant()],
      ledger: [entry({ status: "unregistered", firstSeenAt: days(-365) })],
    });

    expect(result.revocations).toEqual([]);
    expect(alertKinds(result)).toEqual(["unregistered"]);
  });
});

describe("planSweep: unused tokens (default 90 days)", () => {
  it.each([
    {
      when: "last used exactly 90 days ago",
      grant: { tokenLastUsedAt: days(-90) },
      key: `unused:${days(-90)}`,
    },
    {
      when: "last used 90 days less one ms ago",
      grant: { tokenLastUsedAt: at(-90 * DAY_MS + 1) },
      key: null,
    },
    {
      when: "never used, access granted exactly 90 days ago",
      grant: { tokenLastUsedAt: null, accessGrantedAt: days(-90) },
      key: "unused:never",
    },
    {
      when: "never used, access granted 89 days ago",
      grant: { tokenLastUsedAt: null, accessGrantedAt: days(-89) },
      key: null,
    },
  ])("$when → alert key $key, no revocation", ({ grant: g, key }) => {
    const result = plan({ grants: [grant(g)], ledger: [entry()] });

    expect(result.alerts.map((a) => a.key)).toEqual(key ? [key] : []);
    expect(alertKinds(result)).toEqual(key ? ["unused"] : []);
    expect(result.revocations).toEqual([]);
  });

  it("an unused token is revoked only when the policy says so", () => {
    const result = plan({
      grants: [grant({ tokenLastUsedAt: days(-120) })],
      ledger: [entry()],
      policy: { revoke: { unused: true } },
    });

    expect(result.revocations).toEqual([expect.objectContaining({ reason: "unused" })]);
  });

  it("policy.unusedDays moves the boundary", () => {
    const g = grant({ tokenLastUsedAt: days(-30) });

    expect(alertKinds(plan({ grants: [g], ledger: [entry()], policy: { unusedDays: 30 } }))).toEqual([
      "unused",
    ]);
    expect(alertKinds(plan({ grants: [g], ledger: [entry()], policy: { unusedDays: 31 } }))).toEqual([]);
  });
});

describe("planSweep: no expiry and lifetime (default maximum 366 days)", () => {
  it.each([
    {
      when: "no expiry date",
      grant: { tokenExpiresAt: null },
      entry: { expiresAt: null },
      alerts: ["no-expiry"],
    },
    {
      when: "lifetime of 367 days from creation",
      grant: { tokenExpiresAt: days(357) },
      entry: { createdAt: days(-10) },
      alerts: ["over-lifetime"],
    },
    {
      when: "lifetime of exactly 366 days",
      grant: { tokenExpiresAt: days(356) },
      entry: { createdAt: days(-10) },
      alerts: [],
    },
    {
      when: "no creation date recorded: lifetime counted from the grant (400 days)",
      grant: { accessGrantedAt: days(-40), tokenExpiresAt: days(360) },
      entry: { createdAt: null },
      alerts: ["over-lifetime"],
    },
  ] satisfies { when: string; grant: Partial<Grant>; entry: Partial<LedgerEntry>; alerts: AlertKind[] }[])(
    "$when → alerts $alerts",
    ({ grant: g, entry: e, alerts }) => {
      const result = plan({ grants: [grant(g)], ledger: [entry(e)] });

      expect(alertKinds(result)).toEqual(alerts);
      expect(result.revocations).toEqual([]);
    },
  );

  it.each([
    { policy: { revoke: { noExpiry: true } }, grant: { tokenExpiresAt: null }, reason: "no-expiry" },
    {
      policy: { revoke: { overLifetime: true } },
      grant: { tokenExpiresAt: days(400) },
      reason: "over-lifetime",
    },
  ] satisfies { policy: PolicyInput; grant: Partial<Grant>; reason: RevokeReason }[])(
    "revokes for $reason only when the policy says so",
    ({ policy, grant: g, reason }) => {
      const result = plan({ grants: [grant(g)], ledger: [entry()], policy });

      expect(result.revocations.map((r) => r.reason)).toEqual([reason]);
    },
  );
});

describe("planSweep: permission drift", () => {
  it.each<{ when: string; live: Grant["permissions"]; approved: string; drift: string | null }>([
    {
      when: "contents:read approved, contents:write live",
      live: { "repository.contents": "write" },
      approved: "contents:read",
      drift: "repository.contents: write > read",
    },
    {
      when: "contents:write approved, contents:write live",
      live: { "repository.contents": "write" },
      approved: "contents:write",
      drift: null,
    },
    {
      when: "contents:write approved, contents:read live",
      live: { "repository.contents": "read" },
      approved: "contents:write",
      drift: null,
    },
    {
      when: "metadata:read live is implicit",
      live: { "repository.contents": "read", "repository.metadata": "read" },
      approved: "contents:read",
      drift: null,
    },
    {
      when: "metadata:write live is not implicit",
      live: { "repository.metadata": "write" },
      approved: "contents:read",
      drift: "repository.metadata: write > read",
    },
    {
      when: "a permission never approved",
      live: { "repository.contents": "read", "organization.members": "read" },
      approved: "contents:read",
      drift: "organization.members: read > none",
    },
    {
      when: "nothing recorded in the ledger: no permission check",
      live: { "repository.contents": "admin", "organization.members": "write" },
      approved: "",
      drift: null,
    },
    {
      when: "only whitespace recorded in the ledger: no permission check",
      live: { "repository.contents": "admin" },
      approved: "   ",
      drift: null,
    },
  ])("$when → drift: $drift", ({ live, approved, drift }) => {
    const result = plan({
      grants: [grant({ permissions: live })],
      ledger: [entry({ permissions: perms(approved) })],
    });

    if (drift) {
      expect(result.alerts).toEqual([
        expect.objectContaining({ kind: "permission-drift", detail: expect.stringContaining(drift) }),
      ]);
    } else {
      expect(result.alerts).toEqual([]);
    }
    expect(result.revocations).toEqual([]);
  });

  it.each([
    { scope: "subset: api", live: "all", drift: true },
    { scope: "subset: api", live: "subset", drift: false },
    { scope: "none", live: "subset", drift: true },
    { scope: "all", live: "all", drift: false },
    { scope: "", live: "all", drift: false },
  ] as const)("scope '$scope' with live selection $live → drift: $drift", ({ scope, live, drift }) => {
    const result = plan({
      grants: [grant({ repositorySelection: live })],
      ledger: [entry({ scope: fixtureScope(scope) })],
    });

    expect(alertKinds(result)).toEqual(drift ? ["permission-drift"] : []);
    if (drift) expect(result.alerts[0]?.detail).toContain(`repositories: ${live} > ${scope}`);
  });

  it("drift is revoked only when the policy says so", () => {
    const g = grant({ permissions: { "repository.contents": "write" } });

    const result = plan({ grants: [g], ledger: [entry()], policy: { revoke: { permissionDrift: true } } });

    expect(result.revocations.map((r) => r.reason)).toEqual(["permission-drift"]);
  });
});

describe("planSweep: expiry warnings (default thresholds 30, 14, 7, 1 days)", () => {
  it.each([
    { left: "exactly 30 days", ms: 30 * DAY_MS, threshold: 30, daysLeft: 30 },
    { left: "30 days and one ms", ms: 30 * DAY_MS + 1, threshold: null, daysLeft: null },
    { left: "20 days", ms: 20 * DAY_MS, threshold: 30, daysLeft: 20 },
    { left: "exactly 14 days", ms: 14 * DAY_MS, threshold: 14, daysLeft: 14 },
    { left: "10 days", ms: 10 * DAY_MS, threshold: 14, daysLeft: 10 },
    { left: "7 days", ms: 7 * DAY_MS, threshold: 7, daysLeft: 7 },
    { left: "one day and one ms", ms: DAY_MS + 1, threshold: 7, daysLeft: 2 },
    { left: "one day", ms: DAY_MS, threshold: 1, daysLeft: 1 },
    { left: "one hour", ms: HOUR_MS, threshold: 1, daysLeft: 1 },
  ])("$left left → threshold $threshold", ({ ms, threshold, daysLeft }) => {
    const expiresAt = at(ms);

    const result = plan({ grants: [grant({ tokenExpiresAt: expiresAt })], ledger: [entry({ expiresAt })] });

    if (threshold === null) {
      expect(result.alerts).toEqual([]);
    } else {
      expect(result.alerts).toEqual([
        expect.objectContaining({ kind: "expiring", key: `expiring:${expiresAt}:${threshold}`, daysLeft }),
      ]);
    }
  });

  it("an expiry warning already sent is not sent again", () => {
    const expiresAt = days(10);
    const sent = { [`expiring:${expiresAt}:14`]: days(-4) };

    const result = plan({
      grants: [grant({ tokenExpiresAt: expiresAt })],
      ledger: [entry({ expiresAt, alertsSent: sent })],
    });

    expect(result.alerts).toEqual([]);
    expect(result.writes).toEqual([]);
  });

  it("the next threshold is a new key, so it is sent after the previous one", () => {
    const expiresAt = days(7);
    const sent = { [`expiring:${expiresAt}:30`]: days(-23), [`expiring:${expiresAt}:14`]: days(-7) };

    const result = plan({
      grants: [grant({ tokenExpiresAt: expiresAt })],
      ledger: [entry({ expiresAt, alertsSent: sent })],
    });

    expect(result.alerts.map((a) => a.key)).toEqual([`expiring:${expiresAt}:7`]);
  });

  it("a renewed token with a new expiry date is warned again at the same threshold", () => {
    const oldExpiry = days(-355);
    const newExpiry = days(10);

    const result = plan({
      grants: [grant({ tokenExpiresAt: newExpiry })],
      ledger: [entry({ expiresAt: oldExpiry, alertsSent: { [`expiring:${oldExpiry}:14`]: days(-365) } })],
    });

    expect(result.alerts.map((a) => a.key)).toEqual([`expiring:${newExpiry}:14`]);
  });

  it("custom thresholds are honoured, whatever their order", () => {
    const expiresAt = days(45);

    const result = plan({
      grants: [grant({ tokenExpiresAt: expiresAt })],
      ledger: [entry({ expiresAt })],
      policy: { expiryWarningDays: [3, 60, 45] },
    });

    expect(result.alerts.map((a) => a.key)).toEqual([`expiring:${expiresAt}:45`]);
  });
});

describe("planSweep: matching grants to entries", () => {
  it("matches by owner (any case) and token name, and the entry learns the token id", () => {
    const registered = entry({ entryId: "reg-1", tokenId: null, patId: null, firstSeenAt: null });

    const result = plan({ grants: [grant({ owner: "Alice" })], ledger: [registered] });

    const write = writeFor(result, "reg-1");
    expect(write?.expectedVersion).toBe(3);
    expect(write?.entry).toMatchObject({
      tokenId: 101,
      patId: 1,
      firstSeenAt: NOW.toISOString(),
      version: 4,
    });
    expect(write?.events.find((e) => e.action === "matched")?.changes).toEqual({ tokenId: [null, 101] });
    expect(result.entries).toHaveLength(1);
    expect(result.alerts).toEqual([]);
  });

  it("does not match a name in another case: token names are exact", () => {
    const registered = entry({ entryId: "reg-1", tokenId: null, patId: null });

    const result = plan({ grants: [grant({ tokenName: "Deploy-Bot" })], ledger: [registered] });

    expect(entryIn(result, "token-101")?.status).toBe("unregistered");
    expect(writeFor(result, "reg-1")).toBeUndefined();
  });

  it("a token id match wins over a name match", () => {
    const byId = entry({ entryId: "by-id", tokenName: "old-name" });
    const byName = entry({ entryId: "by-name", tokenId: null, patId: null });

    const result = plan({ grants: [grant()], ledger: [byName, byId] });

    expect(writeFor(result, "by-id")?.entry.tokenName).toBe("deploy-bot");
    expect(writeFor(result, "by-name")).toBeUndefined();
    expect(result.entries).toHaveLength(2);
  });

  it("one name-registered entry is claimed by one grant only; the other is unregistered", () => {
    const registered = entry({ entryId: "reg-1", tokenId: null, patId: null });
    const twin = grant({ patId: 2, tokenId: 102 });

    const result = plan({ grants: [grant(), twin], ledger: [registered] });

    expect(entryIn(result, "reg-1")?.tokenId).toBe(101);
    expect(entryIn(result, "token-102")?.status).toBe("unregistered");
  });

  it("a live entry wins over a revoked one holding the same token id", () => {
    const revoked = entry({ entryId: "old", status: "revoked", patId: 7, revokedReason: "flagged" });
    const live = entry({ entryId: "new" });

    const result = plan({ grants: [grant()], ledger: [revoked, live] });

    expect(result.revocations).toEqual([]);
    expect(writeFor(result, "old")).toBeUndefined();
    expect(writeFor(result, "new")).toBeUndefined();
  });

  it("a token revoked before and granted access again must be approved anew", () => {
    const revoked = entry({
      status: "revoked",
      patId: 7,
      revokedReason: "expired",
      revokedDetail: "expired 2026-05-01",
    });

    const result = plan({ grants: [grant({ patId: 8 })], ledger: [revoked] });

    expect(entryIn(result, "token-101")).toMatchObject({ status: "unregistered", patId: 8 });
    expect(actions(writeFor(result, "token-101"))).toContain("reappeared");
    expect(alertKinds(result)).toEqual(["unregistered"]);
  });

  it.each([
    ["flagged", "revoked"],
    ["on-demand", "revoked"],
    ["on-demand", "gone"],
    ["leaked", "revoked"],
  ])(
    "a token revoked as compromised (%s) and granted access again is revoked again",
    (revokedReason, status) => {
      const revoked = entry({
        status: status as LedgerEntry["status"],
        patId: 7,
        revokedReason: revokedReason as LedgerEntry["revokedReason"],
      });

      const result = plan({ grants: [grant({ patId: 8 })], ledger: [revoked] });

      expect(entryIn(result, "token-101")?.status).toBe("flagged");
      expect(result.revocations.map((r) => [r.patId, r.reason])).toEqual([[8, "flagged"]]);
    },
  );
});

describe("planSweep: entries whose grant vanished", () => {
  const pending: PendingRevocation = {
    reason: "expired",
    detail: "expired yesterday and not marked for renewal",
    patId: 1,
    at: days(-1),
    by: "patrol-sweep",
    runId: "run-0",
  };

  it.each([
    { status: "active", pendingRevocation: null, becomes: "gone", action: "gone" },
    { status: "unregistered", pendingRevocation: null, becomes: "gone", action: "gone" },
    { status: "retired", pendingRevocation: null, becomes: "gone", action: "gone" },
    { status: "active", pendingRevocation: pending, becomes: "revoked", action: "revoked" },
    // A flagged token stays flagged once revoked: if it is ever granted access again, it is revoked again.
    { status: "flagged", pendingRevocation: pending, becomes: "flagged", action: "revoked" },
  ] as const)(
    "$status, pending revocation: $pendingRevocation.reason → $becomes",
    ({ status, pendingRevocation, becomes, action }) => {
      const result = plan({ grants: [], ledger: [entry({ status, pendingRevocation })] });

      const write = writeFor(result, "token-101");
      expect(write?.expectedVersion).toBe(3);
      expect(write?.entry.status).toBe(becomes);
      expect(write?.entry.pendingRevocation).toBeNull();
      expect(actions(write)).toEqual([action]);
      expect(write?.events[0]?.reason).not.toBe("");
    },
  );

  it("a flagged entry whose grant is gone stays flagged, untouched", () => {
    const result = plan({ grants: [], ledger: [entry({ status: "flagged", pendingRevocation: null })] });

    expect(result.writes).toEqual([]);
  });

  it("a revocation in flight is confirmed with its reason, time and author", () => {
    const result = plan({ grants: [], ledger: [entry({ pendingRevocation: pending })] });

    expect(entryIn(result, "token-101")).toMatchObject({
      status: "revoked",
      revokedReason: "expired",
      revokedDetail: pending.detail,
      revokedAt: NOW.toISOString(),
      revokedBy: "patrol-sweep",
      pendingRevocation: null,
    });
    expect(result.alerts).toEqual([
      expect.objectContaining({ kind: "revoked", key: `revoked:${NOW.toISOString()}`, entryId: "token-101" }),
    ]);
  });

  it.each(["revoked", "gone"] as const)("an entry already %s is left alone", (status) => {
    const result = plan({ grants: [], ledger: [entry({ status, revokedAt: days(-30) })] });

    expect(result.writes).toEqual([]);
  });

  it("an entry registered by hand, never seen on GitHub, is left alone", () => {
    const result = plan({ grants: [], ledger: [entry({ tokenId: null, patId: null })] });

    expect(result.writes).toEqual([]);
  });
});

describe("planSweep: renewal", () => {
  const oldEntry = entry({
    renew: true,
    purpose: "deploys the api",
    approvedBy: "bob",
    permissions: perms("contents:read"),
    expiresAt: days(-1),
  });
  const oldGrant = grant({ tokenExpired: true, tokenExpiresAt: days(-1) });
  const newGrant = grant({ patId: 2, tokenId: 102, tokenExpiresAt: days(89), accessGrantedAt: days(-1) });

  function assertRenewed(result: SweepPlan) {
    expect(entryIn(result, "token-102")).toMatchObject({
      status: "active",
      tokenId: 102,
      patId: 2,
      renew: true,
      purpose: "deploys the api",
      approvedBy: "bob",
      permissions: perms("contents:read"),
      slack: "U0OPS",
    });
    expect(actions(writeFor(result, "token-102"))).toEqual(["renewal"]);
    expect(entryIn(result, "token-101")).toMatchObject({ renew: false, status: "active" });
    // The old token keeps its own entry: it is revoked as that entry, not rediscovered as a stranger.
    expect(result.revocations).toEqual([
      expect.objectContaining({ entryId: "token-101", patId: 1, reason: "expired" }),
    ]);
    expect(result.entries.map((e) => e.entryId).sort()).toEqual(["token-101", "token-102"]);
    expect(alertKinds(result)).toEqual([]);
  }

  it("a new token of the same owner and name renews the expired one (new token listed first)", () => {
    assertRenewed(plan({ grants: [newGrant, oldGrant], ledger: [oldEntry] }));
  });

  it("a new token of the same owner and name renews the expired one (old token listed first)", () => {
    assertRenewed(plan({ grants: [oldGrant, newGrant], ledger: [oldEntry] }));
  });

  it("a pending request of the same owner and name renews the expired one still listed", () => {
    const renewalRequest = request({ tokenId: 102, tokenName: "deploy-bot", owner: "alice", reason: null });

    const result = plan({ grants: [oldGrant], requests: [renewalRequest], ledger: [oldEntry] });

    expect(entryIn(result, "token-102")).toMatchObject({ status: "requested", purpose: "deploys the api" });
    expect(entryIn(result, "token-101")?.renew).toBe(false);
  });

  it("a renewal by a pending request is settled in one run", () => {
    const unrecorded = entry({ renew: true, permissions: perms(""), purpose: "" });
    const renewalRequest = request({ tokenId: 102, tokenName: "deploy-bot", owner: "alice" });
    const first = plan({ requests: [renewalRequest], ledger: [unrecorded] });
    expect(entryIn(first, "token-102")?.status).toBe("requested");

    const second = plan({ requests: [renewalRequest], ledger: applyWrites([unrecorded], first.writes) });

    expect(second.writes).toEqual([]);
  });

  it("a new token renews an entry whose old token is gone", () => {
    const result = plan({ grants: [newGrant], ledger: [oldEntry] });

    expect(entryIn(result, "token-102")).toMatchObject({ status: "active", purpose: "deploys the api" });
    expect(entryIn(result, "token-101")).toMatchObject({ status: "gone", renew: false });
    expect(result.revocations).toEqual([]);
  });

  it("no renewal while the old token is still live", () => {
    const live = grant({ tokenExpiresAt: days(5) });

    const result = plan({ grants: [live, newGrant], ledger: [entry({ renew: true, expiresAt: days(5) })] });

    expect(entryIn(result, "token-102")?.status).toBe("unregistered");
    expect(entryIn(result, "token-101")?.renew).toBe(true);
  });

  it("a flagged entry is never renewed", () => {
    const flagged = entry({ status: "flagged", renew: true });

    const result = plan({ grants: [newGrant], ledger: [flagged] });

    expect(entryIn(result, "token-102")?.status).toBe("unregistered");
  });

  it("an entry revoked as compromised is never renewed", () => {
    const revoked = entry({
      status: "revoked",
      renew: true,
      revokedReason: "flagged",
      revokedDetail: "flagged as compromised in the ledger",
      revokedAt: days(-3),
      revokedBy: ACTOR,
    });

    const result = plan({ grants: [newGrant], ledger: [revoked] });

    expect(entryIn(result, "token-102")?.status).toBe("unregistered");
  });

  it("a retired entry is never renewed into an active one", () => {
    const retired = entry({ status: "retired", renew: true, expiresAt: days(-1) });

    const result = plan({ grants: [newGrant], ledger: [retired] });

    expect(entryIn(result, "token-102")?.status).not.toBe("active");
  });
});

describe("planSweep: pending requests", () => {
  it("a pending request becomes a requested entry, its reason kept as the purpose", () => {
    const result = plan({ requests: [request()] });

    const write = writeFor(result, "token-201");
    expect(write?.expectedVersion).toBeNull();
    expect(write?.entry).toMatchObject({
      status: "requested",
      tokenId: 201,
      requestId: 500,
      patId: null,
      tokenName: "ci-reader",
      owner: "carol",
      purpose: "reads CI logs",
      permissions: perms("repository.actions:read"),
      scope: { selection: "subset", repositories: [] },
    });
    expect(actions(write)).toEqual(["requested"]);
    expect(result.alerts).toEqual([]);
    expect(result.scanned).toBe(0);
  });

  it.each([
    { waited: "23 hours", ms: 23 * HOUR_MS, alerted: false },
    { waited: "exactly 24 hours", ms: 24 * HOUR_MS, alerted: false },
    { waited: "24 hours and one ms", ms: 24 * HOUR_MS + 1, alerted: true },
    { waited: "3 days", ms: 3 * DAY_MS, alerted: true },
  ])("a request waiting $waited → alerted: $alerted", ({ ms, alerted }) => {
    const result = plan({ requests: [request({ createdAt: at(-ms) })] });

    expect(result.alerts).toEqual(
      alerted
        ? [
            expect.objectContaining({
              kind: "request-waiting",
              key: "request-waiting:2026-06-15",
              entryId: "token-201",
            }),
          ]
        : [],
    );
  });

  it("a waiting request is alerted once a day", () => {
    const requested = entry({
      entryId: "token-201",
      tokenId: 201,
      patId: null,
      requestId: 500,
      tokenName: "ci-reader",
      owner: "carol",
      status: "requested",
      alertsSent: { "request-waiting:2026-06-15": at(-HOUR_MS) },
    });

    const result = plan({ requests: [request({ createdAt: days(-3) })], ledger: [requested] });

    expect(result.alerts).toEqual([]);
  });

  const requestedEntry = entry({
    entryId: "token-201",
    tokenId: 201,
    patId: null,
    requestId: 500,
    tokenName: "ci-reader",
    owner: "carol",
    status: "requested",
    expiresAt: days(30),
    firstSeenAt: days(-1),
  });

  it("a requested entry whose request vanished with no grant is gone (denied or withdrawn)", () => {
    const result = plan({ ledger: [requestedEntry] });

    expect(writeFor(result, "token-201")?.entry.status).toBe("gone");
  });

  it("a requested entry whose request is still pending is unchanged", () => {
    const result = plan({ requests: [request({ createdAt: at(-HOUR_MS) })], ledger: [requestedEntry] });

    expect(result.writes).toEqual([]);
  });

  it("a grant for a requested entry makes it active", () => {
    const approved = grant({ patId: 9, tokenId: 201, tokenName: "ci-reader", owner: "carol" });

    const result = plan({ grants: [approved], ledger: [requestedEntry] });

    const write = writeFor(result, "token-201");
    expect(write?.entry).toMatchObject({ status: "active", patId: 9 });
    expect(actions(write)).toContain("approved");
    expect(result.revocations).toEqual([]);
  });

  it("a request for a name-registered entry fills in the purpose only if it was empty", () => {
    const registered = entry({
      entryId: "reg-7",
      tokenId: null,
      patId: null,
      tokenName: "ci-reader",
      owner: "Carol",
      purpose: "",
      permissions: perms(""),
    });

    const result = plan({ requests: [request()], ledger: [registered] });

    expect(entryIn(result, "reg-7")).toMatchObject({
      tokenId: 201,
      requestId: 500,
      purpose: "reads CI logs",
      permissions: perms("repository.actions:read"),
      status: "active",
    });
    expect(result.entries).toHaveLength(1);
  });
});

describe("review findings", () => {
  it("an outcome never rewrites a revocation another writer finished meanwhile", () => {
    const revocation = {
      entryId: "token-101",
      patId: 1,
      tokenId: 101,
      tokenName: "deploy-bot",
      owner: "alice",
      reason: "unregistered" as const,
      detail: "unregistered for 7 days or more",
    };
    // The on-demand revocation finished first: its reason is on the entry, its intent gone.
    const finished = entry({
      status: "revoked",
      revokedReason: "on-demand",
      revokedDetail: "in a gist",
      revokedBy: "jane",
      revokedAt: days(0),
      pendingRevocation: null,
    });

    const { writes, alerts } = completeRevocations(
      [finished],
      [revocation],
      [{ patId: 1, ok: true }],
      context(),
    );

    expect(writes[0]?.entry).toMatchObject({
      status: "revoked",
      revokedReason: "on-demand",
      revokedBy: "jane",
    });
    expect(writes[0]?.events.map((e) => e.action)).toEqual(["revoke-outcome"]);
    expect(alerts).toEqual([]);
  });

  it("a token revoked as compromised and requested again comes back flagged", () => {
    const revoked = entry({
      tokenId: 201,
      tokenName: "ci-reader",
      owner: "carol",
      status: "revoked",
      revokedReason: "on-demand",
    });

    const result = plan({ requests: [request()], ledger: [revoked] });

    expect(entryIn(result, "token-101")?.status).toBe("flagged");
  });
});

describe("planSweep: the revocation cap", () => {
  const expired = (n: number) => token(n, { tokenExpired: true });
  const flagged = token(9, {}, { status: "flagged" });

  it("above the cap, policy-driven revocations are held and alerted; flagged ones still go", () => {
    const tokens = [expired(1), expired(2), expired(3), flagged];

    const result = plan({
      grants: tokens.map((t) => t.grant),
      ledger: tokens.map((t) => t.entry),
      policy: { maxRevocationsPerRun: 2 },
    });

    expect(result.revocations).toEqual([expect.objectContaining({ patId: 9, reason: "flagged" })]);
    expect(result.held.map((h) => [h.patId, h.reason, h.heldBy])).toEqual([
      [1, "expired", "cap"],
      [2, "expired", "cap"],
      [3, "expired", "cap"],
    ]);
    expect(result.alerts.map((a) => [a.kind, a.entryId, a.reason])).toEqual([
      ["held", "token-101", "expired"],
      ["held", "token-102", "expired"],
      ["held", "token-103", "expired"],
    ]);
    for (const n of [1, 2, 3]) expect(entryIn(result, `token-${100 + n}`)?.pendingRevocation).toBeNull();
  });

  it("exactly at the cap, every revocation goes", () => {
    const tokens = [expired(1), expired(2), flagged];

    const result = plan({
      grants: tokens.map((t) => t.grant),
      ledger: tokens.map((t) => t.entry),
      policy: { maxRevocationsPerRun: 2 },
    });

    expect(result.revocations.map((r) => [r.patId, r.reason])).toEqual([
      [1, "expired"],
      [2, "expired"],
      [9, "flagged"],
    ]);
    expect(result.held).toEqual([]);
    expect(result.alerts).toEqual([]);
  });

  it("a cap of zero holds every policy-driven revocation", () => {
    const tokens = [expired(1), flagged];

    const result = plan({
      grants: tokens.map((t) => t.grant),
      ledger: tokens.map((t) => t.entry),
      policy: { maxRevocationsPerRun: 0 },
    });

    expect(result.revocations.map((r) => r.reason)).toEqual(["flagged"]);
    expect(result.held.map((h) => h.reason)).toEqual(["expired"]);
  });
});

describe("planSweep: report mode", () => {
  it("revokes nothing, holds everything, writes no intent", () => {
    const tokens = [token(1, { tokenExpired: true }), token(2, {}, { status: "flagged" })];

    const result = plan({
      grants: tokens.map((t) => t.grant),
      ledger: tokens.map((t) => t.entry),
      policy: { mode: "report" },
    });

    expect(result.revocations).toEqual([]);
    expect(result.held.map((h) => [h.patId, h.reason, h.heldBy])).toEqual([
      [1, "expired", "report-mode"],
      [2, "flagged", "report-mode"],
    ]);
    expect(alertKinds(result)).toEqual(["held", "held"]);
    expect(result.writes).toEqual([]);
  });
});

describe("planSweep: the intent is written before the revocation", () => {
  it("every revocation has a write setting pendingRevocation, guarded by the version read", () => {
    // Arrange: one token per revoking rule, at different versions, plus a renewal (a new entry).
    const tokens = [
      token(1, {}, { status: "flagged", version: 1 }),
      token(2, {}, { status: "retired", version: 5 }),
      token(3, {}, { neededUntil: days(-1), version: 2 }),
      token(4, { tokenExpired: true }, { version: 7 }),
      token(5, { tokenLastUsedAt: days(-200) }, { version: 4 }),
    ];
    const ledger = tokens.map((t) => t.entry);

    // Act
    const result = plan({
      grants: tokens.map((t) => t.grant),
      ledger,
      policy: { revoke: { unused: true } },
    });

    // Assert
    expect(result.revocations).toHaveLength(5);
    for (const revocation of result.revocations) {
      const write = writeFor(result, revocation.entryId);
      const read = ledger.find((e) => e.entryId === revocation.entryId);
      expect(write?.expectedVersion).toBe(read?.version);
      expect(write?.entry.version).toBe((read?.version ?? 0) + 1);
      expect(write?.entry.pendingRevocation).toEqual({
        reason: revocation.reason,
        detail: revocation.detail,
        patId: revocation.patId,
        at: NOW.toISOString(),
        by: ACTOR,
        runId: RUN_ID,
      });
      const intent = write?.events.find((e) => e.action === "revoke-intent");
      expect(intent?.reason).toBe(`${revocation.reason}: ${revocation.detail}`);
      expect(intent).toMatchObject({ actor: ACTOR, at: NOW.toISOString(), runId: RUN_ID });
    }
  });

  it("a pending revocation the rules no longer call for is abandoned", () => {
    const pendingRevocation: PendingRevocation = {
      reason: "not-needed",
      detail: "retired in the ledger",
      patId: 1,
      at: days(-1),
      by: ACTOR,
      runId: "run-0",
    };

    const result = plan({ grants: [grant()], ledger: [entry({ pendingRevocation })] });

    expect(result.revocations).toEqual([]);
    expect(writeFor(result, "token-101")?.entry.pendingRevocation).toBeNull();
    expect(actions(writeFor(result, "token-101"))).toEqual(["revocation-abandoned"]);
  });
});

describe("completeRevocations", () => {
  it("a confirmed revocation becomes revoked; a failed one keeps its intent for the next run", () => {
    const tokens = [token(1, { tokenExpired: true }), token(2, {}, { status: "flagged" })];
    const first = plan({ grants: tokens.map((t) => t.grant), ledger: tokens.map((t) => t.entry) });

    const done = completeRevocations(
      first.entries,
      first.revocations,
      [
        { patId: 1, ok: true },
        { patId: 2, ok: false, error: "HTTP 500" },
      ],
      context(),
    );

    const ok = done.writes.find((w) => w.entry.entryId === "token-101");
    expect(ok?.entry).toMatchObject({
      status: "revoked",
      revokedAt: NOW.toISOString(),
      revokedBy: ACTOR,
      pendingRevocation: null,
    });
    expect(ok?.entry.revokedReason).toBe("expired");
    expect(ok?.entry.revokedDetail).toMatch(/^expired /);
    const failed = done.writes.find((w) => w.entry.entryId === "token-102");
    expect(failed?.entry.pendingRevocation?.reason).toBe("flagged");
    expect(actions(failed)).toEqual(["revoke-failed"]);
    expect(failed?.events[0]?.reason).toContain("HTTP 500");
    expect(done.alerts).toEqual([expect.objectContaining({ kind: "revoked", entryId: "token-101" })]);
  });
});

describe("planSweep: a second run changes nothing and sends nothing", () => {
  function scenario(): { grants: Grant[]; requests: PatRequest[]; ledger: LedgerEntry[] } {
    const tokens = [
      token(1),
      token(2, {}, { status: "flagged" }),
      token(3, {}, { status: "retired" }),
      token(4, { tokenExpired: true }),
      token(5, { tokenExpiresAt: days(10) }),
      token(6, { tokenLastUsedAt: null, accessGrantedAt: days(-120) }),
      token(7, { tokenExpiresAt: null }),
      token(8, { permissions: { "repository.contents": "admin" } }),
      token(9, { tokenExpired: true, tokenExpiresAt: days(-2) }, { renew: true }),
    ];
    const renewal = grant({ patId: 19, tokenId: 119, tokenName: "token-9", tokenExpiresAt: days(80) });
    const stranger = grant({ patId: 30, tokenId: 130, tokenName: "mystery", owner: "mallory" });
    const vanished = entry({ entryId: "token-140", tokenId: 140, patId: 40, tokenName: "old" });
    const inFlight = entry({
      entryId: "token-141",
      tokenId: 141,
      patId: 41,
      tokenName: "leaked",
      pendingRevocation: {
        reason: "flagged",
        detail: "x",
        patId: 41,
        at: days(-1),
        by: ACTOR,
        runId: "run-0",
      },
    });
    return {
      grants: [...tokens.map((t) => t.grant), renewal, stranger],
      requests: [request({ createdAt: days(-3) }), request({ requestId: 501, tokenId: 202, tokenName: "b" })],
      ledger: [...tokens.map((t) => t.entry), vanished, inFlight],
    };
  }

  it("after the first run's writes, revocations and alerts are carried out", () => {
    // Arrange: run once and carry the plan out.
    const { grants, requests, ledger } = scenario();
    const first = plan({ grants, requests, ledger });
    expect(first.revocations.length).toBeGreaterThan(0);
    expect(first.alerts.length).toBeGreaterThan(0);
    const afterPlan = applyWrites(ledger, first.writes);
    expect(byEntryId(afterPlan)).toEqual(byEntryId(first.entries));
    const revoked = new Set(first.revocations.map((r) => r.patId));
    const remaining = grants.filter((g) => !revoked.has(g.patId));
    const done = completeRevocations(
      afterPlan,
      first.revocations,
      first.revocations.map((r) => ({ patId: r.patId, ok: true })),
      context(),
    );
    const afterRevoking = applyWrites(afterPlan, done.writes);
    const delivered = markAlertsDelivered(afterRevoking, [...first.alerts, ...done.alerts], context());
    const afterAlerts = applyWrites(afterRevoking, delivered);

    // Act
    const second = plan({ grants: remaining, requests, ledger: afterAlerts });

    // Assert
    expect(second.revocations).toEqual([]);
    expect(second.alerts).toEqual([]);
    expect(second.writes).toEqual([]);
    expect(byEntryId(second.entries)).toEqual(byEntryId(afterAlerts));
  });
});

describe("a grant and a pending request for the same new token", () => {
  it("share one new entry rather than colliding", () => {
    const result = plan({
      grants: [grant({ tokenId: 201, patId: 9201, owner: "zoe", tokenName: "dual" })],
      requests: [request({ tokenId: 201, owner: "zoe", tokenName: "dual" })],
      ledger: [],
    });
    expect(result.entries.filter((e) => e.tokenId === 201)).toHaveLength(1);
  });

  it("an entry registered under the id patrol would pick gets a fresh id, not an error", () => {
    const squatter = entry({ entryId: "token-301", tokenId: 999, tokenName: "other", owner: "yan" });
    const result = plan({
      grants: [grant({ tokenId: 301, patId: 9301, owner: "xi", tokenName: "new" })],
      ledger: [squatter],
    });
    const created = result.entries.find((e) => e.tokenId === 301);
    expect(created?.entryId).toBe("token-301-2");
    expect(result.entries.find((e) => e.entryId === "token-301")?.tokenId).toBe(999);
  });
});
