import { describe, expect, it } from "vitest";
import type { ChangeContext } from "../../lambdas/core/ledger/changes";
import { missingForApproval, type Writer } from "../../lambdas/core/ledger/lifecycle";
import { parseLedgerCsv } from "../../lambdas/core/ledger-csv";
import { planImport } from "../../lambdas/core/ledger-import";
import {
  completeReview,
  findEntry,
  LedgerOpError,
  planReview,
  registerEntry,
  setStatus,
  summarizeLedger,
  updateEntry,
} from "../../lambdas/core/ledger-ops";
import type { LedgerEntry } from "../../lambdas/core/types";
import { applyWrites, days, entry, NOW, ORG, request } from "./fixtures";

/** The pure side of keeping the register by hand: every change comes with its event (who, when, why). */

const ctx = (actor = "oscar", writer: Writer = "operator"): ChangeContext => ({
  org: ORG,
  now: NOW,
  actor,
  writer,
  runId: "cli-1",
});

describe("findEntry", () => {
  const ledger = [
    entry(),
    entry({ entryId: "token-102", tokenId: 102, tokenName: "reports", owner: "Bob" }),
    entry({ entryId: "token-103", tokenId: 103, tokenName: "reports", owner: "bob", status: "revoked" }),
  ];

  it("finds by entry id, token id, or owner (any case) and token name, preferring the live entry", () => {
    expect(findEntry(ledger, { entryId: "token-101" }).tokenId).toBe(101);
    expect(findEntry(ledger, { tokenId: 103 }).entryId).toBe("token-103");
    expect(findEntry(ledger, { owner: "BOB", tokenName: "reports" }).entryId).toBe("token-102");
  });

  it("refuses an unknown or ambiguous reference, naming the candidates", () => {
    expect(() => findEntry(ledger, { tokenId: 999 })).toThrow(/no ledger entry for token id 999/);
    const twoLive = [
      ...ledger,
      entry({ entryId: "token-104", tokenId: 104, tokenName: "reports", owner: "bob" }),
    ];
    expect(() => findEntry(twoLive, { owner: "bob", tokenName: "reports" })).toThrow(
      /matches 3 entries \((token-10[234](, )?){3}\)/,
    );
  });
});

describe("registerEntry / updateEntry / setStatus", () => {
  it("registers an active entry approved by the actor, with a 'registered' event", () => {
    const { entry: created, writes } = registerEntry(
      [],
      { tokenName: "deploy bot", owner: "Alice", tokenId: null },
      { purpose: "deploys", risks: "writes" },
      "approved in the ops channel",
      ctx(),
    );

    expect(created).toMatchObject({
      entryId: "name-alice-deploy_bot",
      status: "active",
      approvedBy: "oscar",
      purpose: "deploys",
      version: 1,
      updatedBy: "oscar",
    });
    expect(writes).toHaveLength(1);
    expect(writes[0]?.expectedVersion).toBeNull();
    expect(writes[0]?.events).toEqual([
      expect.objectContaining({
        action: "registered",
        actor: "oscar",
        reason: "approved in the ops channel",
        at: NOW.toISOString(),
        version: 1,
      }),
    ]);
  });

  it("refuses a second registration of the same token, but not of a revoked name", () => {
    const ledger = [entry()];
    expect(() =>
      registerEntry(ledger, { tokenName: "x", owner: "y", tokenId: 101 }, {}, "again", ctx()),
    ).toThrow(LedgerOpError);
    expect(() =>
      registerEntry(ledger, { tokenName: "deploy-bot", owner: "ALICE", tokenId: null }, {}, "again", ctx()),
    ).toThrow(/already in the ledger as entry token-101/);
    const revoked = [entry({ status: "revoked" })];
    const { entry: successor } = registerEntry(
      revoked,
      { tokenName: "deploy-bot", owner: "alice", tokenId: 555 },
      {},
      "new token",
      ctx(),
    );
    expect(successor.entryId).toBe("token-555");
  });

  it("update records what changed, from and to; an update that changes nothing writes nothing", () => {
    const ledger = [entry()];

    const { entry: updated, writes } = updateEntry(
      ledger,
      { tokenId: 101 },
      { purpose: "deploys the api and web", neededUntil: days(90) },
      "scope grew",
      ctx("dave"),
    );

    expect(updated.version).toBe(4);
    expect(writes[0]?.expectedVersion).toBe(3);
    expect(writes[0]?.events[0]).toMatchObject({
      action: "updated",
      actor: "dave",
      reason: "scope grew",
      changes: { purpose: ["deploys the api", "deploys the api and web"], neededUntil: [null, days(90)] },
    });
    expect(
      updateEntry(ledger, { tokenId: 101 }, { purpose: "deploys the api" }, "same", ctx()).writes,
    ).toEqual([]);
  });

  it("flag and retire set the status with an event; a flagged token is never retired", () => {
    const { entry: flagged, writes } = setStatus(
      [entry()],
      { tokenId: 101 },
      "flagged",
      "leaked",
      ctx("erin"),
    );

    expect(flagged.status).toBe("flagged");
    expect(writes[0]?.events[0]).toMatchObject({
      action: "flagged",
      actor: "erin",
      reason: "leaked",
      changes: { status: ["active", "flagged"] },
    });
    expect(() => setStatus([flagged], { tokenId: 101 }, "retired", "done", ctx())).toThrow(/flagged/);
    expect(setStatus([flagged], { tokenId: 101 }, "flagged", "again", ctx()).writes).toEqual([]);
    const { entry: retired } = setStatus([entry()], { tokenId: 101 }, "retired", "not needed", ctx());
    expect(retired.status).toBe("retired");
  });
});

