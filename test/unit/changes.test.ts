import { describe, expect, it } from "vitest";
import { LedgerChanges, mergeWrites } from "../../lambdas/core/changes";
import { entry, NOW } from "./fixtures";

const ctx = { org: "acme", now: NOW, actor: "patrol-sweep", runId: "run-1" };

describe("mergeWrites", () => {
  it("writes an entry changed in two rounds once, from the version first read, with both rounds' events", () => {
    const start = entry({ entryId: "a", version: 4 });
    const first = new LedgerChanges([start], ctx);
    first.update("a", { status: "revoked" }, "revoked", "expired");
    const [firstWrite] = first.writes();
    const second = new LedgerChanges([firstWrite?.entry ?? start], ctx);
    second.update("a", { alertsSent: { "revoked:x": NOW.toISOString() } }, "alerted", "sent");
    const other = new LedgerChanges([entry({ entryId: "b", version: 1 })], ctx);
    other.update("b", { notes: "n" }, "updated", "why");

    const merged = mergeWrites(first.writes(), [...second.writes(), ...other.writes()]);

    expect(merged).toHaveLength(2);
    const a = merged.find((w) => w.entry.entryId === "a");
    expect(a?.expectedVersion).toBe(4);
    expect(a?.entry).toMatchObject({
      version: 5,
      status: "revoked",
      alertsSent: { "revoked:x": NOW.toISOString() },
    });
    expect(a?.events.map((e) => [e.action, e.version])).toEqual([
      ["revoked", 5],
      ["alerted", 5],
    ]);
    expect(merged.find((w) => w.entry.entryId === "b")?.expectedVersion).toBe(1);
  });
});
