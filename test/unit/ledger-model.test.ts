import { describe, expect, it } from "vitest";
import { type ChangeContext, LedgerChanges } from "../../lambdas/core/ledger/changes";
import {
  FIELDS,
  MalformedEntryError,
  newEntry,
  OPTION_FIELDS,
  parseStoredEntry,
  parseStoredEvent,
} from "../../lambdas/core/ledger/fields";
import {
  LifecycleError,
  mayTransition,
  TRANSITIONS,
  WRITERS,
  type Writer,
} from "../../lambdas/core/ledger/lifecycle";
import { AmbiguousEntryError, EntryNotFoundError, LedgerIndex } from "../../lambdas/core/ledger/match";
import { STATUSES, type Status } from "../../lambdas/core/types";
import { entry, NOW, ORG } from "./fixtures";

/** The ledger's one model: its lifecycle table, its matcher, its field declaration and its change log. */

const ctx = (writer: Writer): ChangeContext => ({
  org: ORG,
  now: NOW,
  actor: `a-${writer}`,
  writer,
  runId: "run-1",
});

describe("the lifecycle table", () => {
  const allowed = new Set(TRANSITIONS.flatMap(([from, to, by]) => by.map((w) => `${from}>${to}>${w}`)));

  it.each(TRANSITIONS.flatMap(([from, to, by]) => by.map((writer) => ({ from, to, writer }))))(
    "$writer may take an entry from $from to $to",
    ({ from, to, writer }) => {
      const changes = new LedgerChanges(from === null ? [] : [entry({ status: from })], ctx(writer));
      const after =
        from === null
          ? changes.create(entry({ status: to, version: 0 }), "created", "test")
          : changes.update("token-101", { status: to }, "moved", "test");
      expect(after.status).toBe(to);
    },
  );

  // Every other pair of statuses and writer is refused, and the entry is left as it was.
  const refused = [null, ...STATUSES].flatMap((from) =>
    STATUSES.flatMap((to) =>
      WRITERS.filter((w) => from !== to && !allowed.has(`${from}>${to}>${w}`)).map((writer) => ({
        from,
        to,
        writer,
      })),
    ),
  );

  it("refuses every change the table does not list", () => {
    expect(refused.length).toBeGreaterThan(100);
    for (const { from, to, writer } of refused) {
      expect(mayTransition(from, to, writer), `${from} → ${to} by ${writer}`).toBe(false);
      const changes = new LedgerChanges(from === null ? [] : [entry({ status: from })], ctx(writer));
      const act = () =>
        from === null
          ? changes.create(entry({ status: to, version: 0 }), "created", "test")
          : changes.update("token-101", { status: to }, "moved", "test");
      expect(act, `${from} → ${to} by ${writer}`).toThrow(LifecycleError);
      expect(changes.writes()).toEqual([]);
    }
  });

  it("flagged never clears itself: only an operator takes a token out of it", () => {
    for (const to of STATUSES.filter((s) => s !== "flagged" && s !== "revoked")) {
      for (const writer of WRITERS)
        expect(mayTransition("flagged", to, writer)).toBe(writer === "operator" && to === "active");
    }
  });

  it("gone remembers the status it left, and forgets it on return", () => {
    const changes = new LedgerChanges([entry({ status: "retired" })], ctx("sweep"));
    expect(changes.update("token-101", { status: "gone" }, "gone", "not listed").goneFrom).toBe("retired");
    expect(changes.update("token-101", { status: "retired" }, "listed-again", "listed").goneFrom).toBeNull();
  });

  it.each<Status>(["active", "retired", "unregistered", "requested"])(
    "a %s entry that went gone may return to it (by the sweep)",
    (status) => {
      expect(mayTransition(status, "gone", "sweep") || status === "requested").toBe(true);
      expect(mayTransition("gone", status, "sweep")).toBe(true);
    },
  );
});

describe("LedgerChanges", () => {
  it("writes each entry once, from the version read, with every event of the run", () => {
    const changes = new LedgerChanges([entry({ version: 4 })], ctx("operator"));
    changes.update("token-101", { purpose: "p1" }, "updated", "one");
    changes.update("token-101", { notes: "n" }, "updated", "two");
    const [write, ...rest] = changes.writes();
    expect(rest).toEqual([]);
    expect(write?.expectedVersion).toBe(4);
    expect(write?.entry).toMatchObject({ version: 5, purpose: "p1", notes: "n", updatedBy: "a-operator" });
    expect(write?.events.map((e) => [e.action, e.version, e.reason, e.actor])).toEqual([
      ["updated", 5, "one", "a-operator"],
      ["updated", 5, "two", "a-operator"],
    ]);
  });

  it("a patch that changes nothing writes nothing; structures compare by value, in any key order", () => {
    const changes = new LedgerChanges(
      [entry({ permissions: { "repository.contents": "read", "repository.issues": "write" } })],
      ctx("operator"),
    );
    changes.update(
      "token-101",
      { permissions: { "repository.issues": "write", "repository.contents": "read" } },
      "updated",
      "same",
    );
    expect(changes.writes()).toEqual([]);
  });
});