describe("reviewing a request", () => {
  it("needs a purpose and risks that are more than whitespace", () => {
    expect(missingForApproval({ purpose: "", risks: "" })).toEqual(["purpose", "risks"]);
    expect(missingForApproval({ purpose: " \n ", risks: "low" })).toEqual(["purpose"]);
    expect(missingForApproval({ purpose: "p", risks: "\t" })).toEqual(["risks"]);
    expect(missingForApproval({ purpose: "p", risks: "r" })).toEqual([]);
  });

  it("approve: creates the entry from the request, applies the reviewer's fields, then marks it active", () => {
    const req = request({ reason: "reads CI logs" });

    const review = planReview([], req, "approve", { risks: "sees build logs" }, "ok", ctx("oscar", "review"));

    expect(review.entry).toMatchObject({
      status: "requested",
      requestId: req.requestId,
      tokenId: req.tokenId,
      purpose: "reads CI logs",
      risks: "sees build logs",
      approvedBy: "oscar",
      permissions: { "repository.actions": "read" },
    });
    expect(review.writes[0]?.events.map((e) => e.action)).toEqual(["requested", "approving"]);
    const ledger = applyWrites([], review.writes);
    const done = completeReview(ledger, review.entry.entryId, "approve", "", ctx("oscar", "review"));
    expect(done[0]?.entry.status).toBe("active");
    expect(done[0]?.events[0]).toMatchObject({
      action: "approved",
      actor: "oscar",
      changes: { status: ["requested", "active"] },
    });
  });

  it("approve is refused while purpose or risks are empty, naming what is missing", () => {
    expect(() =>
      planReview([], request({ reason: null }), "approve", {}, "", ctx("oscar", "review")),
    ).toThrow(/purpose and risks are empty \(the runbook requires both\)/);
    expect(() =>
      planReview(
        [],
        request({ reason: "x" }),
        "approve",
        { purpose: "  ", risks: "r" },
        "",
        ctx("oscar", "review"),
      ),
    ).toThrow(/purpose is empty/);
  });

  it("deny: marks the entry gone, with the reason in the event", () => {
    const req = request();
    const review = planReview([], req, "deny", {}, "too broad", ctx("oscar", "review"));
    const done = completeReview(
      applyWrites([], review.writes),
      review.entry.entryId,
      "deny",
      "too broad",
      ctx("oscar", "review"),
    );

    expect(done[0]?.entry.status).toBe("gone");
    expect(done[0]?.events[0]?.action).toBe("denied");
    expect(done[0]?.events[0]?.reason).toBe("denied on GitHub by oscar: too broad");
  });
});

