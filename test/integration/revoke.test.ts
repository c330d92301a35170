import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeDynamoLedger } from "../../lambdas/adapters/ledger";
import { buildDeps } from "../../lambdas/app/deps";
import { parseEnv } from "../../lambdas/config";
import { LedgerChanges } from "../../lambdas/core/ledger/changes";
import { newEntry } from "../../lambdas/core/ledger/fields";
import { parseLedgerCsv } from "../../lambdas/core/ledger-csv";
import { planImport } from "../../lambdas/core/ledger-import";
import { type RevokeReport, revokeExitCode } from "../../lambdas/core/report";
import { InvalidRevokeError } from "../../lambdas/core/revoke";
import type { LedgerEntry } from "../../lambdas/core/types";
import { makeRevokeHandler } from "../../lambdas/handlers/revoke";
import { makeSweepHandler } from "../../lambdas/handlers/sweep";
import { type EmbeddedDynamo, ensureLedgerTable, startEmbeddedDynamo } from "../sim/dynamodb-sim";
import type { GrantPayload, SimOrg, SimRequest } from "../sim/github-sim";
import { type Loopback, startLoopback } from "../sim/harness";
import type { SlackCall } from "../sim/slack-sim";
import { runCli } from "./cli-run";

/**
 * On-demand revocation end to end: the revoke Lambda's handler (and the CLI) with real Octokit, Slack and
 * DynamoDB clients, against the loopback GitHub and Slack simulators and dynalite.
 *
 * GitHub writes are throttled by Octokit to one a second, so each test makes as few of them as it can.
 */

const DAY = 86_400_000;
const AWS = { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };

/** One org per test: the GitHub sim keeps orgs (and their grants) for the life of the shared loopback. */
const ORGS = {
  patIds: "rv-pat-ids",
  tokenIds: "rv-token-ids",
  owner: "rv-owner",
  ownerSaml: "rv-owner-saml",
  tokenName: "rv-token-name",
  allRefused: "rv-all-refused",
  all: "rv-all",
  reapproved: "rv-reapproved",
  slackDown: "rv-slack-down",
  failed: "rv-failed",
  failedThenSweep: "rv-failed-sweep",
  malformed: "rv-malformed",
  cliBad: "rv-cli-bad",
  cliDry: "rv-cli-dry",
  cliRun: "rv-cli-run",
} as const;

let loopback: Loopback;
let dynamo: EmbeddedDynamo;
let tableSeq = 0;

beforeAll(async () => {
  [loopback, dynamo] = await Promise.all([
    startLoopback({ orgs: Object.values(ORGS) }),
    startEmbeddedDynamo(),
  ]);
  // The SDK clients built inside patrol find dynalite through the SDK's own endpoint variables.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  process.env.AWS_REGION = AWS.region;
  process.env.AWS_ACCESS_KEY_ID = AWS.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = AWS.credentials.secretAccessKey;
});

afterAll(async () => {
  await Promise.all([loopback?.close(), dynamo?.close()]);
});

afterEach(() => {
  loopback.slack.setDown(false);
});

/** A fresh ledger table per test, and the revoke and sweep handlers wired as in Lambda, against the sims. */
async function setup() {
  const table = `patrol-revoke-${++tableSeq}`;
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, ...AWS });
  await ensureLedgerTable(client, table);
  const deps = await buildDeps(parseEnv({ ...loopback.env, PATROL_TABLE: table }), {
    allowEmbedded: false,
    retryAfterBaseValue: 10,
  });
  let depsBuilt = 0;
  const revoke = makeRevokeHandler(async () => {
    depsBuilt++;
    return deps;
  });
  const sweep = makeSweepHandler(async () => deps);
  return { table, revoke, sweep, ledger: makeDynamoLedger(client, table), depsBuilt: () => depsBuilt };
}

type Ledger = ReturnType<typeof makeDynamoLedger>;

/** Registers tokens in the ledger as the spreadsheet import does. */
async function register(
  ledger: Ledger,
  org: string,
  rows: { tokenId: number; owner: string; name: string }[],
) {
  const csv = ["token_name,owner,token_id", ...rows.map((r) => `${r.name},${r.owner},${r.tokenId}`)].join(
    "\n",
  );
  const ctx = { org, now: new Date(), actor: "test", writer: "import" as const, runId: "import" };
  const plan = planImport(parseLedgerCsv(csv), await ledger.load(org), ctx, "test.csv");
  const result = await ledger.write(plan.writes);
  expect(result.conflicts).toEqual([]);
}

/** `days` from now, as GitHub writes timestamps (whole seconds). */
const iso = (days: number) => new Date(Date.now() + days * DAY).toISOString().replace(/\.\d{3}Z$/, "Z");

function addToken(org: SimOrg, tokenId: number, owner: string, tokenName: string): GrantPayload {
  return org.addGrant({
    tokenId,
    owner,
    tokenName,
    accessGrantedAt: iso(-30),
    tokenExpiresAt: iso(90),
    tokenLastUsedAt: iso(-1),
  });
}

/** What the sims saw from now on. */
function watch() {
  const github = loopback.github.requests.length;
  const slack = loopback.slack.calls.length;
  return {
    github: (): SimRequest[] => loopback.github.requests.slice(github),
    slack: (): SlackCall[] => loopback.slack.calls.slice(slack),
    posts: (): SlackCall[] =>
      loopback.slack.calls.slice(slack).filter((c) => c.method === "chat.postMessage"),
  };
}

