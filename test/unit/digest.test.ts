import { describe, expect, it } from "vitest";
import { buildDigest, escapeMrkdwn, type ItemDetail } from "../../lambdas/core/digest";
import type { SweepReport } from "../../lambdas/core/report";
import { githubWebUrl } from "../../lambdas/core/slack-console";
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

const texts = (blocks: readonly unknown[]) => JSON.stringify(blocks);

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

  it("cuts a long list: the shown items carry buttons, the rest are overflow for the attached file", () => {
    const digest = buildDigest(
      report(),
      [],
      Array.from({ length: 40 }, (_, i) => alert(i)),
    );
    const title = (digest?.blocks ?? []).find((b) => JSON.stringify(b).includes("Expiring soon"));
    expect(JSON.stringify(title)).toContain("(40) — 6 shown, the full list is attached in the thread");
    expect(digest?.shown).toHaveLength(6);
    expect(digest?.overflow).toHaveLength(34);
    const keys = new Set([...(digest?.shown ?? []), ...(digest?.overflow ?? [])].map((a) => a.key));
    expect(keys.size).toBe(40);
    expect(digest?.blocks.filter((b) => b.type === "actions")).toHaveLength(6);
    expect(digest?.blocks.length).toBeLessThanOrEqual(50);
  });

  it("stays within Slack's 50 blocks however many kinds of alert a night has", () => {
    const kinds = [
      "held",
      "expired-awaiting-renewal",
      "expiring",
      "unregistered",
      "permission-drift",
      "no-expiry",
      "unused",
      "request-waiting",
    ] as const;
    const alerts = kinds.flatMap((kind, k) =>
      Array.from({ length: 10 }, (_, i) => alert(k * 100 + i, { kind, key: `${kind}:${i}` })),
    );
    const digest = buildDigest(
      report({ errors: [{ stage: "list", message: "x" }] }),
      [revocation(1)],
      alerts,
    );
    expect(digest?.blocks.length).toBeLessThanOrEqual(50);
    expect((digest?.shown.length ?? 0) + (digest?.overflow.length ?? 0)).toBe(80);
    const blockIds = (digest?.blocks ?? []).flatMap((b) =>
      "block_id" in b && b.block_id ? [b.block_id] : [],
    );
    expect(new Set(blockIds).size).toBe(blockIds.length);
  });

  it("shows each item's access, dates, ids and link, and the buttons its kind needs", () => {
    const details = (a: Alert): ItemDetail => ({
      patId: 7000 + (a.tokenId ?? 0),
      requestId: a.kind === "request-waiting" ? 55 : null,
      permissions: { "repository.contents": "write", "repository.metadata": "read" },
      repositorySelection: "subset",
      repositoryCount: 3,
      grantedAt: "2026-06-01T00:00:00Z",
      lastUsedAt: a.kind === "expiring" ? "2026-06-13T00:00:00Z" : null,
    });
    const digest = buildDigest(
      report(),
      [],
      [
        alert(1, { daysLeft: 6 }),
        alert(2, {
          kind: "unregistered",
          key: "unregistered",
          daysLeft: undefined,
          detail: "not in the ledger",
        }),
        alert(3, {
          kind: "request-waiting",
          key: "rq",
          daysLeft: undefined,
          detail: "request 55 waiting 3 days",
        }),
      ],
      { webUrl: "https://ghe.example.com", details },
    );
    const body = texts(digest?.blocks ?? []);
    expect(body).toContain("contents:write, metadata:read on 3 repos");
    expect(body).toContain("granted 14 days ago · last used 2 days ago · grant 7001 · token 1");
    expect(body).toContain("never used · grant 7002");
    expect(body).toContain(
      "<https://ghe.example.com/organizations/acme/settings/personal-access-tokens/active|on GitHub>",
    );
    expect(body).toContain("settings/personal-access-token-requests|review on GitHub>");
    const labels = (entryId: string) =>
      (digest?.blocks ?? [])
        .filter((b) => b.type === "actions" && b.block_id?.startsWith(`item:${entryId}:`))
        .flatMap((b) =>
          b.type === "actions" ? b.elements.map((e) => ("text" in e ? e.text?.text : "")) : [],
        );
    expect(labels("token-1")).toEqual(["Renewing", "Not needed", "Revoke now", "Flag compromised"]);
    expect(labels("token-2")).toEqual(["Register…", "Revoke now", "Flag compromised"]);
    expect(labels("token-3")).toEqual(["Approve…", "Deny…"]);
    const revoke = (digest?.blocks ?? [])
      .flatMap((b) => (b.type === "actions" ? b.elements : []))
      .find((e) => "text" in e && e.text?.text === "Revoke now");
    expect(revoke).toMatchObject({ style: "danger", confirm: { confirm: { text: "Revoke now" } } });
    expect(JSON.parse((revoke as { value: string }).value)).toEqual({ org: "acme", entryId: "token-1" });
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

describe("githubWebUrl: GitHub's web pages from its API address", () => {
  it.each([
    [undefined, "https://github.com"],
    ["https://api.github.com", "https://github.com"],
    ["https://api.github.com/", "https://github.com"],
    ["https://ghe.example.com/api/v3", "https://ghe.example.com"],
    ["https://api.octocorp.ghe.com", "https://octocorp.ghe.com"],
    ["http://127.0.0.1:3000/api/v3", "http://127.0.0.1:3000"],
  ])("%s → %s", (api, web) => {
    expect(githubWebUrl(api)).toBe(web);
  });
});
