import { describe, expect, it } from "vitest";
import { newEntry } from "../../lambdas/core/ledger/fields";
import { judgeListing, unlistedTokenIds } from "../../lambdas/core/listing";
import { DEFAULT_POLICY } from "../../lambdas/core/policy";
import type { Grant, LedgerEntry, Status } from "../../lambdas/core/types";

function entry(n: number, status: Status = "active", seen = true): LedgerEntry {
  return newEntry({
    org: "acme",
    entryId: `token-${n}`,
    tokenId: n,
    patId: seen ? 1000 + n : null,
    tokenName: `svc-${n}`,
    owner: "dev",
    status,
  });
}

function grant(n: number): Grant {
  return {
    patId: 1000 + n,
    tokenId: n,
    tokenName: `svc-${n}`,
    owner: "dev",
    repositorySelection: "all",
    permissions: {},
    accessGrantedAt: "2026-01-01T00:00:00.000Z",
    tokenExpired: false,
    tokenExpiresAt: null,
    tokenLastUsedAt: null,
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("judgeListing: whether a night's listing can be believed", () => {
  it.each([
    // known live grants, listed, suspect?
    { known: 100, listed: 100, suspect: false },
    { known: 100, listed: 80, suspect: false }, // 20% lost: at the share, not above it
    { known: 100, listed: 79, suspect: true },
    { known: 100, listed: 0, suspect: true },
    { known: 3, listed: 1, suspect: false }, // two lost in a small org: under the minimum of three
    { known: 3, listed: 0, suspect: true },
    { known: 0, listed: 0, suspect: false },
  ])("$known known, $listed listed: suspect $suspect", ({ known, listed, suspect }) => {
    const verdict = judgeListing(
      range(known).map((n) => entry(n)),
      range(listed).map(grant),
      DEFAULT_POLICY,
    );
    expect(verdict).toMatchObject({ known, missing: known - listed, suspect });
    expect(verdict.message !== undefined).toBe(suspect);
  });

  it("counts only live entries that were seen with a grant and are not being revoked by patrol", () => {
    const revoking = {
      ...entry(5, "flagged"),
      pendingRevocation: {
        patId: 1005,
        reason: "flagged" as const,
        detail: "",
        by: "sweep",
        runId: "r",
        at: "",
      },
    };
    const entries = [
      entry(1, "revoked"),
      entry(2, "gone"),
      entry(3, "active", false),
      entry(4, "retired"),
      revoking,
    ];
    expect(judgeListing(entries, [], DEFAULT_POLICY)).toMatchObject({ known: 1, missing: 1, suspect: false });
  });

  it("names the share and what it did not do", () => {
    const verdict = judgeListing(
      range(10).map((n) => entry(n)),
      [],
      DEFAULT_POLICY,
    );
    expect(verdict.message).toBe(
      "listing suspect: GitHub listed 0 grants, and 10 of the 10 the ledger knows to be live (100%) are not among them, more than the policy's 20%: nothing was marked gone; the next sweep checks again",
    );
  });
});

describe("unlistedTokenIds: what is confirmed by token id", () => {
  it("asks for live entries with a token id the listing did not show, once each", () => {
    const entries = [entry(1), entry(2), entry(3, "revoked"), entry(4, "active", false), entry(5, "flagged")];
    expect(unlistedTokenIds(entries, [grant(1)], []).sort()).toEqual([2, 4, 5]);
  });
});
