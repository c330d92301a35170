import { describe, expect, it } from "vitest";
import { buildDigest, escapeMrkdwn } from "../../lambdas/core/digest";
import type { SweepReport } from "../../lambdas/core/report";
import type { Alert, Revocation } from "../../lambdas/core/types";

function report(overrides: Partial<SweepReport> = {}): SweepReport {
  return {
    org: "acme",
    dryRun: false,
    mode: "enforce",
    runId: "run-1",
    now: "2026-06-15T12:00:00.000Z",
    scanned: 100,
    requests: 0,
    revoked: [],
    alerts: [],
    held: [],
    errors: [],
    slack: { sent: false },
    ledger: { entries: 100, written: 0, conflicts: 0 },
    listing: { known: 100, missing: 0, confirmed: 0, found: 0, suspect: false },
    ...overrides,
  };
}

function alert(n: number, overrides: Partial<Alert> = {}): Alert {
  return {
    kind: "expiring",
    key: `expiring:x:${n}`,
    entryId: `token-${n}`,
    tokenId: n,
    tokenName: `tok-${n}`,
    owner: `user${n}`,
    slack: "",
    detail: "expires 2026-06-20",
    daysLeft: (n % 30) + 1,
    ...overrides,
  };
}

function revocation(n: number): Revocation & { slack: string } {
  return {
    entryId: `token-${n}`,
    patId: n,
    tokenId: n,
    tokenName: `old-${n}`,
    owner: "bob",
    reason: "expired",
    detail: "expired 2026-06-01",
    slack: "",
  };
}

const texts = (blocks: Record<string, unknown>[]) => JSON.stringify(blocks);

describe("the Slack digest", () => {
  it("is null on a quiet night, so nothing is sent", () => {
    expect(buildDigest(report(), [], [])).toBeNull();
  });

  it("lists revocations with reasons, then alerts by kind, most urgent first", () => {
    const digest = buildDigest(
      report(),
      [revocation(1)],
      [alert(2, { daysLeft: 14 }), alert(3, { daysLeft: 1 })],
    );
    const body = texts(digest?.blocks ?? []);
    expect(body).toContain("Revoked* (1)");
    expect(body).toContain("`old-1` of bob: expired: expired 2026-06-01");
    expect(body.indexOf("tok-3")).toBeLessThan(body.indexOf("tok-2"));
    expect(digest?.text).toBe("patrol · acme: 1 revoked, 2 alerts, 0 errors");
  });

  it("cuts a long list with 'and N more' instead of sending many messages", () => {
    const digest = buildDigest(
      report(),
      [],
      Array.from({ length: 40 }, (_, i) => alert(i)),
    );
    const section = (digest?.blocks ?? []).find((b) => JSON.stringify(b).includes("Expiring soon"));
    const text = (section as { text: { text: string } }).text.text;
    expect(text.split("\n").filter((l) => l.startsWith("•"))).toHaveLength(15);
    expect(text).toContain("…and 25 more");
    expect(digest?.blocks.length).toBeLessThanOrEqual(50);
  });

  it("keeps every section under Slack's 3,000-character limit", () => {
    const long = Array.from({ length: 15 }, (_, i) => alert(i, { detail: "x".repeat(400) }));
    const digest = buildDigest(report(), [], long);
    for (const block of digest?.blocks ?? []) {
      const text = (block as { text?: { text?: string } }).text?.text ?? "";
      expect(text.length).toBeLessThanOrEqual(3000);
    }
  });

  it("mentions an owner by Slack id when the ledger knows it, and escapes names", () => {
    const digest = buildDigest(
      report(),
      [],
      [alert(1, { slack: "U0ALICE", tokenName: "<script>&" }), alert(2, { slack: "not-an-id" })],
    );
    const body = texts(digest?.blocks ?? []);
    expect(body).toContain("<@U0ALICE>");
    expect(body).toContain("&lt;script&gt;&amp;");
    expect(body).not.toContain("<@not-an-id>");
    expect(escapeMrkdwn("a<b>&c")).toBe("a&lt;b&gt;&amp;c");
  });

  it("says when a revocation notice comes late and when the run is in report mode", () => {
    const late = alert(5, {
      kind: "revoked",
      key: "revoked:x",
      detail: "revoked 2026-06-14: expired",
      daysLeft: undefined,
    });
    const body = texts(buildDigest(report({ mode: "report" }), [], [late])?.blocks ?? []);
    expect(body).toContain("notice delayed");
    expect(body).toContain("report mode: nothing is revoked");
  });
});
