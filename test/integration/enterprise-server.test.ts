/**
 * GitHub Enterprise Server: `GITHUB_API_URL=https://HOST/api/v3`. The simulated GitHub serves every route
 * under `/api/v3` only (anything else is a 404), as GHES does, and the real Lambda handlers (sweep, revoke,
 * webhook) run against it with GitHub App credentials as the harness sets them. Each test checks that
 * every request GitHub received carried the prefix, the App's own calls (installation lookup, installation
 * token) included, and that links told to Slack point to the Enterprise Server's host, not github.com.
 */
import { createPublicKey } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDynamoLedger } from "../../lambdas/adapters/ledger";
import { buildDeps, type Deps } from "../../lambdas/app/deps";
import { parseEnv } from "../../lambdas/config";
import { hashedToken } from "../../lambdas/core/leaked";
import { parseLedgerCsv } from "../../lambdas/core/ledger-csv";
import { planImport } from "../../lambdas/core/ledger-import";
import { makeWebhookHandler } from "../../lambdas/handlers/github-webhook";
import { makeRevokeHandler } from "../../lambdas/handlers/revoke";
import { makeSweepHandler } from "../../lambdas/handlers/sweep";
import { TEST_TIMEOUTS } from "../faults/world";
import { type EmbeddedDynamo, ensureLedgerTable, startEmbeddedDynamo } from "../sim/dynamodb-sim";
import { startFunctionUrl } from "../sim/function-url";
import { type GitHubSim, type SimRequest, startGitHubSim } from "../sim/github-sim";
import { type Loopback, SIM_APP_ID, SLACK_CHANNEL, startLoopback } from "../sim/harness";

const PREFIX = "/api/v3";
const SWEEP_ORG = "ghes-sweep";
const REVOKE_ORG = "ghes-revoke";
const LEAK_ORG = "ghes-leak";
const HOOK_ORG = "ghes-hook";
const ORGS = [SWEEP_ORG, REVOKE_ORG, LEAK_ORG, HOOK_ORG];
/** The harness installs the App on the i-th org as installation 90000 + i. */
const installationOf = (org: string) => 90_000 + ORGS.indexOf(org);
const SECRET = "whsec-ghes-0123456789";
const DAY = 86_400_000;
const at = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const AWS = { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };

let loopback: Loopback;
let dynamo: EmbeddedDynamo;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  [loopback, dynamo] = await Promise.all([
    startLoopback({ orgs: ORGS, githubPathPrefix: PREFIX }),
    startEmbeddedDynamo(),
  ]);
  // The SDK clients patrol builds find DynamoDB through the SDK's own endpoint variable.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: AWS.region,
    AWS_ACCESS_KEY_ID: AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: AWS.credentials.secretAccessKey,
  });
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, ...AWS });
});

afterAll(async () => {
  client?.destroy();
  await Promise.all([loopback?.close(), dynamo?.close()]);
});

/** The Enterprise Server's web host: GITHUB_API_URL without `/api/v3`. */
const webHost = (sim: GitHubSim) => new URL(sim.url).origin;

function lambdaContext(remainingMs = 20_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as Context;
}

/** A fresh ledger table and the deps the Lambdas build from their environment, as deployed. */
async function deploy(env: Record<string, string> = {}): Promise<{ table: string; deps: Deps }> {
  const table = `patrol-ghes-${++tables}`;
  await ensureLedgerTable(client, table);
  const parsed = parseEnv({ ...loopback.env, PATROL_TABLE: table, PATROL_MODE: "enforce", ...env });
  const deps = await buildDeps(parsed, {
    allowEmbedded: false,
    retryAfterBaseValue: 10,
    timeouts: TEST_TIMEOUTS,
  });
  return { table, deps };
}

async function importCsv(table: string, org: string, csv: string): Promise<void> {
  const ledger = makeDynamoLedger(client, table);
  const plan = planImport(
    parseLedgerCsv(csv),
    await ledger.load(org),
    { org, now: new Date(), actor: "test", writer: "import", runId: `import-${table}` },
    "test.csv",
  );
  await ledger.write(plan.writes);
}

const line = (r: SimRequest) => `${r.method} ${r.path} ${r.status}`;

/** Every request is under the prefix: none reached GitHub at a path GHES does not serve. */
function expectAllPrefixed(requests: SimRequest[]): void {
  expect(requests.length).toBeGreaterThan(0);
  expect(requests.filter((r) => !r.path.startsWith(`${PREFIX}/`)).map(line)).toEqual([]);
}

