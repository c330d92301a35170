import { describe, expect, it } from "vitest";
import { StringPool } from "../../lambdas/adapters/string-pool";

describe("StringPool", () => {
  it("gives back equal values and passes null and undefined through", () => {
    const pool = new StringPool();
    const first = ["ali", "ce"].join("");
    expect(pool.intern(first)).toBe("alice");
    expect(pool.intern(["al", "ice"].join(""))).toBe("alice");
    expect(pool.intern(null)).toBeNull();
    expect(pool.intern(undefined)).toBeUndefined();
  });

  it("interns only the named string fields, leaving every value as it was", () => {
    const pool = new StringPool();
    const record = {
      owner: "bob",
      status: "active",
      version: 3,
      expiresAt: null as string | null,
      purpose: "ci",
    };
    const copy = structuredClone(record);
    expect(pool.internFields(record, ["owner", "status", "version", "expiresAt"])).toEqual(copy);
  });
});