const grantsPath = (org: string) => `/orgs/${org}/personal-access-tokens`;
const listCalls = (requests: SimRequest[], org: string) =>
  requests.filter((r) => r.method === "GET" && r.path === grantsPath(org));
const revokeCalls = (requests: SimRequest[], org: string) =>
  requests.filter((r) => r.method === "POST" && r.path.startsWith(grantsPath(org)));
const patIdsOf = (r: SimRequest | undefined) => [...((r?.body as { pat_ids?: number[] })?.pat_ids ?? [])];
const byNumber = (a: number, b: number) => a - b;
const messageText = (call: SlackCall | undefined) =>
  `${call?.args.text} ${JSON.stringify(call?.args.blocks)}`;

function entryOf(entries: LedgerEntry[], tokenId: number): LedgerEntry {
  const entry = entries.find((e) => e.tokenId === tokenId);
  if (!entry) throw new Error(`no ledger entry for token ${tokenId}`);
  return entry;
}

/** The Slack message went out after every GitHub write of the invocation (revocations and classic removals). */
function expectSlackAfterGitHubWrites(requests: SimRequest[], posts: SlackCall[], org: string) {
  const writes = requests.filter(
    (r) => r.path.startsWith(`/orgs/${org}/`) && (r.method === "POST" || r.method === "DELETE"),
  );
  expect(writes.length).toBeGreaterThan(0);
  expect(posts).toHaveLength(1);
  const lastWrite = Math.max(...writes.map((r) => r.at));
  expect(posts[0]?.at).toBeGreaterThanOrEqual(lastWrite);
}

const REASON = "token leaked in a public gist";
const BY = "alice-sec";

