import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeDynamoLedger } from "../../lambdas/adapters/ledger";
import { buildDeps } from "../../lambdas/app/deps";
import { parseEnv } from "../../lambdas/config";
import { ledgerCsv, parseLedgerCsv } from "../../lambdas/core/ledger-csv";
import { InvalidEventError, makeSweepHandler, SweepFailedError } from "../../lambdas/handlers/sweep";
import { type EmbeddedDynamo, ensureLedgerTable, startEmbeddedDynamo } from "../sim/dynamodb-sim";
import { type Loopback, startLoopback } from "../sim/harness";
import { type SecretsSim, startSecretsSim } from "../sim/secrets-sim";

const DAY = 86_400_000;
/** Real time: an event's `now` is a what-if that changes nothing, so the sweeps that act run as of now. */
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();
const AWS = { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };

let loopback: Loopback;
let dynamo: EmbeddedDynamo;
let secrets: SecretsSim;
let tableSeq = 0;

beforeAll(async () => {
  [loopback, dynamo, secrets] = await Promise.all([
    startLoopback({ orgs: ["multi", "steady", "faulty", "quiet", "appauth"] }),
    startEmbeddedDynamo(),
    startSecretsSim(),
  ]);
  // The SDK clients built inside patrol find the simulators through the SDK's own endpoint variables.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
  process.env.AWS_REGION = AWS.region;
  process.env.AWS_ACCESS_KEY_ID = AWS.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = AWS.credentials.secretAccessKey;
});

afterAll(async () => {
  await Promise.all([loopback?.close(), dynamo?.close(), secrets?.close()]);
});

afterEach(() => {
  loopback.slack.setDown(false);
});

/** A fresh table per test, and a sweep handler wired exactly as in Lambda, but against the simulators. */
async function setup(extraEnv: Record<string, string> = {}) {
  const table = `patrol-ledger-${++tableSeq}`;
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, ...AWS });
  await ensureLedgerTable(client, table);
  const env = parseEnv({ ...loopback.env, PATROL_TABLE: table, ...extraEnv });
  const deps = await buildDeps(env, { allowEmbedded: false, retryAfterBaseValue: 10 });
  const handler = makeSweepHandler(async () => deps);
  const sweep = (org: string) => handler({ org });
  return { handler, sweep, ledger: makeDynamoLedger(client, table) };
}

async function importCsv(ledger: ReturnType<typeof makeDynamoLedger>, org: string, csv: string) {
  const { planImport } = await import("../../lambdas/core/ledger-import");
  const plan = planImport(
    parseLedgerCsv(csv),
    await ledger.load(org),
    { org, now: NOW, actor: "test", writer: "import", runId: "import" },
    "test.csv",
  );
  await ledger.write(plan.writes);
}

