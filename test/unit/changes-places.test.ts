import { describe, expect, it } from "vitest";
import { LedgerChanges } from "../../lambdas/core/changes";
import { entry, NOW } from "./fixtures";

const ctx = { org: "acme", now: NOW, actor: "patrol-sweep", runId: "run-1" };

describe("LedgerChanges places", () => {
  it("keeps each entry's place through updates, and puts created entries last", () => {
    const changes = new LedgerChanges([entry({ entryId: "a" }), entry({ entryId: "b" })], ctx);
    const placeOfB = changes.placeOf("b");

    const updated = changes.update("b", { notes: "changed" }, "updated", "why");
    const created = changes.create(entry({ entryId: "c" }), "discovered", "new");

    expect(placeOfB).toBe(1);
    expect(changes.at(1)).toBe(updated);
    expect(changes.placeOf("b")).toBe(1);
    expect(changes.count).toBe(3);
    expect(changes.placeOf("c")).toBe(2);
    expect(changes.at(2)).toBe(created);
    expect([...changes.all()].map((e) => e.entryId)).toEqual(["a", "b", "c"]);
    expect(changes.get("b")).toBe(updated);
  });

  it("reads a noted entry's new version at its place", () => {
    const changes = new LedgerChanges([entry({ entryId: "a", version: 4 })], ctx);

    changes.note("a", "revoke-failed", "no answer");

    expect(changes.at(0).version).toBe(5);
    expect(changes.get("a")?.version).toBe(5);
  });

  it("has no place for an id it does not hold, and refuses one past the end", () => {
    const changes = new LedgerChanges([entry({ entryId: "a" })], ctx);

    expect(changes.placeOf("z")).toBeUndefined();
    expect(changes.get("z")).toBeUndefined();
    expect(() => changes.at(1)).toThrow(/no ledger entry at place 1/);
  });

  it("holds an id given twice once: the later entry, in the earlier one's place", () => {
    const first = entry({ entryId: "a", notes: "first" });
    const later = entry({ entryId: "a", notes: "later" });
    const changes = new LedgerChanges([first, entry({ entryId: "b" }), later], ctx);

    expect(changes.count).toBe(2);
    expect([...changes.all()].map((e) => [e.entryId, e.notes])).toEqual([
      ["a", "later"],
      ["b", ""],
    ]);
    expect(changes.placeOf("b")).toBe(1);
    expect(changes.freeId("a")).toBe("a-2");
  });

  it("lets an update while walking all() replace the entry in place", () => {
    const changes = new LedgerChanges([entry({ entryId: "a" }), entry({ entryId: "b" })], ctx);
    const seen: string[] = [];

    for (const e of changes.all()) {
      seen.push(e.entryId);
      changes.update(e.entryId, { notes: "walked" }, "updated", "why");
    }

    expect(seen).toEqual(["a", "b"]);
    expect([...changes.all()].map((e) => e.notes)).toEqual(["walked", "walked"]);
  });
});