describe("on-demand revocation through the revoke Lambda's handler", () => {
  it("{ patIds }: revokes the listed grants (one unknown to the ledger), reports the gone ones, and a second run revokes nothing", async () => {
    const org = loopback.github.org(ORGS.patIds);
    const known = addToken(org, 1101, "amy", "deploy");
    const stranger = addToken(org, 1102, "bo", "script");
    const bystander = addToken(org, 1103, "cy", "keep");
    const { revoke, ledger } = await setup();
    await register(ledger, ORGS.patIds, [
      { tokenId: 1101, owner: "amy", name: "deploy" },
      { tokenId: 1103, owner: "cy", name: "keep" },
    ]);
    // A token whose grant the ledger remembers but which GitHub no longer lists.
    const goneCtx = {
      org: ORGS.patIds,
      now: new Date(),
      actor: "test",
      writer: "import" as const,
      runId: "seed",
    };
    const seed = new LedgerChanges([], goneCtx);
    seed.create(
      newEntry({
        org: ORGS.patIds,
        entryId: "token-1104",
        tokenId: 1104,
        patId: 9_000_001,
        tokenName: "old",
        owner: "dee",
        status: "gone",
      }),
      "discovered",
      "seeded by the test",
    );
    await ledger.write(seed.writes());
    const event = {
      org: ORGS.patIds,
      selector: { patIds: [known.id, stranger.id, 9_000_001] },
      reason: REASON,
      requestedBy: BY,
    };
    const seen = watch();

    const report = await revoke(event);

    // What was revoked, what was already gone, what failed.
    expect(report.errors).toEqual([]);
    expect(report.failed).toEqual([]);
    expect(report.matched).toBe(2);
    expect([...report.revoked].sort((x, y) => x.tokenId - y.tokenId)).toEqual([
      { patId: known.id, tokenId: 1101, tokenName: "deploy", owner: "amy" },
      { patId: stranger.id, tokenId: 1102, tokenName: "script", owner: "bo" },
    ]);
    expect(report.alreadyGone).toEqual([
      { patId: 9_000_001, tokenName: "old", owner: "dee", note: "ledger status gone" },
    ]);
    expect(report.classic).toEqual({ checked: false, revoked: [], failed: [] });
    expect(report.slack).toEqual({ sent: true });
    expect(revokeExitCode(report)).toBe(0);
    // GitHub: one bulk revocation of exactly those grants; the bystander keeps its access.
    expect([...org.revokedPatIds].sort(byNumber)).toEqual([known.id, stranger.id].sort(byNumber));
    expect(org.grants().map((g) => g.id)).toEqual([bystander.id]);
    const posts = revokeCalls(seen.github(), ORGS.patIds);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.path).toBe(grantsPath(ORGS.patIds));
    expect(patIdsOf(posts[0]).sort(byNumber)).toEqual([known.id, stranger.id].sort(byNumber));
    // No classic PAT probe for a selector by grant id.
    expect(seen.github().filter((r) => r.path.includes("credential-authorizations"))).toEqual([]);

    // The ledger: reason, requester, time, on demand; registered → flagged, unknown → revoked, gone → flagged.
    const entries = await ledger.load(ORGS.patIds);
    const registered = entryOf(entries, 1101);
    expect(registered).toMatchObject({
      status: "flagged",
      patId: known.id,
      revokedReason: "on-demand",
      revokedDetail: REASON,
      revokedBy: BY,
      revokedAt: report.at,
      pendingRevocation: null,
    });
    const unknown = entryOf(entries, 1102);
    expect(unknown).toMatchObject({
      entryId: "token-1102",
      status: "revoked",
      patId: stranger.id,
      tokenName: "script",
      owner: "bo",
      scope: { selection: "subset", repositories: [] },
      expiresAt: new Date(stranger.token_expires_at ?? "").toISOString(),
      revokedReason: "on-demand",
      revokedDetail: REASON,
      revokedBy: BY,
      revokedAt: report.at,
      pendingRevocation: null,
    });
    expect(unknown.notes).toContain("contents:read");
    expect(entryOf(entries, 1104).status).toBe("flagged");
    expect(entryOf(entries, 1103)).toMatchObject({
      status: "active",
      revokedAt: null,
      pendingRevocation: null,
    });
    // The audit trail: the intent was recorded before the revocation.
    const history = await ledger.history(ORGS.patIds, registered.entryId);
    const actions = history.map((h) => h.action);
    expect(actions).toEqual(expect.arrayContaining(["revoke-intent", "revoked"]));
    expect(actions.indexOf("revoke-intent")).toBeLessThan(actions.indexOf("revoked"));
    expect(history.find((h) => h.action === "revoked")?.reason).toContain("(requested by alice-sec)");

    // Slack: one message, after the revocation, naming who asked, why and what was revoked.
    expectSlackAfterGitHubWrites(seen.github(), seen.posts(), ORGS.patIds);
    const text = messageText(seen.posts()[0]);
    expect(text).toContain(BY);
    expect(text).toContain(REASON);
    expect(text).toContain("`deploy` of amy");
    expect(text).toContain("`script` of bo");
    expect(text).toContain("old of dee: ledger status gone");

    // The same event again: nothing left to revoke, and the report says so.
    const versions = new Map(entries.map((e) => [e.entryId, e.version]));
    const again = watch();

    const second = await revoke(event);

    expect(second.revoked).toEqual([]);
    expect(second.failed).toEqual([]);
    expect(second.matched).toBe(0);
    expect(second.summary).toMatch(
      /^nothing to revoke: no grant matches grant ids .*\(3 already revoked or gone\)$/,
    );
    expect(second.alreadyGone.map((g) => [g.patId, g.note])).toEqual([
      [known.id, `revoked ${report.at.slice(0, 10)} by ${BY}`],
      [stranger.id, `revoked ${report.at.slice(0, 10)} by ${BY}`],
      [9_000_001, "ledger status flagged"],
    ]);
    // Grant ids the ledger now knows are looked up by their token ids first.
    expect(listCalls(again.github(), ORGS.patIds)[0]?.query.getAll("token_id[]").sort()).toEqual([
      "1101",
      "1102",
      "1104",
    ]);
    expect(revokeCalls(again.github(), ORGS.patIds)).toEqual([]);
    expect(org.revokedPatIds).toHaveLength(2);
    const after = await ledger.load(ORGS.patIds);
    expect(new Map(after.map((e) => [e.entryId, e.version]))).toEqual(versions);
    expect(again.posts()).toHaveLength(1);
    expect(messageText(again.posts()[0])).toContain("nothing to revoke");
  });

  it("{ tokenIds }: resolves with the list endpoint's token_id[] filter, not a listing of the org", async () => {
    const org = loopback.github.org(ORGS.tokenIds);
    const first = addToken(org, 2201, "amy", "ci");
    const second = addToken(org, 2202, "bo", "ci");
    const bystander = addToken(org, 2203, "cy", "ci");
    const { revoke, ledger } = await setup();
    const seen = watch();

    const report = await revoke({
      org: ORGS.tokenIds,
      selector: { tokenIds: [2201, 2202] },
      reason: REASON,
      requestedBy: BY,
    });

    expect(report.errors).toEqual([]);
    expect(report.revoked.map((r) => [r.patId, r.tokenId]).sort()).toEqual([
      [first.id, 2201],
      [second.id, 2202],
    ]);
    expect(report.alreadyGone).toEqual([]);
    expect(org.grants().map((g) => g.id)).toEqual([bystander.id]);
    const lists = listCalls(seen.github(), ORGS.tokenIds);
    expect(lists).toHaveLength(1);
    expect(lists[0]?.query.getAll("token_id[]").sort()).toEqual(["2201", "2202"]);
    expect(lists[0]?.query.getAll("owner[]")).toEqual([]);
    const posts = revokeCalls(seen.github(), ORGS.tokenIds);
    expect(posts).toHaveLength(1);
    expect(patIdsOf(posts[0]).sort(byNumber)).toEqual([first.id, second.id].sort(byNumber));
    const entries = await ledger.load(ORGS.tokenIds);
    expect(entries.map((e) => [e.tokenId, e.status, e.revokedReason]).sort()).toEqual([
      [2201, "revoked", "on-demand"],
      [2202, "revoked", "on-demand"],
    ]);
  });

  it("{ owner } with 150 tokens: 2 filtered list pages, 2 bulk revocations of 100 and 50, others untouched; again: nothing", async () => {
    const org = loopback.github.org(ORGS.owner);
    const mallory: GrantPayload[] = [];
    const others: GrantPayload[] = [];
    for (let i = 0; i < 160; i++) {
      if (i % 16 === 5)
        others.push(addToken(org, 3000 + i, Math.floor(i / 16) % 2 ? "amy" : "mallory-bot", `other-${i}`));
      else mallory.push(addToken(org, 3000 + i, "mallory", `tok-${i}`));
    }
    expect(mallory).toHaveLength(150);
    const { revoke, ledger } = await setup();
    // Half of mallory's tokens are registered, the other half the ledger has never seen; others are registered.
    await register(ledger, ORGS.owner, [
      ...mallory
        .filter((_, i) => i % 2 === 0)
        .map((g) => ({ tokenId: g.token_id, owner: "mallory", name: g.token_name })),
      ...others.map((g) => ({ tokenId: g.token_id, owner: g.owner.login, name: g.token_name })),
    ]);
    const event = { org: ORGS.owner, selector: { owner: "mallory" }, reason: REASON, requestedBy: BY };
    const seen = watch();

    const report = await revoke(event);

    expect(report.errors).toEqual([]);
    expect(report.failed).toEqual([]);
    expect(report.matched).toBe(150);
    expect(report.revoked).toHaveLength(150);
    expect(report.revoked.every((r) => r.owner === "mallory")).toBe(true);
    expect(report.summary).toBe("150 revoked");
    // No SAML SSO on this org: the report says so, and the fine-grained tokens were revoked regardless.
    expect(report.classic.checked).toBe(false);
    expect(report.classic.note).toMatch(/404 .*no SAML SSO/);
    expect([...org.revokedPatIds].sort(byNumber)).toEqual(mallory.map((g) => g.id).sort(byNumber));
    expect(org.grants().map((g) => g.id)).toEqual(others.map((g) => g.id));

    // The GitHub calls: App authentication, the filtered pages, ceil(150/100) revocations, one SSO probe.
    const calls = seen.github();
    const lists = listCalls(calls, ORGS.owner);
    expect(lists).toHaveLength(2);
    for (const list of lists) {
      expect(list.query.getAll("owner[]")).toEqual(["mallory"]);
      expect(list.query.get("per_page")).toBe("100");
      expect(list.status).toBe(200);
    }
    expect(lists.map((l) => l.query.get("page") ?? "1")).toEqual(["1", "2"]);
    const posts = revokeCalls(calls, ORGS.owner);
    expect(posts).toHaveLength(2);
    expect(posts.map((p) => [p.path, p.status, patIdsOf(p).length])).toEqual([
      [grantsPath(ORGS.owner), 202, 100],
      [grantsPath(ORGS.owner), 202, 50],
    ]);
    expect(posts.flatMap((p) => patIdsOf(p)).sort(byNumber)).toEqual(mallory.map((g) => g.id).sort(byNumber));
    const probes = calls.filter((r) => r.path === `/orgs/${ORGS.owner}/credential-authorizations`);
    expect(probes.map((p) => [p.method, p.status, p.query.get("login")])).toEqual([["GET", 404, "mallory"]]);
    const auth = calls.filter((r) => !r.path.startsWith(grantsPath(ORGS.owner)) && !probes.includes(r));
    expect(auth.map((r) => [r.method, r.path.replace(/\d+/g, "N"), r.status])).toEqual([
      ["GET", `/orgs/${ORGS.owner}/installation`, 200],
      ["POST", "/app/installations/N/access_tokens", 201],
    ]);
    expect(calls).toHaveLength(lists.length + posts.length + probes.length + auth.length);
    expect(calls).toHaveLength(2 + Math.ceil(150 / 100) + 1 + 2);

    // The ledger: every revoked token recorded, registered ones flagged, unknown ones revoked; others untouched.
    const entries = await ledger.load(ORGS.owner);
    const revoked = entries.filter((e) => e.owner === "mallory");
    expect(revoked).toHaveLength(150);
    expect(revoked.filter((e) => e.status === "flagged")).toHaveLength(75);
    expect(revoked.filter((e) => e.status === "revoked")).toHaveLength(75);
    for (const e of revoked) {
      expect(e.revokedReason).toBe("on-demand");
      expect(e.revokedBy).toBe(BY);
      expect(e.revokedAt).toBe(report.at);
      expect(e.pendingRevocation).toBeNull();
    }
    const untouched = entries.filter((e) => e.owner !== "mallory");
    expect(untouched).toHaveLength(others.length);
    expect(untouched.every((e) => e.status === "active" && e.revokedAt === null && e.version === 1)).toBe(
      true,
    );
    expect(seen.posts()).toHaveLength(1);
    expectSlackAfterGitHubWrites(seen.github(), seen.posts(), ORGS.owner);

    // The same event again: nothing to revoke, no revocation call, no ledger change; the report says so.
    const versions = new Map(entries.map((e) => [e.entryId, e.version]));
    const again = watch();

    const second = await revoke(event);

    expect(second.revoked).toEqual([]);
    expect(second.matched).toBe(0);
    expect(second.alreadyGone).toHaveLength(150);
    expect(second.summary).toBe(
      "nothing to revoke: no grant matches every token of mallory (150 already revoked or gone)",
    );
    expect(revokeCalls(again.github(), ORGS.owner)).toEqual([]);
    expect(listCalls(again.github(), ORGS.owner)).toHaveLength(1);
    expect(again.github()).toHaveLength(2); // the filtered (empty) list and the SSO probe; the client is warm
    expect(org.revokedPatIds).toHaveLength(150);
    const after = await ledger.load(ORGS.owner);
    expect(new Map(after.map((e) => [e.entryId, e.version]))).toEqual(versions);
  });

  it("{ owner } on a SAML SSO org also removes that person's classic PAT authorizations, recorded in the ledger", async () => {
    const org = loopback.github.org(ORGS.ownerSaml);
    org.samlSso = true;
    const eveA = addToken(org, 4001, "eve", "deploy");
    const eveB = addToken(org, 4002, "eve", "ci");
    const amy = addToken(org, 4003, "amy", "ci");
    const evePat = org.addCredentialAuthorization({
      login: "eve",
      note: "laptop",
      tokenLastEight: "a1b2c3d4",
    });
    const eveSsh = org.addCredentialAuthorization({ login: "eve", credentialType: "SSH key" });
    const amyPat = org.addCredentialAuthorization({ login: "amy", note: "amy laptop" });
    const { revoke, ledger } = await setup();
    const seen = watch();

    const report = await revoke({
      org: ORGS.ownerSaml,
      selector: { owner: "eve" },
      reason: REASON,
      requestedBy: BY,
    });

    expect(report.errors).toEqual([]);
    expect(report.revoked.map((r) => r.patId).sort(byNumber)).toEqual([eveA.id, eveB.id].sort(byNumber));
    expect(org.grants().map((g) => g.id)).toEqual([amy.id]);
    expect(report.classic).toEqual({
      checked: true,
      revoked: [{ credentialId: evePat.credential_id, login: "eve", lastEight: "a1b2c3d4" }],
      failed: [],
    });
    expect(org.removedCredentialIds).toEqual([evePat.credential_id]);
    expect(org.credentialAuthorizations().map((c) => c.credential_id)).toEqual([
      eveSsh.credential_id,
      amyPat.credential_id,
    ]);
    const listing = seen
      .github()
      .filter((r) => r.path === `/orgs/${ORGS.ownerSaml}/credential-authorizations`);
    expect(listing.map((r) => [r.method, r.query.get("login"), r.status])).toEqual([["GET", "eve", 200]]);
    const entries = await ledger.load(ORGS.ownerSaml);
    const classic = entries.find((e) => e.entryId === `classic-${evePat.credential_id}`);
    expect(classic).toMatchObject({
      status: "revoked",
      owner: "eve",
      tokenName: "laptop",
      tokenId: null,
      revokedReason: "on-demand",
      revokedDetail: REASON,
      revokedBy: BY,
      revokedAt: report.at,
    });
    expect(classic?.notes).toContain("a1b2c3d4");
    expect(entries.filter((e) => e.entryId.startsWith("classic-"))).toHaveLength(1);
    expectSlackAfterGitHubWrites(seen.github(), seen.posts(), ORGS.ownerSaml);
    expect(messageText(seen.posts()[0])).toContain("…a1b2c3d4 of eve");
  });

  it("{ tokenName } with an owner filters by owner[]; without one it matches the name across the org", async () => {
    const org = loopback.github.org(ORGS.tokenName);
    const amyDeploy = addToken(org, 5001, "amy", "deploy");
    const boDeploy = addToken(org, 5002, "bo", "deploy");
    const amyOther = addToken(org, 5003, "amy", "deploy-old");
    const cyDeploy = addToken(org, 5004, "cy", "deploy");
    const { revoke } = await setup();
    const seen = watch();

    const mine = await revoke({
      org: ORGS.tokenName,
      selector: { tokenName: "deploy", owner: "amy" },
      reason: REASON,
      requestedBy: BY,
    });

    expect(mine.errors).toEqual([]);
    expect(mine.revoked.map((r) => r.patId)).toEqual([amyDeploy.id]);
    const mineLists = listCalls(seen.github(), ORGS.tokenName);
    expect(mineLists).toHaveLength(1);
    expect(mineLists[0]?.query.getAll("owner[]")).toEqual(["amy"]);
    // A token by name is not a person: no classic PAT authorization is looked at.
    expect(seen.github().filter((r) => r.path.includes("credential-authorizations"))).toEqual([]);
    expect(mine.classic.checked).toBe(false);
    const everyone = watch();

    const all = await revoke({
      org: ORGS.tokenName,
      selector: { tokenName: "deploy" },
      reason: REASON,
      requestedBy: BY,
    });

    expect(all.errors).toEqual([]);
    expect(all.revoked.map((r) => r.patId).sort(byNumber)).toEqual([boDeploy.id, cyDeploy.id].sort(byNumber));
    expect(all.alreadyGone.map((g) => [g.tokenId, g.owner])).toEqual([[5001, "amy"]]);
    const allLists = listCalls(everyone.github(), ORGS.tokenName);
    expect(allLists).toHaveLength(1);
    expect([...(allLists[0]?.query.keys() ?? [])].sort()).toEqual(["direction", "per_page", "sort"]);
    expect(org.grants().map((g) => g.id)).toEqual([amyOther.id]);
    expect(org.revokedPatIds).toEqual([
      amyDeploy.id,
      ...patIdsOf(revokeCalls(everyone.github(), ORGS.tokenName)[0]),
    ]);
  });

  it("{ all } without or with a wrong confirm is refused naming selector.confirm, and nothing is touched", async () => {
    const org = loopback.github.org(ORGS.allRefused);
    addToken(org, 6001, "amy", "a");
    addToken(org, 6002, "bo", "b");
    const { revoke, ledger, depsBuilt } = await setup();
    const seen = watch();
    const base = { org: ORGS.allRefused, reason: REASON, requestedBy: BY };

    await expect(revoke({ ...base, selector: { all: true } })).rejects.toThrow(InvalidRevokeError);
    await expect(revoke({ ...base, selector: { all: true } })).rejects.toThrow(/selector\.confirm: expected/);
    await expect(revoke({ ...base, selector: { all: true, confirm: "rv-all" } })).rejects.toThrow(
      /selector\.confirm: .*needs "confirm": "rv-all-refused"/,
    );
    await expect(revoke({ ...base, selector: { all: true, confirm: "" } })).rejects.toThrow(
      /selector\.confirm/,
    );
    await expect(revoke({ ...base, selector: { all: "yes", confirm: ORGS.allRefused } })).rejects.toThrow(
      /selector\.all: expected true/,
    );

    expect(depsBuilt()).toBe(0);
    expect(seen.github()).toEqual([]);
    expect(seen.slack()).toEqual([]);
    expect(org.revokedPatIds).toEqual([]);
    expect(org.grants()).toHaveLength(2);
    expect(await ledger.load(ORGS.allRefused)).toEqual([]);
  });

  it("{ all, confirm: org } revokes every grant and every classic PAT authorization (not SSH keys)", async () => {
    const org = loopback.github.org(ORGS.all);
    org.samlSso = true;
    const grants = [
      addToken(org, 7001, "amy", "a"),
      addToken(org, 7002, "bo", "b"),
      addToken(org, 7003, "cy", "c"),
    ];
    const amyPat = org.addCredentialAuthorization({ login: "amy", tokenLastEight: "0000aaaa" });
    const boPat = org.addCredentialAuthorization({ login: "bo", tokenLastEight: "0000bbbb" });
    const boSsh = org.addCredentialAuthorization({ login: "bo", credentialType: "SSH key" });
    const { revoke, ledger } = await setup();
    const seen = watch();

    const report = await revoke({
      org: ORGS.all,
      selector: { all: true, confirm: ORGS.all },
      reason: REASON,
      requestedBy: BY,
    });

    expect(report.errors).toEqual([]);
    expect(report.selector).toBe("every token in the organization");
    expect(report.revoked.map((r) => r.patId).sort(byNumber)).toEqual(grants.map((g) => g.id).sort(byNumber));
    expect(org.grants()).toEqual([]);
    expect(report.classic.checked).toBe(true);
    expect(report.classic.revoked.map((c) => [c.credentialId, c.login, c.lastEight])).toEqual([
      [amyPat.credential_id, "amy", "0000aaaa"],
      [boPat.credential_id, "bo", "0000bbbb"],
    ]);
    expect(org.removedCredentialIds).toEqual([amyPat.credential_id, boPat.credential_id]);
    expect(org.credentialAuthorizations().map((c) => c.credential_id)).toEqual([boSsh.credential_id]);
    const calls = seen.github();
    expect(revokeCalls(calls, ORGS.all)).toHaveLength(1);
    const ssoList = calls.filter((r) => r.method === "GET" && r.path.endsWith("/credential-authorizations"));
    expect(ssoList.map((r) => r.query.get("login"))).toEqual([null]);
    const entries = await ledger.load(ORGS.all);
    expect(
      entries
        .filter((e) => e.entryId.startsWith("classic-"))
        .map((e) => [e.entryId, e.status, e.owner, e.revokedReason])
        .sort(),
    ).toEqual(
      [
        [`classic-${amyPat.credential_id}`, "revoked", "amy", "on-demand"],
        [`classic-${boPat.credential_id}`, "revoked", "bo", "on-demand"],
      ].sort(),
    );
    expect(entries.filter((e) => e.tokenId !== null && e.revokedReason === "on-demand")).toHaveLength(3);
    expectSlackAfterGitHubWrites(calls, seen.posts(), ORGS.all);
  });

  it("a token revoked on demand and then re-approved is revoked again by the next sweep, reason flagged", async () => {
    const org = loopback.github.org(ORGS.reapproved);
    const registered = addToken(org, 8001, "amy", "deploy");
    const stranger = addToken(org, 8002, "bo", "script");
    const keep = addToken(org, 8003, "cy", "fine");
    const { revoke, sweep, ledger } = await setup();
    await register(ledger, ORGS.reapproved, [
      { tokenId: 8001, owner: "amy", name: "deploy" },
      { tokenId: 8003, owner: "cy", name: "fine" },
    ]);
    const revoked = await revoke({
      org: ORGS.reapproved,
      selector: { tokenIds: [8001, 8002] },
      reason: REASON,
      requestedBy: BY,
    });
    expect(revoked.revoked).toHaveLength(2);
    // Re-approval on GitHub: the same tokens get new grants (new pat ids).
    const again1 = addToken(org, 8001, "amy", "deploy");
    const again2 = addToken(org, 8002, "bo", "script");
    expect([again1.id, again2.id]).not.toContain(registered.id);
    expect([again1.id, again2.id]).not.toContain(stranger.id);

    const report = await sweep({ org: ORGS.reapproved });

    expect(report.errors).toEqual([]);
    expect(report.revoked.map((r) => [r.patId, r.tokenId, r.reason]).sort()).toEqual(
      [
        [again1.id, 8001, "flagged"],
        [again2.id, 8002, "flagged"],
      ].sort(),
    );
    expect(org.grants().map((g) => g.id)).toEqual([keep.id]);
    const entries = await ledger.load(ORGS.reapproved);
    for (const [tokenId, patId] of [
      [8001, again1.id],
      [8002, again2.id],
    ] as const) {
      expect(entryOf(entries, tokenId)).toMatchObject({
        status: "flagged",
        patId,
        revokedBy: "patrol-sweep",
        pendingRevocation: null,
      });
      expect(entryOf(entries, tokenId).revokedReason).toBe("flagged");
    }
    expect(entryOf(entries, 8003)).toMatchObject({ status: "active", revokedAt: null });
  });

  it("a Slack outage during the revoke still revokes; the result says Slack failed", async () => {
    const org = loopback.github.org(ORGS.slackDown);
    addToken(org, 9001, "amy", "a");
    addToken(org, 9002, "amy", "b");
    const { revoke, ledger } = await setup();
    loopback.slack.setDown(true);
    const seen = watch();

    const report = await revoke({
      org: ORGS.slackDown,
      selector: { owner: "amy" },
      reason: REASON,
      requestedBy: BY,
    });

    expect(report.revoked).toHaveLength(2);
    expect(report.failed).toEqual([]);
    expect(org.grants()).toEqual([]);
    expect(report.slack.sent).toBe(false);
    expect(report.slack.error).toMatch(/posting to Slack channel \S+ failed/);
    expect(report.errors).toEqual([
      { stage: "slack", message: expect.stringMatching(/the revocations were made regardless$/) },
    ]);
    expect(revokeExitCode(report)).toBe(1);
    expect(seen.slack().length).toBeGreaterThan(0);
    expect(seen.slack().every((c) => !c.ok && c.status === 503)).toBe(true);
    const entries = await ledger.load(ORGS.slackDown);
    expect(entries.map((e) => [e.tokenId, e.status, e.revokedReason]).sort()).toEqual([
      [9001, "revoked", "on-demand"],
      [9002, "revoked", "on-demand"],
    ]);
  });

  it("a refused revocation call is reported as failed, named in Slack, and the intent stays in the ledger", async () => {
    const org = loopback.github.org(ORGS.failed);
    const grant = addToken(org, 9101, "amy", "deploy");
    const { revoke, ledger } = await setup();
    await register(ledger, ORGS.failed, [{ tokenId: 9101, owner: "amy", name: "deploy" }]);
    loopback.github.addFault({ method: "POST", path: grantsPath(ORGS.failed), status: 422 });
    const seen = watch();

    const report = await revoke({
      org: ORGS.failed,
      selector: { tokenIds: [9101] },
      reason: REASON,
      requestedBy: BY,
    });

    expect(report.revoked).toEqual([]);
    expect(report.failed).toEqual([
      {
        patId: grant.id,
        tokenId: 9101,
        tokenName: "deploy",
        owner: "amy",
        error: expect.stringContaining("HTTP 422"),
      },
    ]);
    expect(report.summary).toBe("0 revoked, 1 FAILED");
    expect(revokeExitCode(report)).toBe(1);
    expect(org.grants().map((g) => g.id)).toEqual([grant.id]);
    expect(revokeCalls(seen.github(), ORGS.failed).map((r) => r.status)).toEqual([422]);
    const entry = entryOf(await ledger.load(ORGS.failed), 9101);
    // Flagged with the intent, so the next sweep revokes it even though this call failed.
    expect(entry.status).toBe("flagged");
    expect(entry.revokedAt).toBeNull();
    expect(entry.pendingRevocation).toMatchObject({ reason: "on-demand", patId: grant.id, by: BY });
    const history = await ledger.history(ORGS.failed, entry.entryId);
    expect(history.map((h) => h.action)).toEqual(["registered", "revoke-intent", "revoke-failed"]);
    expect(messageText(seen.posts()[0])).toContain("Failed — act now");
  });

  // The intent is on record before the call (DESIGN: "a crash between the two loses nothing"); the sweep
  // finishes a compromise response that did not finish.
  it("an on-demand revocation GitHub refused is carried out by the next sweep", async () => {
    const org = loopback.github.org(ORGS.failedThenSweep);
    const grant = addToken(org, 9151, "amy", "deploy");
    const { revoke, sweep, ledger } = await setup();
    await register(ledger, ORGS.failedThenSweep, [{ tokenId: 9151, owner: "amy", name: "deploy" }]);
    loopback.github.addFault({ method: "POST", path: grantsPath(ORGS.failedThenSweep), status: 422 });
    const refused = await revoke({
      org: ORGS.failedThenSweep,
      selector: { tokenIds: [9151] },
      reason: REASON,
      requestedBy: BY,
    });
    expect(refused.failed.map((f) => f.patId)).toEqual([grant.id]);

    const report = await sweep({ org: ORGS.failedThenSweep });

    expect(report.revoked.map((r) => r.patId)).toEqual([grant.id]);
    expect(org.grants()).toEqual([]);
    const entry = entryOf(await ledger.load(ORGS.failedThenSweep), 9151);
    expect(entry.revokedAt).not.toBeNull();
    expect(entry.revokedReason).toMatch(/^(on-demand|flagged)$/);
    expect(entry.pendingRevocation).toBeNull();
  });

  it("refuses a malformed event with a message naming the field and what was expected, and touches nothing", async () => {
    const org = loopback.github.org(ORGS.malformed);
    addToken(org, 9201, "amy", "a");
    const { revoke, ledger, depsBuilt } = await setup();
    const seen = watch();
    const base = { org: ORGS.malformed, selector: { owner: "amy" }, reason: REASON, requestedBy: BY };

    const refusals: [unknown, RegExp][] = [
      [{ ...base, requestedBy: undefined }, /requestedBy: expected who asks/],
      [{ ...base, reason: "  " }, /reason: expected why/],
      [
        { ...base, selector: { patIds: ["12"] } },
        /selector\.patIds(\.0)?: expected grant ids as positive whole numbers/,
      ],
      [{ ...base, selector: { tokenIds: [] } }, /selector\.tokenIds: expected at least one token id/],
      [{ ...base, selector: {} }, /selector: expected exactly one of .*got an empty object/],
      [{ ...base, selector: { owner: "not a login!" } }, /selector\.owner: expected a GitHub login/],
      [{ ...base, selector: { patIds: [1], owner: "amy" } }, /selector: Unrecognized key: "owner"/],
      [{ ...base, org: "not an org!" }, /org: expected a GitHub organization login/],
      [{ ...base, dryRun: "yes" }, /dryRun: expected true or false/],
    ];
    for (const [event, message] of refusals) {
      await expect(revoke(event)).rejects.toThrow(message);
      await expect(revoke(event)).rejects.toBeInstanceOf(InvalidRevokeError);
    }

    expect(depsBuilt()).toBe(0);
    expect(seen.github()).toEqual([]);
    expect(seen.slack()).toEqual([]);
    expect(org.grants()).toHaveLength(1);
    expect(await ledger.load(ORGS.malformed)).toEqual([]);
  });
});

