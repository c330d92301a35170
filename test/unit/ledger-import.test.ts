import { describe, expect, it } from "vitest";
import { parseLedgerCsv } from "../../lambdas/core/ledger-csv";
import { planImport } from "../../lambdas/core/ledger-import";
import { entry, NOW } from "./fixtures";

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
      action: "imported",
      reason: "imported from a.csv, row 2",
    });
  });
});