describe("LedgerIndex: the one matcher", () => {
  const older = entry({ entryId: "old", status: "revoked", updatedAt: "2026-01-01T00:00:00.000Z" });
  const live = entry({ entryId: "new", status: "active", updatedAt: "2025-01-01T00:00:00.000Z" });

  it("by token id: a live entry wins over a revoked or gone one, whatever the order", () => {
    expect(new LedgerIndex([older, live]).withTokenId(101)?.entryId).toBe("new");
    expect(new LedgerIndex([live, older]).withTokenId(101)?.entryId).toBe("new");
  });

  it("among live entries, the lowest entry id, however recently each was changed", () => {
    const a = entry({ entryId: "a", updatedAt: "2026-01-02T00:00:00.000Z" });
    const b = entry({ entryId: "b", updatedAt: "2026-01-03T00:00:00.000Z" });
    expect(new LedgerIndex([b, a]).withTokenId(101)?.entryId).toBe("a");
  });

  it("by owner in any case and exact name, only where no token id says otherwise", () => {
    const byName = entry({ entryId: "by-name", tokenId: null, owner: "Alice" });
    const index = new LedgerIndex([byName]);
    expect(index.match({ tokenId: 555, owner: "ALICE", tokenName: "deploy-bot" })?.entryId).toBe("by-name");
    expect(index.match({ tokenId: 555, owner: "alice", tokenName: "Deploy-Bot" })).toBeUndefined();
    const known = new LedgerIndex([entry({ tokenId: 7, owner: "alice" })]);
    expect(known.match({ tokenId: 8, owner: "alice", tokenName: "deploy-bot" })).toBeUndefined();
    expect(known.match({ tokenId: null, owner: "alice", tokenName: "deploy-bot" })?.tokenId).toBe(7);
  });

  it("a command's reference: not found, or ambiguous between two live entries, is an error", () => {
    const index = new LedgerIndex([entry({ entryId: "x", tokenId: 1 }), entry({ entryId: "y", tokenId: 2 })]);
    expect(() => index.find({ tokenId: 3 })).toThrow(EntryNotFoundError);
    expect(() => index.find({ owner: "alice", tokenName: "deploy-bot" })).toThrow(AmbiguousEntryError);
  });
});

describe("the field declaration", () => {
  it("gives a new entry every field, at its initial value", () => {
    const fresh = newEntry({ org: ORG, entryId: "e", tokenName: "t", owner: "o", status: "active" });
    expect(Object.keys(fresh).sort()).toEqual(Object.keys(FIELDS).sort());
    expect(fresh).toMatchObject({ permissions: {}, scope: null, revokedReason: null, renew: false });
  });

  it("declares an option for each field an operator may set", () => {
    expect(OPTION_FIELDS.map((f) => f.flag)).toEqual([
      "--purpose",
      "--scope",
      "--permissions",
      "--created-at",
      "--risks",
      "--approved-by",
      "--expires-at",
      "--needed-until",
      "--renew",
      "--slack",
      "--notes",
      "--email",
    ]);
  });

  it("checks items read back from the store, naming the entry and the field", () => {
    const item = { ...entry(), status: "approved", version: "3" } as Record<string, unknown>;
    expect(() => parseStoredEntry(item)).toThrow(MalformedEntryError);
    expect(() => parseStoredEntry(item)).toThrow(/ledger entry token-101 is malformed: .*status.*version/);
  });

  it("checks events read back too, naming the entry and version", () => {
    const event = {
      org: ORG,
      entryId: "token-101",
      version: 2,
      at: "2026-01-01T00:00:00.000Z",
      actor: "a",
      action: "updated",
      reason: "r",
      runId: null,
      changes: { notes: ["", "x"] },
    };
    expect(parseStoredEvent(event)).toEqual(event);
    expect(() => parseStoredEvent({ ...event, actor: 7 })).toThrow(
      /ledger event of token-101 version 2 is malformed: actor/,
    );
  });

  it("reads the forms items had before the ledger was structured", () => {
    const legacy = {
      ...entry(),
      permissions: "contents:read; issues:write; read-only for now",
      scope: "subset: api",
      revokedReason: "expired: expired 2026-05-01 and not marked for renewal",
      revokedDetail: undefined,
      goneFrom: undefined,
    } as Record<string, unknown>;
    expect(parseStoredEntry(legacy)).toMatchObject({
      permissions: { "repository.contents": "read", "repository.issues": "write" },
      scope: { selection: "subset", repositories: ["api"] },
      revokedReason: "expired",
      revokedDetail: "expired 2026-05-01 and not marked for renewal",
      goneFrom: null,
    });
  });
});

describe("items from before the ledger was structured", () => {
  it.each([
    [{ revokedReason: "leaked in CI logs" }, { revokedReason: null, revokedDetail: "leaked in CI logs" }],
    [
      { revokedReason: "on-demand: laptop stolen" },
      { revokedReason: "on-demand", revokedDetail: "laptop stolen" },
    ],
    [{ scope: "All repositories" }, { scope: { selection: "all", repositories: [] } }],
    [{ scope: "all repos but prod" }, { scope: { selection: "all", repositories: [] } }],
    [{ scope: "see the wiki" }, { scope: null }],
  ])("%j is read as %j, never refused", (legacy, read) => {
    const item = { ...entry(), revokedDetail: undefined, ...legacy } as Record<string, unknown>;
    expect(parseStoredEntry(item)).toMatchObject(read);
  });
});

describe("classic PAT entries", () => {
  it("are never matched by name to a fine-grained token", () => {
    const classic = entry({ entryId: "classic-7001", tokenId: null, owner: "amy", tokenName: "deploy-bot" });
    expect(
      new LedgerIndex([classic]).match({ tokenId: 101, owner: "amy", tokenName: "deploy-bot" }),
    ).toBeUndefined();
  });
});
