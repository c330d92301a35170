import { describe, expect, it } from "vitest";
import { completeClassic, planClassic } from "../../lambdas/core/classic";
import { entryIdForClassic } from "../../lambdas/core/ledger/ids";
import { type PolicyInput, parsePolicy } from "../../lambdas/core/policy";
import type { ClassicCredential } from "../../lambdas/core/revoke";
import { applyWrites, context, days, entry, NOW } from "./fixtures";

function cred(id: number, overrides: Partial<ClassicCredential> = {}): ClassicCredential {
  return {
    credentialId: id,
    login: "olga",
    lastEight: `0000000${id % 10}`,
    note: "",
    scopes: ["repo"],
    authorizedAt: days(-30),
    accessedAt: days(-1),
    expiresAt: days(30),
    ...overrides,
  };
}

const plan = (
  ledger: Parameters<typeof planClassic>[0],
  creds: ClassicCredential[],
  policy: PolicyInput = {},
  room = 25,
) => planClassic(ledger, creds, parsePolicy({ mode: "enforce", ...policy }), context(), room);

describe("planClassic", () => {
  it("a new classic PAT becomes an unregistered entry of its own kind, alerted once per finding", () => {
    const result = plan([], [cred(7001, { expiresAt: null })]);
    const [created] = result.writes.map((w) => w.entry);
    expect(created).toMatchObject({
      entryId: "classic-7001",
      status: "unregistered",
      tokenName: "classic PAT …00000001",
      classic: { credentialId: 7001, scopes: ["repo"] },
    });
    expect(result.alerts.map((a) => a.key).sort()).toEqual([
      "classic-no-expiry:7001",
      "classic-unregistered:7001",
    ]);
    const after = applyWrites([], result.writes);
    const delivered = result.alerts.map((a) => ({
      entryId: a.entryId,
      key: a.key,
      kind: a.kind,
      detail: a.detail,
    }));
    const remembered = after.map((e) => ({
      ...e,
      alertsSent: Object.fromEntries(
        delivered.filter((d) => d.entryId === e.entryId).map((d) => [d.key, NOW.toISOString()]),
      ),
    }));
    expect(plan(remembered, [cred(7001, { expiresAt: null })]).alerts).toEqual([]);
  });

  it("over the cap's room, every policy removal is held (a circuit breaker); a flagged one never is", () => {
    const flagged = entry({ entryId: entryIdForClassic(1), tokenId: null, patId: null, status: "flagged" });
    const creds = [cred(1), cred(2, { expiresAt: null }), cred(3, { expiresAt: null })];
    const over = plan([flagged], creds, { revoke: { noExpiry: true } }, 1);
    expect(over.revocations.map((r) => [r.credentialId, r.reason])).toEqual([[1, "flagged"]]);
    expect(over.held.map((h) => [h.credentialId, h.heldBy])).toEqual([
      [2, "cap"],
      [3, "cap"],
    ]);
    // Within the room, both go; each removal's intent is written before the call.
    const within = plan([flagged], creds, { revoke: { noExpiry: true } }, 2);
    expect(within.revocations.map((r) => r.credentialId)).toEqual([1, 2, 3]);
    const intents = applyWrites([flagged], within.writes).filter((e) => e.pendingRevocation);
    expect(intents.map((e) => e.entryId).sort()).toEqual(["classic-1", "classic-2", "classic-3"]);
  });

  it("a listing that lost most of the known authorizations is not believed: nothing is taken for gone", () => {
    const known = [4, 5, 6, 7].map((id) =>
      entry({
        entryId: entryIdForClassic(id),
        tokenId: null,
        patId: null,
        status: "active",
        classic: { credentialId: id, lastEight: "x", scopes: [], authorizedAt: null, lastAccessedAt: null },
      }),
    );
    const result = plan(known, [cred(4)]);
    expect(result.suspect).toBe(true);
    expect(applyWrites(known, result.writes).filter((e) => e.status === "gone")).toEqual([]);
    expect(plan(known, [cred(4), cred(5), cred(6)]).suspect).toBe(false);
  });

  it("removed after a compromise and authorized again: removed again; otherwise judged anew", () => {
    const compromised = entry({
      entryId: "classic-5",
      tokenId: null,
      patId: null,
      status: "revoked",
      revokedReason: "on-demand",
    });
    const unused = entry({
      entryId: "classic-6",
      tokenId: null,
      patId: null,
      status: "revoked",
      revokedReason: "unused",
    });
    const result = plan([compromised, unused], [cred(5), cred(6)]);
    expect(result.revocations.map((r) => [r.credentialId, r.reason])).toEqual([[5, "on-demand"]]);
    expect(
      applyWrites([compromised, unused], result.writes).find((e) => e.entryId === "classic-6")?.status,
    ).toBe("unregistered");
  });

  it("an authorization no longer listed: gone, or revoked when patrol's removal was in flight", () => {
    const listedBefore = {
      classic: { credentialId: 8, lastEight: "x", scopes: [], authorizedAt: null, lastAccessedAt: null },
    };
    const gone = entry({
      entryId: "classic-8",
      tokenId: null,
      patId: null,
      status: "active",
      ...listedBefore,
    });
    const inFlight = entry({
      entryId: "classic-9",
      tokenId: null,
      patId: null,
      status: "unregistered",
      classic: { ...listedBefore.classic, credentialId: 9 },
      pendingRevocation: {
        reason: "no-expiry",
        detail: "never expires",
        patId: 9,
        at: days(-1),
        by: "patrol-sweep",
        runId: "r0",
      },
    });
    const after = applyWrites([gone, inFlight], plan([gone, inFlight], []).writes);
    expect(after.find((e) => e.entryId === "classic-8")?.status).toBe("gone");
    expect(after.find((e) => e.entryId === "classic-9")).toMatchObject({
      status: "revoked",
      revokedReason: "no-expiry",
      pendingRevocation: null,
    });
  });

  it("a removal GitHub refused is noted and left for the next night", () => {
    const result = plan([], [cred(4, { expiresAt: null })], { revoke: { noExpiry: true } });
    const ledger = applyWrites([], result.writes);
    const [revocation] = result.revocations;
    if (!revocation) throw new Error("no revocation planned");
    const done = completeClassic(ledger, [{ revocation, ok: false, error: "HTTP 500" }], context());
    const after = applyWrites(ledger, done.writes);
    expect(after[0]).toMatchObject({ status: "unregistered" });
    expect(after[0]?.pendingRevocation).not.toBeNull();
    expect(done.alerts).toEqual([]);
  });
});