describe("summarizeLedger", () => {
  it("counts by status and lists what a review meeting needs", () => {
    const ledger: LedgerEntry[] = [
      entry({ entryId: "a", tokenName: "a", expiresAt: days(10) }),
      entry({ entryId: "b", tokenName: "b", expiresAt: days(30) }),
      entry({ entryId: "c", tokenName: "c", expiresAt: days(31) }),
      entry({ entryId: "d", tokenName: "d", expiresAt: days(-1) }),
      entry({ entryId: "e", tokenName: "e", status: "retired", expiresAt: days(5), purpose: "" }),
      entry({ entryId: "f", tokenName: "f", status: "unregistered", approvedBy: "", purpose: "" }),
      entry({ entryId: "g", tokenName: "g", status: "requested", requestId: 7, approvedBy: "" }),
      entry({ entryId: "h", tokenName: "h", status: "revoked", purpose: "", approvedBy: "" }),
      entry({ entryId: "i", tokenName: "i", approvedBy: " " }),
    ];

    const summary = summarizeLedger(ORG, ledger, NOW);

    expect(summary.total).toBe(9);
    expect(summary.byStatus).toEqual({ active: 5, retired: 1, unregistered: 1, requested: 1, revoked: 1 });
    expect(summary.expiringSoon.map((e) => [e.tokenName, e.daysLeft])).toEqual([
      ["a", 10],
      ["b", 30],
    ]);
    expect(summary.unregistered.map((e) => e.tokenName)).toEqual(["f"]);
    expect(summary.missingPurposeOrApprover.map((e) => [e.tokenName, e.missing])).toEqual([
      ["e", ["purpose"]],
      ["i", ["approver"]],
    ]);
    expect(summary.pendingRequests).toEqual([{ entryId: "g", tokenName: "g", owner: "alice", requestId: 7 }]);
  });
});

describe("registerEntry: one token, one entry", () => {
  it.each(["revoked", "gone", "active"] as const)("refuses a token id a %s entry holds", (status) => {
    const held = entry({ tokenId: 101, status });
    expect(() =>
      registerEntry(
        [held],
        { tokenName: "deploy-bot", owner: "alice", tokenId: 101 },
        { purpose: "p" },
        "again",
        ctx(),
      ),
    ).toThrow(/already in the ledger as entry token-101/);
  });
});

describe("planImport", () => {
  const csv = [
    "token_name,owner,purpose,status,token_id",
    "deploy-bot,alice,deploys,active,101",
    "reports,bob,,flagged,",
  ].join("\n");

  it("adds, then finds every row unchanged the second time, writing nothing", () => {
    const records = parseLedgerCsv(csv);
    const first = planImport(records, [], ctx("importer", "import"), "sheet.csv");

    expect(first.outcomes.map((o) => [o.row, o.action, o.entryId])).toEqual([
      [2, "added", "token-101"],
      [3, "added", "name-bob-reports"],
    ]);
    const ledger = applyWrites([], first.writes);
    const second = planImport(records, ledger, ctx("importer", "import"), "sheet.csv");
    expect(second.outcomes.map((o) => o.action)).toEqual(["unchanged", "unchanged"]);
    expect(second.writes).toEqual([]);
  });

  it("keeps a status patrol observed (revoked, gone) over the spreadsheet's", () => {
    const records = parseLedgerCsv(csv);
    // Otherwise as the row says, so that only the status differs.
    const ledger = [
      entry({
        status: "revoked",
        purpose: "deploys",
        scope: null,
        permissions: {},
        createdAt: null,
        risks: "",
        approvedBy: "",
        expiresAt: null,
        slack: "",
      }),
    ];

    const outcome = planImport(records, ledger, ctx("importer", "import"), "sheet.csv").outcomes[0];

    expect(outcome).toMatchObject({
      action: "unchanged",
      detail: "status stays revoked (the row says active)",
    });
  });
});
