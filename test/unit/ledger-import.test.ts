import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ledgerCsv, parseLedgerCsv } from "../../lambdas/core/ledger-csv";
import { planImport } from "../../lambdas/core/ledger-import";
import type { LedgerEntry } from "../../lambdas/core/types";
import { applyWrites, entry, NOW, perms, scope } from "./fixtures";

const ctx = { org: "acme", now: NOW, actor: "ops-sam", writer: "import" as const, runId: "import-1" };

describe("planImport", () => {
  it("leaves the fields of columns the file does not have as the ledger has them", () => {
    const known = entry({
      tokenId: 7,
      tokenName: "t",
      owner: "amy",
      purpose: "old",
      expiresAt: "2027-01-01T00:00:00.000Z",
      renew: true,
    });

    const { outcomes, writes } = planImport(
      parseLedgerCsv("token_name,owner,token_id,purpose\nt,amy,7,new\n"),
      [known],
      ctx,
      "a.csv",
    );

    expect(outcomes).toEqual([expect.objectContaining({ action: "updated", detail: "changed purpose" })]);
    expect(writes[0]?.entry).toMatchObject({
      purpose: "new",
      expiresAt: "2027-01-01T00:00:00.000Z",
      renew: true,
      status: "active",
    });
  });

  it("never unflags a compromised token: that takes a person, on purpose", () => {
    const flagged = entry({ tokenId: 7, tokenName: "t", owner: "amy", status: "flagged" });

    const { outcomes, writes } = planImport(
      parseLedgerCsv("token_name,owner,token_id,status\nt,amy,7,active\n"),
      [flagged],
      ctx,
      "a.csv",
    );

    expect(writes).toEqual([]);
    expect(outcomes[0]).toMatchObject({
      action: "unchanged",
      detail: "status stays flagged (the row says active)",
    });
  });

  it("registers an unregistered token the spreadsheet lists as active", () => {
    const seen = entry({ tokenId: 7, tokenName: "t", owner: "amy", status: "unregistered" });

    const { writes } = planImport(
      parseLedgerCsv("token_name,owner,token_id,status\nt,amy,7,active\n"),
      [seen],
      ctx,
      "a.csv",
    );

    expect(writes[0]?.entry.status).toBe("active");
    expect(writes[0]?.events[0]).toMatchObject({
      actor: "ops-sam",
      action: "adopted",
      reason: "registered: imported from a.csv, row 2",
    });
  });

  it("leaves an unregistered token unregistered while the sheet gives it no purpose or approver", () => {
    const seen = entry({
      tokenId: 7,
      tokenName: "t",
      owner: "amy",
      status: "unregistered",
      purpose: "",
      approvedBy: "",
    });

    const { writes, outcomes } = planImport(
      parseLedgerCsv("token_name,owner,token_id,status\nt,amy,7,active\n"),
      [seen],
      ctx,
      "a.csv",
    );

    expect(writes).toEqual([]);
    expect(outcomes[0]?.detail).toContain(
      "status stays unregistered (the row says active; registering it needs its purpose and approver)",
    );
  });
});

describe("import → export → import", () => {
  const text = fc
    .array(
      fc.oneof(fc.constantFrom(",", '"', "\n", "=", "-", "'", " ", ";", "é"), fc.string({ maxLength: 6 })),
      {
        maxLength: 6,
      },
    )
    .map((parts) => parts.join("").trim());
  const date = fc.option(
    fc
      .date({
        min: new Date("2000-01-01T00:00:00Z"),
        max: new Date("2099-12-31T00:00:00Z"),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString()),
    { nil: null },
  );
  const row = fc.record({
    tokenName: text.filter((t) => t !== ""),
    owner: fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/),
    purpose: text,
    scope: fc.constantFrom("", "all", "none", "subset: api, web").map(scope),
    permissions: fc.constantFrom("", "contents:read", "issues:write; members:read").map(perms),
    createdAt: date,
    risks: text,
    approvedBy: text,
    expiresAt: date,
    neededUntil: date,
    renew: fc.boolean(),
    status: fc.constantFrom("active", "retired", "flagged"),
    tokenId: fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: null }),
    slack: fc.constantFrom("", "U012AB3CD"),
    notes: text,
  } as const);
  const sheet = fc.uniqueArray(row, {
    maxLength: 6,
    selector: (r) => r.tokenId ?? `${r.owner}\n${r.tokenName}`,
  });

  /** What an entry says, without the bookkeeping of the write that made it. */
  const content = (e: LedgerEntry) => {
    const { version: _v, updatedAt: _a, updatedBy: _b, ...rest } = e;
    return rest;
  };
  const importInto = (csv: string, ledger: LedgerEntry[]) =>
    applyWrites(ledger, planImport(parseLedgerCsv(csv), ledger, ctx, "sheet.csv").writes);

  it("is a fixed point for every field: what the first import wrote, the second import of its export writes again", () => {
    fc.assert(
      fc.property(sheet, (rows) => {
        const first = importInto(ledgerCsv(rows.map((r, i) => entry({ ...r, entryId: `seed-${i}` }))), []);
        const second = importInto(ledgerCsv(first), []);
        expect(second.map(content)).toEqual(first.map(content));
        // And into the ledger it came from, it changes nothing.
        expect(planImport(parseLedgerCsv(ledgerCsv(first)), first, ctx, "again.csv").writes).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

describe("planImport keeps what the sheet does not know", () => {
  it("an empty token_id cell leaves the token id the sweep learned", () => {
    const known = entry({ tokenId: 7, tokenName: "t", owner: "amy", purpose: "old" });
    const { writes } = planImport(
      parseLedgerCsv("token_name,owner,token_id,purpose\nt,amy,,new\n"),
      [known],
      ctx,
      "a.csv",
    );
    expect(applyWrites([known], writes)[0]).toMatchObject({ tokenId: 7, purpose: "new" });
  });

  it("a spreadsheet's ID column is not taken for token ids", () => {
    expect(() => parseLedgerCsv("ID,token_name,owner\n1,t,amy\n")).toThrow(
      /column "ID" \(column 1\) is not a ledger field/,
    );
  });
});

describe("planImport refuses a row it cannot place", () => {
  it("a row without token id whose name two live entries hold (a token and its renewal) is refused", () => {
    const old = entry({ entryId: "token-7", tokenId: 7, tokenName: "t", owner: "amy", renew: false });
    const renewed = entry({ entryId: "token-8", tokenId: 8, tokenName: "t", owner: "amy", renew: true });
    expect(() =>
      planImport(parseLedgerCsv("token_name,owner,status\nt,amy,flagged\n"), [old, renewed], ctx, "a.csv"),
    ).toThrow(/row 2: amy\/t matches 2 entries \(token-7, token-8\); add the token_id to say which/);
  });
});