/** The App's own calls, as Enterprise Server must see them: JWT lookup of the installation, then its token. */
function expectAppAuth(requests: SimRequest[], org: string, sim: GitHubSim = loopback.github): void {
  expect(
    requests.filter((r) => r.path.startsWith(`${PREFIX}/app/`) || r.path.endsWith("/installation")).map(line),
  ).toEqual([
    `GET ${PREFIX}/orgs/${org}/installation 200`,
    `POST ${PREFIX}/app/installations/${installationOf(org)}/access_tokens 201`,
  ]);
  expect(sim.url.endsWith(PREFIX)).toBe(true);
}

function slackTextSince(before: number): string {
  return JSON.stringify(loopback.slack.messages(SLACK_CHANNEL).slice(before));
}

/** Links in what Slack was told: on the Enterprise Server's host, never github.com or the API prefix. */
function expectEnterpriseLinks(text: string, org: string, page: string): void {
  expect(text).toContain(`${webHost(loopback.github)}/organizations/${org}/settings/${page}`);
  expect(text).not.toMatch(/https?:\/\/(www\.|api\.)?github\.com/);
  expect(text).not.toContain(`${PREFIX}/organizations`);
  expect(text).not.toContain(`${PREFIX}/settings`);
}

/** Links in an owner's DM: the renewal form on the Enterprise Server's host. */
function expectEnterpriseRenewal(text: string, tokenName: string, org: string): void {
  expect(text).toContain(
    `${webHost(loopback.github)}/settings/personal-access-tokens/new?name=${tokenName}&target_name=${org}`,
  );
  expect(text).not.toMatch(/https?:\/\/(www\.|api\.)?github\.com/);
  expect(text).not.toContain(`${PREFIX}/settings`);
}