describe("the sweep Lambda against the simulated org", () => {
  it("sweeps a multi-page org: every token scanned, the right ones revoked, the reason recorded", async () => {
    const org = loopback.github.org("multi");
    const rows = ["token_name,owner,status,renew,token_id"];
    for (let i = 0; i < 250; i++) {
      const expired = i % 50 === 0; // 5 expired
      org.addGrant({
        tokenId: 10_000 + i,
        owner: `dev${i % 7}`,
        tokenName: `svc-${i}`,
        accessGrantedAt: at(-30),
        tokenExpiresAt: expired ? at(-1) : at(200),
        tokenExpired: expired,
        tokenLastUsedAt: at(-1),
      });
      rows.push(`svc-${i},dev${i % 7},${i === 7 ? "flagged" : "active"},no,${10_000 + i}`);
    }
    const { sweep, ledger } = await setup();
    await importCsv(ledger, "multi", rows.join("\n"));
    const listBefore = loopback.github.requests.filter(
      (r) => r.path === "/orgs/multi/personal-access-tokens" && r.method === "GET",
    ).length;

    const report = await sweep("multi");

    const pages =
      loopback.github.requests.filter(
        (r) => r.path === "/orgs/multi/personal-access-tokens" && r.method === "GET",
      ).length - listBefore;
    expect(pages).toBe(3);
    expect(report.scanned).toBe(250);
    expect(report.errors).toEqual([]);
    expect(report.revoked.map((r) => [r.tokenName, r.reason]).sort()).toEqual(
      [
        ["svc-0", "expired"],
        ["svc-100", "expired"],
        ["svc-150", "expired"],
        ["svc-200", "expired"],
        ["svc-50", "expired"],
        ["svc-7", "flagged"],
      ].sort(),
    );
    expect(org.grants()).toHaveLength(244);
    // Every revoked token carries its reason, actor and time in the ledger, and the export shows them.
    const entries = await ledger.load("multi");
    const revoked = entries.filter((e) => e.revokedAt !== null);
    expect(revoked).toHaveLength(6);
    // The flagged token stays flagged, so that it is revoked again should it ever be granted access again.
    expect(revoked.map((e) => e.status).sort()).toEqual([
      "flagged",
      "revoked",
      "revoked",
      "revoked",
      "revoked",
      "revoked",
    ]);
    for (const e of revoked) {
      expect(e.revokedReason).toMatch(/^(expired|flagged)$/);
      expect(e.revokedBy).toBe("patrol-sweep");
      expect(e.revokedAt).toBe(report.now);
      expect(e.pendingRevocation).toBeNull();
    }
    const exported = parseLedgerCsv(ledgerCsv(entries));
    expect(exported).toHaveLength(250);
    const csv = ledgerCsv(revoked);
    expect(csv).toContain("revoked_reason,revoked_detail,revoked_at,revoked_by");
    expect(csv).toContain(`expired,expired ${at(-1).slice(0, 10)}`);
    // …and the audit trail says the intent came before the revocation.
    const history = await ledger.history("multi", revoked[0]?.entryId ?? "");
    expect(history.map((h) => h.action)).toEqual(expect.arrayContaining(["revoke-intent", "revoked"]));
    expect(history.findIndex((h) => h.action === "revoke-intent")).toBeLessThan(
      history.findIndex((h) => h.action === "revoked"),
    );
  });

  it("a second sweep the same night revokes nothing and sends nothing", async () => {
    const org = loopback.github.org("steady");
    org.addGrant({
      tokenId: 1,
      owner: "amy",
      tokenName: "old",
      tokenExpiresAt: at(-2),
      tokenExpired: true,
      accessGrantedAt: at(-90),
    });
    org.addGrant({
      tokenId: 2,
      owner: "amy",
      tokenName: "soon",
      tokenExpiresAt: at(6),
      accessGrantedAt: at(-90),
      tokenLastUsedAt: at(-1),
    });
    org.addGrant({
      tokenId: 3,
      owner: "bo",
      tokenName: "stranger",
      tokenExpiresAt: at(100),
      accessGrantedAt: at(-1),
      tokenLastUsedAt: at(-1),
    });
    const { sweep, ledger } = await setup();
    await importCsv(ledger, "steady", "token_name,owner,token_id\nold,amy,1\nsoon,amy,2\n");
    const postsBefore = loopback.slack.posts().length;

    const first = await sweep("steady");
    expect(first.revoked.map((r) => r.tokenName)).toEqual(["old"]);
    expect(first.alerts.map((a) => [a.kind, a.tokenName]).sort()).toEqual([
      ["expiring", "soon"],
      ["unregistered", "stranger"],
    ]);
    expect(first.slack.sent).toBe(true);
    expect(loopback.slack.posts()).toHaveLength(postsBefore + 1);
    const githubCalls = loopback.github.requests.length;

    const second = await sweep("steady");
    expect(second.revoked).toEqual([]);
    expect(second.alerts).toEqual([]);
    expect(second.slack.sent).toBe(false);
    expect(loopback.slack.posts()).toHaveLength(postsBefore + 1);
    expect(second.ledger.written).toBe(0);
    // Only listing: no revocation call went out.
    expect(
      loopback.github.requests
        .slice(githubCalls)
        .every((r) => r.method === "GET" || r.path.includes("access_tokens")),
    ).toBe(true);
  });

  it("retries a 502 on a page and a secondary rate limit on a revoke, and still finishes correctly", async () => {
    const org = loopback.github.org("faulty");
    for (let i = 0; i < 150; i++) {
      org.addGrant({
        tokenId: 20_000 + i,
        owner: "cy",
        tokenName: `t${i}`,
        tokenExpiresAt: i < 3 ? at(-1) : at(300),
        tokenExpired: i < 3,
        accessGrantedAt: at(-10),
        tokenLastUsedAt: at(-1),
      });
    }
    const { sweep, ledger } = await setup();
    await importCsv(
      ledger,
      "faulty",
      ["token_name,owner,token_id", ...Array.from({ length: 150 }, (_, i) => `t${i},cy,${20_000 + i}`)].join(
        "\n",
      ),
    );
    loopback.github.addFault({
      method: "GET",
      path: "/orgs/faulty/personal-access-tokens",
      status: 502,
      body: "<html>Bad gateway</html>",
    });
    loopback.github.addFault({
      method: "POST",
      path: "/orgs/faulty/personal-access-tokens",
      status: 403,
      headers: { "retry-after": "1" },
      body: {
        message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
      },
    });
    const start = loopback.github.requests.length;

    const report = await sweep("faulty");

    const calls = loopback.github.requests
      .slice(start)
      .filter((r) => r.path.startsWith("/orgs/faulty/personal-access-tokens"));
    expect(calls.filter((r) => r.status === 502)).toHaveLength(1);
    expect(calls.filter((r) => r.status === 403)).toHaveLength(1);
    expect(calls.filter((r) => r.method === "POST" && r.status === 202)).toHaveLength(1);
    expect(report.errors).toEqual([]);
    expect(report.scanned).toBe(150);
    expect(report.revoked.map((r) => r.tokenName).sort()).toEqual(["t0", "t1", "t2"]);
    expect(org.grants()).toHaveLength(147);
  });

  it("a Slack outage leaves the alerts unsent and fails the run; the next sweep sends them", async () => {
    const org = loopback.github.org("quiet");
    org.addGrant({
      tokenId: 31,
      owner: "di",
      tokenName: "expiring",
      tokenExpiresAt: at(3),
      accessGrantedAt: at(-60),
      tokenLastUsedAt: at(-1),
    });
    org.addGrant({
      tokenId: 32,
      owner: "di",
      tokenName: "expired",
      tokenExpiresAt: at(-3),
      tokenExpired: true,
      accessGrantedAt: at(-60),
    });
    const { handler, sweep, ledger } = await setup();
    await importCsv(ledger, "quiet", "token_name,owner,token_id\nexpiring,di,31\nexpired,di,32\n");
    loopback.slack.setDown(true);
    const postsBefore = loopback.slack.posts().length;

    // The invocation fails (so the alarm fires), after revoking what it had to.
    await expect(handler({ org: "quiet" })).rejects.toThrow(SweepFailedError);
    expect(org.grants().map((g) => g.token_name)).toEqual(["expiring"]);
    const afterOutage = await ledger.load("quiet");
    expect(afterOutage.every((e) => Object.keys(e.alertsSent).length === 0)).toBe(true);
    expect(afterOutage.find((e) => e.tokenId === 32)?.status).toBe("revoked");

    loopback.slack.setDown(false);
    const next = await sweep("quiet");
    expect(next.slack.sent).toBe(true);
    expect(next.alerts.map((a) => [a.kind, a.tokenName])).toEqual([["expiring", "expiring"]]);
    const posts = loopback.slack.posts().slice(postsBefore);
    expect(posts).toHaveLength(1);
    const text = JSON.stringify(posts[0]?.args.blocks);
    expect(text).toContain("expiring");
    // The revocation that Slack missed is announced late rather than never.
    expect(text).toContain("notice delayed");
    expect(text).not.toContain("xoxb-");
  });

  it("authenticates as a GitHub App whose key and installation come from Secrets Manager", async () => {
    loopback.github.org("appauth").addGrant({
      tokenId: 41,
      owner: "ed",
      tokenName: "x",
      tokenExpiresAt: at(100),
      accessGrantedAt: at(-1),
      tokenLastUsedAt: at(-1),
    });
    secrets.put(
      "patrol/github-app",
      JSON.stringify({
        appId: loopback.app.appId,
        privateKey: loopback.app.privateKeyPem,
        installationIds: { appauth: 90_004 },
      }),
    );
    secrets.put("patrol/slack", "xoxb-test-token");
    const { sweep } = await setup({
      GITHUB_APP_ID: "",
      GITHUB_APP_PRIVATE_KEY: "",
      SLACK_BOT_TOKEN: "",
      GITHUB_APP_SECRET_ARN: "patrol/github-app",
      SLACK_BOT_TOKEN_SECRET_ARN: "patrol/slack",
    });
    const start = loopback.github.requests.length;

    const report = await sweep("appauth");

    expect(report.errors).toEqual([]);
    expect(report.scanned).toBe(1);
    const auth = loopback.github.requests.slice(start).filter((r) => r.path.includes("/access_tokens"));
    expect(auth.map((r) => [r.path, r.status])).toEqual([["/app/installations/90004/access_tokens", 201]]);
  });

  it("refuses a malformed event with a message naming the field, and touches nothing", async () => {
    const { handler } = await setup();
    const before = loopback.github.requests.length;
    await expect(handler({ org: "not a login!" })).rejects.toThrow(
      /org: expected a GitHub organization login/,
    );
    await expect(handler({ organisation: "x" })).rejects.toThrow(InvalidEventError);
    await expect(handler("acme")).rejects.toThrow(InvalidEventError);
    expect(loopback.github.requests.length).toBe(before);
  });

  it("asks GitHub one request at a time, as GitHub asks", async () => {
    // A GitHub that takes its time, so that overlapping requests would show.
    const slow = await startLoopback({ orgs: ["serial"], latencyMs: 30 });
    try {
      const org = slow.github.org("serial");
      for (let i = 0; i < 120; i++)
        org.addGrant({
          owner: "fy",
          tokenName: `s${i}`,
          tokenExpiresAt: at(i < 2 ? -1 : 90),
          tokenExpired: i < 2,
          accessGrantedAt: at(-5),
          tokenLastUsedAt: at(-1),
        });
      org.addRequest({ owner: "gu", tokenName: "pending", reason: "triage", createdAt: at(-2) });
      const table = `patrol-ledger-${++tableSeq}`;
      await ensureLedgerTable(new DynamoDBClient({ endpoint: dynamo.endpoint, ...AWS }), table);
      const deps = await buildDeps(parseEnv({ ...slow.env, PATROL_TABLE: table }), {
        allowEmbedded: false,
        retryAfterBaseValue: 10,
      });

      const report = await makeSweepHandler(async () => deps)({ org: "serial" });

      expect(report.scanned).toBe(120);
      expect(report.revoked).toHaveLength(2);
      expect(slow.github.maxInFlight).toBe(1);
    } finally {
      await slow.close();
    }
  });
});

describe("a what-if through the Lambda", () => {
  it("an event's now is evaluated as of then and changes nothing: it implies dryRun", async () => {
    // Unregistered tokens revoked after a day: a year from now, every one of them is due.
    const { handler, ledger } = await setup({
      PATROL_POLICY: JSON.stringify({
        revoke: { unregistered: true },
        unregisteredGraceDays: 1,
        maxRevocationsPerRun: 1000,
      }),
    });
    const org = loopback.github.org("multi");
    const before = org.revokedPatIds.length;
    const entriesBefore = await ledger.load("multi");
    const report = await handler({
      org: "multi",
      now: new Date(Date.now() + 400 * 86_400_000).toISOString(),
    });
    expect(report.dryRun).toBe(true);
    expect(report.revoked.length).toBeGreaterThan(0); // what would go by then
    expect(org.revokedPatIds.length).toBe(before); // and nothing went
    expect(await ledger.load("multi")).toEqual(entriesBefore);
  });
});