describe("patrol revoke (the CLI runs the same code)", () => {
  const patrol = (args: string[], table: string) => runCli(args, { ...loopback.env, PATROL_TABLE: table });

  it("refuses bad flags with exit 2 and changes nothing", async () => {
    const org = loopback.github.org(ORGS.cliBad);
    const grant = addToken(org, 9301, "amy", "a");
    const { table, ledger } = await setup();
    const common = ["--org", ORGS.cliBad, "--reason", REASON, "--by", BY];
    const seen = watch();

    const runs = {
      twoSelectors: await patrol(
        ["revoke", ...common, "--owner", "amy", "--pat-id", String(grant.id)],
        table,
      ),
      patAndToken: await patrol(
        ["revoke", ...common, "--pat-id", String(grant.id), "--token-id", "9301"],
        table,
      ),
      allWithoutConfirm: await patrol(["revoke", ...common, "--all"], table),
      allWrongConfirm: await patrol(["revoke", ...common, "--all", "--confirm", "other-org"], table),
      patIdNotNumber: await patrol(["revoke", ...common, "--pat-id", "abc"], table),
      noSelector: await patrol(["revoke", ...common], table),
      noReason: await patrol(["revoke", "--org", ORGS.cliBad, "--by", BY, "--owner", "amy"], table),
      noBy: await patrol(["revoke", "--org", ORGS.cliBad, "--reason", REASON, "--owner", "amy"], table),
    };

    for (const run of Object.values(runs)) {
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
    }
    expect(runs.twoSelectors.stderr).toContain("expected exactly one of");
    expect(runs.twoSelectors.stderr).toContain("--pat-id, --owner");
    expect(runs.patAndToken.stderr).toContain("--pat-id, --token-id");
    expect(runs.allWithoutConfirm.stderr).toContain(
      "--confirm: missing; --all revokes every token in the org",
    );
    expect(runs.allWrongConfirm.stderr).toMatch(/--confirm: ".*" is not rv-cli-bad/);
    expect(runs.patIdNotNumber.stderr).toContain('--pat-id: "abc" is not a number');
    expect(runs.noSelector.stderr).toContain("got none");
    expect(runs.noReason.stderr).toContain("required option '--reason <text>' not specified");
    expect(runs.noBy.stderr).toContain("required option '--by <who>' not specified");
    expect(seen.github()).toEqual([]);
    expect(seen.slack()).toEqual([]);
    expect(org.grants().map((g) => g.id)).toEqual([grant.id]);
    expect(await ledger.load(ORGS.cliBad)).toEqual([]);
  });

  it("--dry-run shows what would be revoked and changes nothing: no revocation, no ledger write, no Slack", async () => {
    const org = loopback.github.org(ORGS.cliDry);
    const a = addToken(org, 9401, "amy", "a");
    const b = addToken(org, 9402, "amy", "b");
    addToken(org, 9403, "bo", "c");
    const { table, ledger } = await setup();
    const seen = watch();

    const run = await patrol(
      [
        "revoke",
        "--org",
        ORGS.cliDry,
        "--owner",
        "amy",
        "--reason",
        REASON,
        "--by",
        BY,
        "--dry-run",
        "--json",
      ],
      table,
    );

    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as RevokeReport;
    expect(report.dryRun).toBe(true);
    expect(report.revoked.map((r) => r.patId).sort(byNumber)).toEqual([a.id, b.id].sort(byNumber));
    expect(report.slack).toEqual({ sent: false, skipped: "dry run" });
    expect(report.summary).toMatch(/^dry run: would revoke 2 tokens; nothing was changed$/);
    expect(seen.github().filter((r) => r.method !== "GET" && r.path.startsWith("/orgs/"))).toEqual([]);
    expect(org.revokedPatIds).toEqual([]);
    expect(org.grants()).toHaveLength(3);
    expect(seen.slack()).toEqual([]);
    expect(await ledger.load(ORGS.cliDry)).toEqual([]);
  });

  it("revokes through the same code as the Lambda (exit 0, JSON report, ledger, Slack)", async () => {
    const org = loopback.github.org(ORGS.cliRun);
    const a = addToken(org, 9501, "amy", "a");
    const b = addToken(org, 9502, "bo", "b");
    const { table, ledger } = await setup();
    const seen = watch();

    const run = await patrol(
      ["revoke", "--org", ORGS.cliRun, "--pat-id", String(a.id), "--reason", REASON, "--by", BY, "--json"],
      table,
    );

    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as RevokeReport;
    expect(report.dryRun).toBe(false);
    expect(report.requestedBy).toBe(BY);
    expect(report.revoked).toEqual([{ patId: a.id, tokenId: 9501, tokenName: "a", owner: "amy" }]);
    expect(org.grants().map((g) => g.id)).toEqual([b.id]);
    expect(patIdsOf(revokeCalls(seen.github(), ORGS.cliRun)[0])).toEqual([a.id]);
    expect(entryOf(await ledger.load(ORGS.cliRun), 9501)).toMatchObject({
      status: "revoked",
      revokedReason: "on-demand",
      revokedDetail: REASON,
      revokedBy: BY,
    });
    expect(seen.posts()).toHaveLength(1);
    expect(report.slack.sent).toBe(true);
  });
});