// Octokit spaces write requests 1 s apart across every client of the process (plugin-throttling's write
// group is shared): the tests are ordered so that each one's write comes a second after the last one's.
describe("Enterprise Server (GITHUB_API_URL ending in /api/v3)", () => {
  it("the harness points patrol at the prefix, with GitHub App credentials", () => {
    expect(loopback.env.GITHUB_API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3$/);
    expect(loopback.env.GITHUB_API_URL).toBe(loopback.github.url);
    expect(loopback.env.GITHUB_APP_ID).toBe(String(SIM_APP_ID));
    expect(loopback.env.GITHUB_APP_PRIVATE_KEY).toContain("PRIVATE KEY");
    expect(loopback.env.GITHUB_TOKEN).toBeUndefined();
  });

  it("leaked values are revoked with the App's token: Enterprise Server takes the call only authenticated", async () => {
    const VALUE = `ghp_${"Gh3sLeak".repeat(4)}x`;
    // The harness's simulator keeps github.com's rule (an authenticated call is refused); this one is an
    // Enterprise Server's: `POST /credentials/revoke` authenticated. The same App, installed on the org.
    const ghes = await startGitHubSim({
      app: {
        appId: SIM_APP_ID,
        publicKeyPem: createPublicKey(loopback.app.privateKeyPem)
          .export({ type: "spki", format: "pem" })
          .toString(),
      },
      installations: { [LEAK_ORG]: installationOf(LEAK_ORG) },
      pathPrefix: PREFIX,
      authenticatedCredentialRevocation: true,
    });
    try {
      const { deps } = await deploy({ GITHUB_API_URL: ghes.url });

      // The event as a literal, with its other fields: typed as the leaked-token report it returns.
      const report = await makeRevokeHandler(async () => deps)(
        { org: LEAK_ORG, leakedTokens: [VALUE], reason: "secret scanning", requestedBy: "jane" },
        lambdaContext(),
      );

      expect(report.errors).toEqual([]);
      expect(report.revoked).toBe(1);
      expect(report.hashedTokens).toEqual([hashedToken(VALUE)]);
      expect(ghes.revokedCredentials).toEqual([VALUE]);
      expectAllPrefixed(ghes.requests);
      // Authenticated as the App: its installation token was fetched for this call, right before it (an
      // anonymous call, github.com's way, would have needed neither).
      expect(ghes.requests.map(line)).toEqual([
        `GET ${PREFIX}/orgs/${LEAK_ORG}/installation 200`,
        `POST ${PREFIX}/app/installations/${installationOf(LEAK_ORG)}/access_tokens 201`,
        `POST ${PREFIX}/credentials/revoke 202`,
      ]);
    } finally {
      await ghes.close();
    }
  });

  it("a request's webhook reaches the ledger; its reason is read under /api/v3; the card links to the host", async () => {
    const { table, deps } = await deploy();
    const handler = makeWebhookHandler(async () => ({ webhookSecret: SECRET, deps }), {
      tableName: table,
      client,
    });
    // GitHub's 10 s: a handler still running then would answer 502, as GitHub would mark it failed.
    const endpoint = await startFunctionUrl(handler, { timeoutMs: 10_000 });
    const gh = loopback.github.org(HOOK_ORG);
    try {
      gh.setWebhook({ url: endpoint.url, secret: SECRET });
      const slackBefore = loopback.slack.messages(SLACK_CHANNEL).length;
      const start = loopback.github.requests.length;

      const request = gh.addRequest({
        tokenId: 701,
        owner: "cat",
        tokenName: "ci-bot",
        reason: "CI publishes releases",
        permissions: { repository: { contents: "write", metadata: "read" } },
        repositories: ["api", "web"],
        tokenExpiresAt: at(60),
      });
      await loopback.github.webhooks.settled();

      const deliveries = loopback.github.webhooks.deliveries.filter((d) => d.url === endpoint.url);
      expect(deliveries.map((d) => [d.action, d.status])).toEqual([["created", 200]]);
      // The payload itself carries the Enterprise Server's API URLs.
      expect(deliveries[0]?.body).toContain(`${loopback.github.url}/orgs/${HOOK_ORG}`);
      const entry = (await makeDynamoLedger(client, table).load(HOOK_ORG)).find((e) => e.tokenId === 701);
      expect(entry).toMatchObject({
        status: "requested",
        requestId: request.id,
        owner: "cat",
        tokenName: "ci-bot",
        // Not in the webhook: read from GitHub's listing, under the prefix (a failed read would leave it out).
        purpose: "CI publishes releases",
      });

      const requests = loopback.github.requests.slice(start);
      expectAllPrefixed(requests);
      expectAppAuth(requests, HOOK_ORG);
      expect(
        requests
          .filter((r) => r.path.endsWith("/personal-access-token-requests"))
          .map((r) => [line(r), r.query.getAll("token_id[]")]),
      ).toEqual([[`GET ${PREFIX}/orgs/${HOOK_ORG}/personal-access-token-requests 200`, ["701"]]]);

      const card = slackTextSince(slackBefore);
      expect(card).toContain("a token request");
      expect(card).toContain("CI publishes releases");
      expectEnterpriseLinks(card, HOOK_ORG, "personal-access-token-requests");
    } finally {
      gh.setWebhook(null);
      await endpoint.close();
    }
  });

  it("an on-demand revocation reaches GitHub under /api/v3; GHES's missing SAML endpoint is no failure", async () => {
    const gh = loopback.github.org(REVOKE_ORG);
    const ci = gh.addGrant({ owner: "mallory", tokenName: "ci", tokenExpiresAt: at(90) });
    const deployKey = gh.addGrant({ owner: "mallory", tokenName: "deploy", tokenExpiresAt: at(90) });
    const docs = gh.addGrant({ owner: "bob", tokenName: "docs", tokenExpiresAt: at(90) });
    const { deps } = await deploy();
    const start = loopback.github.requests.length;

    const report = await makeRevokeHandler(async () => deps)(
      { org: REVOKE_ORG, selector: { owner: "mallory" }, reason: "laptop stolen", requestedBy: "jane" },
      lambdaContext(),
    );

    const requests = loopback.github.requests.slice(start);
    expect(report.errors).toEqual([]);
    expect(report.failed).toEqual([]);
    expect(report.revoked.map((r) => r.patId).sort()).toEqual([ci.id, deployKey.id].sort());
    expect(gh.grants().map((g) => g.id)).toEqual([docs.id]);
    expect(gh.revokedPatIds.sort()).toEqual([ci.id, deployKey.id].sort());
    // Credential authorizations are Enterprise Cloud's (SAML SSO): an Enterprise Server answers 404.
    expect(report.classic).toMatchObject({ checked: false, revoked: [], failed: [] });

    expectAllPrefixed(requests);
    expectAppAuth(requests, REVOKE_ORG);
    expect(requests.map((r) => [r.method, r.path, r.query.getAll("owner[]"), r.status])).toEqual([
      ["GET", `${PREFIX}/orgs/${REVOKE_ORG}/installation`, [], 200],
      ["POST", `${PREFIX}/app/installations/${installationOf(REVOKE_ORG)}/access_tokens`, [], 201],
      ["GET", `${PREFIX}/orgs/${REVOKE_ORG}/personal-access-tokens`, ["mallory"], 200],
      ["POST", `${PREFIX}/orgs/${REVOKE_ORG}/personal-access-tokens`, [], 202],
      ["GET", `${PREFIX}/orgs/${REVOKE_ORG}/credential-authorizations`, [], 404],
    ]);
    expect(requests.find((r) => r.method === "POST" && r.status === 202)?.body).toMatchObject({
      action: "revoke",
    });
  });

  it("a nightly sweep lists two pages and revokes the expired, unrenewed token, all under /api/v3", async () => {
    const gh = loopback.github.org(SWEEP_ORG);
    loopback.slack.addUser({ id: "U0DEV1", name: "dev1" });
    const rows = ["token_name,owner,renew,slack,token_id"];
    // 101 grants: GitHub's (and the adapter's) page is 100, so two pages, the second with the last grant
    // only, listed oldest first. svc-100, on page 2, expired and is not to be renewed: revoked. svc-0 expired
    // and awaits renewal: kept. svc-1 expires in 5 days: its owner is told by DM, with a link to renew it.
    const grants = [];
    for (let i = 0; i <= 100; i++) {
      const expired = i === 0 || i === 100;
      grants.push(
        gh.addGrant({
          tokenId: 10_000 + i,
          owner: `dev${i % 5}`,
          tokenName: `svc-${i}`,
          accessGrantedAt: at(-30 + i / 1000),
          tokenExpiresAt: expired ? at(-1) : i === 1 ? at(5) : at(200),
          tokenExpired: expired,
          tokenLastUsedAt: at(-1),
        }),
      );
      rows.push(`svc-${i},dev${i % 5},${i === 0 ? "yes" : "no"},${i === 1 ? "U0DEV1" : ""},${10_000 + i}`);
    }
    const { table, deps } = await deploy();
    await importCsv(table, SWEEP_ORG, rows.join("\n"));
    const slackBefore = loopback.slack.messages(SLACK_CHANNEL).length;
    const start = loopback.github.requests.length;

    const report = await makeSweepHandler(async () => deps)({ org: SWEEP_ORG }, lambdaContext());

    const requests = loopback.github.requests.slice(start);
    expect(report.errors).toEqual([]);
    expect(report.mode).toBe("enforce");
    expect(report.scanned).toBe(101);
    expect(report.revoked.map((r) => [r.tokenName, r.reason])).toEqual([["svc-100", "expired"]]);
    expect(gh.revokedPatIds).toEqual([grants[100]?.id]);
    expect(gh.grants()).toHaveLength(100);
    expect(report.alerts.map((a) => [a.kind, a.tokenName]).sort()).toEqual([
      ["expired-awaiting-renewal", "svc-0"],
      ["expiring", "svc-1"],
    ]);

    expectAllPrefixed(requests);
    expectAppAuth(requests, SWEEP_ORG);
    const listing = requests.filter(
      (r) => r.method === "GET" && r.path === `${PREFIX}/orgs/${SWEEP_ORG}/personal-access-tokens`,
    );
    expect(listing.map((r) => [r.query.get("page") ?? "1", r.query.get("per_page"), r.status])).toEqual([
      ["1", "100", 200],
      ["2", "100", 200],
    ]);
    expect(requests.filter((r) => r.method === "POST" && !r.path.includes("/app/")).map(line)).toEqual([
      `POST ${PREFIX}/orgs/${SWEEP_ORG}/personal-access-tokens 202`,
    ]);
    // The one answer over 400 is the classic PAT listing's: Enterprise Server has no SAML SSO authorizations.
    expect(requests.filter((r) => r.status >= 400).map(line)).toEqual([
      `GET ${PREFIX}/orgs/${SWEEP_ORG}/credential-authorizations 404`,
    ]);
    expect(report.classic).toMatchObject({ visible: false });

    // The digest's links, and the owner's renewal link, go to the Enterprise Server's pages.
    expect(report.slack).toMatchObject({ sent: true, ownersTold: 1 });
    expectEnterpriseLinks(slackTextSince(slackBefore), SWEEP_ORG, "personal-access-tokens/active");
    expectEnterpriseRenewal(JSON.stringify(loopback.slack.dmsTo("U0DEV1")), "svc-1", SWEEP_ORG);
  });
});
