/**
 * Acting from the alert, end to end: a sweep posts its digest to the simulated Slack; the simulator clicks a
 * button the way Slack does (signed, form-encoded) at the interactivity endpoint behind a Function URL; the
 * endpoint hands the work to the worker through Lambda's asynchronous Invoke API; the worker changes the
 * ledger and GitHub through the same use cases as the CLI and updates the message.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { KnownBlock } from "@slack/types";
import type { Context } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeAsyncInvoker } from "../../lambdas/adapters/lambda-invoke";
import { makeSlackConsole } from "../../lambdas/adapters/slack";
import type { Approvers } from "../../lambdas/core/slack-console";
import { parseApprovers } from "../../lambdas/core/slack-console";
import { makeInteractionsHandler } from "../../lambdas/handlers/slack-interactions";
import { makeSlackWorker } from "../../lambdas/handlers/slack-worker";
import { type Stage, stage, startWorld, type World } from "../faults/world";
import { type FunctionUrl, startFunctionUrl } from "../sim/function-url";
import { SLACK_CHANNEL, SLACK_TOKEN } from "../sim/harness";
import { type LambdaSim, startLambdaSim } from "../sim/lambda-sim";

const SIGNING_SECRET = "8f742231b10e8888abcd99b1c1b2c3d4";
const WORKER = "patrol-slack-worker";
const ORG = "acme";
const DAY = 86_400_000;

const SAM = { id: "U0SAM", name: "sam" }; // revokes, registers, retires
const RITA = { id: "U0RITA", name: "rita" }; // reviews, through the reviewers' user group
const EVE = { id: "U0EVE", name: "eve" }; // nobody named her
const APPROVERS = JSON.stringify({
  revoke: [SAM.id],
  review: ["S0REVIEW"],
  register: [SAM.id],
  retire: [SAM.id],
});

let world: World;
let lambda: LambdaSim;
let endpoint: FunctionUrl;
let s: Stage;

function context(remainingMs: number): Context {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    functionName: WORKER,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as Context;
}

const approvers = (): Approvers => {
  const parsed = parseApprovers(APPROVERS);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
};

let worker: ReturnType<typeof makeSlackWorker>;

/**
 * A fresh world per test: the simulators, a ledger with one expiring registered token, one unregistered
 * token and one pending request, swept once so the digest with its buttons is in Slack.
 */
beforeEach(async () => {
  world = await startWorld([ORG]);
  world.loopback.slack.addUser({ id: SAM.id, name: SAM.name });
  world.loopback.slack.addUser({ id: RITA.id, name: RITA.name });
  world.loopback.slack.addUserGroup("S0REVIEW", [RITA.id]);
  s = await stage(world, { PATROL_APPROVERS: APPROVERS });
  const client = new DynamoDBClient({
    endpoint: world.store.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  worker = makeSlackWorker(async () => ({ ...s.deps, approvers: approvers() }), {
    tableName: s.table,
    client,
  });
  // The worker and the endpoint, wired as the stack wires them.
  lambda = await startLambdaSim({ [WORKER]: (event) => worker(event, context(30_000)) });
  process.env.AWS_ENDPOINT_URL_LAMBDA = lambda.url;
  const dispatch = makeAsyncInvoker(WORKER);
  const handler = makeInteractionsHandler(async () => ({
    signingSecret: SIGNING_SECRET,
    approvers: approvers(),
    slackConsole: (budget) =>
      makeSlackConsole({ token: SLACK_TOKEN, apiUrl: world.env.SLACK_API_URL, budget }),
    dispatch,
  }));
  endpoint = await startFunctionUrl(handler, { timeoutMs: 3_000 });

  const now = Date.now();
  await s.importCsv(
    ORG,
    [
      "token_name,owner,approved_by,purpose,risks,token_id,created_at,expires_at,permissions",
      `deploy,amy,lee,ship releases,writes to main,101,${iso(now - 85 * DAY)},${iso(now + 5 * DAY)},contents:write`,
    ].join("\n"),
  );
  const gh = world.loopback.github.org(ORG);
  gh.addGrant({
    tokenId: 101,
    owner: "amy",
    tokenName: "deploy",
    tokenExpiresAt: iso(now + 5 * DAY),
    accessGrantedAt: iso(now - 85 * DAY),
    tokenLastUsedAt: iso(now - 2 * DAY),
    permissions: { repository: { contents: "write", metadata: "read" } },
    repositories: ["api", "web", "docs"],
  });
  gh.addGrant({
    tokenId: 102,
    owner: "bob",
    tokenName: "mystery",
    tokenExpiresAt: iso(now + 200 * DAY),
    permissions: { repository: { contents: "write" } },
  });
  gh.addRequest({
    id: 3001,
    tokenId: 103,
    owner: "cat",
    tokenName: "ci-bot",
    reason: "CI releases",
    createdAt: iso(now - 3 * DAY),
  });
  const night = await s.sweep(ORG);
  expect(night.error).toBeUndefined();
  expect(night.report?.slack.sent).toBe(true);
});

afterEach(async () => {
  await endpoint?.close();
  await lambda?.close();
  await world?.close();
});

const iso = (ms: number) => new Date(ms).toISOString();

function digest() {
  // The newest digest: other messages (an on-demand revocation's) carry no buttons.
  const messages = world.loopback.slack.messages(SLACK_CHANNEL);
  const last = messages.filter((m) => JSON.stringify(m.blocks ?? []).includes('"type":"actions"')).at(-1);
  if (!last) throw new Error("no digest in Slack");
  return last;
}

/** The block id of an entry's buttons in the latest digest. */
function itemOf(entryId: string): string {
  const block = ((digest().blocks ?? []) as KnownBlock[]).find(
    (b) => b.type === "actions" && b.block_id?.startsWith(`item:${entryId}:`),
  );
  if (!block?.block_id) throw new Error(`no buttons for ${entryId} in the digest`);
  return block.block_id;
}

async function click(label: string, entryId: string, user = SAM, extra: Record<string, unknown> = {}) {
  const result = await world.loopback.slack.click({
    url: endpoint.url,
    signingSecret: SIGNING_SECRET,
    label,
    user,
    messageTs: digest().ts,
    blockId: itemOf(entryId),
    ...extra,
  });
  return result;
}

const entry = async (entryId: string) => (await s.ledger.load(ORG)).find((e) => e.entryId === entryId);
const gh = () => world.loopback.github.org(ORG);
const patIdOf = (tokenId: number) =>
  gh()
    .grants()
    .find((g) => g.token_id === tokenId)?.id;

describe("the digest's buttons", () => {
  it("“Revoke now” revokes once, records the Slack user as actor, and updates the message", async () => {
    const patId = patIdOf(101);
    const before = gh().revokedPatIds.length;
    const answer = await click("Revoke now", "token-101");
    expect(answer.status).toBe(200);
    await lambda.settled();
    expect(lambda.asyncRuns.at(-1)?.result).toMatchObject({ outcome: "done" });
    expect(gh().revokedPatIds.slice(before)).toEqual([patId]);
    // Revoked on demand: flagged, so that the token stays cut off should it come back.
    const revoked = await entry("token-101");
    expect(revoked).toMatchObject({
      status: "flagged",
      revokedReason: "on-demand",
      revokedBy: "slack:U0SAM (sam)",
    });
    const history = await s.ledger.history(ORG, "token-101");
    expect(history.some((e) => e.actor === "slack:U0SAM (sam)")).toBe(true);
    const updated = world.loopback.slack.updates.at(-1);
    const body = JSON.stringify(updated?.after);
    expect(body).toContain("*Revoked*");
    expect(body).toContain("<@U0SAM>");
    const blocks = (digest().blocks ?? []) as KnownBlock[];
    const item = blocks.find((b) => b.block_id?.startsWith("item:token-101:"));
    expect(item?.type).toBe("context");
  });

  it("a double click, a Slack retry and a replay of the same request do the action once", async () => {
    const before = gh().revokedPatIds.length;
    const [first, second] = await Promise.all([
      click("Revoke now", "token-101"),
      click("Revoke now", "token-101"),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);
    const retried = await world.loopback.slack.deliver({
      ...first.raw,
      headers: { ...first.raw.headers, "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" },
    });
    expect(retried.status).toBe(200);
    await lambda.settled();
    expect(gh().revokedPatIds.length - before).toBe(1);
    const events = (await s.ledger.history(ORG, "token-101")).filter((e) => e.actor === "slack:U0SAM (sam)");
    expect(events.length).toBeGreaterThan(0);
    expect((await entry("token-101"))?.revokedBy).toBe("slack:U0SAM (sam)");
  });

  it("a request replayed after 6 minutes is refused, and nothing is handed to the worker", async () => {
    const invoked = lambda.invocations.length;
    const answer = await click("Revoke now", "token-101", SAM, { at: new Date(Date.now() - 6 * 60_000) });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatch(/replay/);
    expect(lambda.invocations.length).toBe(invoked);
    expect((await entry("token-101"))?.status).toBe("active");
  });

  it.each([
    ["signature", /signature does not match/],
    ["missing-timestamp", /no X-Slack-Request-Timestamp/],
    ["missing-signature", /no X-Slack-Signature/],
    ["body", /signature does not match/],
  ] as const)("a request with a %s fault is refused with 401 and changes nothing", async (tamper, why) => {
    const invoked = lambda.invocations.length;
    const revoked = gh().revokedPatIds.length;
    const answer = await click("Revoke now", "token-101", SAM, { tamper });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatch(why);
    expect(lambda.invocations.length).toBe(invoked);
    expect(gh().revokedPatIds.length).toBe(revoked);
  });

  it("someone PATROL_APPROVERS does not name is told so, privately, and nothing changes", async () => {
    const revoked = gh().revokedPatIds.length;
    const answer = await click("Revoke now", "token-101", EVE);
    expect(answer.status).toBe(200);
    await lambda.settled();
    expect(gh().revokedPatIds.length).toBe(revoked);
    expect((await entry("token-101"))?.status).toBe("active");
    const told = world.loopback.slack.responses.find((r) => r.clickId === answer.clickId);
    expect(JSON.stringify(told?.body)).toContain("Not allowed");
    expect((told?.body as { response_type?: string } | undefined)?.response_type).toBe("ephemeral");
  });

  it("a stale button says so instead of acting", async () => {
    // Someone revoked the token from the CLI meanwhile; the digest still shows its buttons.
    const cli = await s.revoke({
      org: ORG,
      selector: { tokenIds: [101] },
      reason: "rotated",
      requestedBy: "lee",
    });
    expect(cli.error).toBeUndefined();
    const revoked = gh().revokedPatIds.length;
    const answer = await click("Not needed", "token-101");
    expect(answer.status).toBe(200);
    await lambda.settled();
    expect(lambda.asyncRuns.at(-1)?.result).toMatchObject({ outcome: "stale" });
    const told = world.loopback.slack.responses.find((r) => r.clickId === answer.clickId);
    expect(JSON.stringify(told?.body)).toMatch(/Nothing done: deploy is already revoked \(by lee/);
    expect(gh().revokedPatIds.length).toBe(revoked);
    expect((await entry("token-101"))?.revokedBy).toBe("lee");
  });
});

describe("each action", () => {
  it("“Not needed” retires the token for the next sweep", async () => {
    await click("Not needed", "token-101");
    await lambda.settled();
    expect(await entry("token-101")).toMatchObject({ status: "retired", updatedBy: "slack:U0SAM (sam)" });
    expect(gh().revokedPatIds).toEqual([]);
    const next = await s.sweep(ORG);
    expect(next.report?.revoked.map((r) => [r.tokenId, r.reason])).toEqual([[101, "not-needed"]]);
  });

  it("“Renewing” marks renew and hands the owner a pre-filled new-token link", async () => {
    const answer = await click("Renewing", "token-101");
    await lambda.settled();
    expect(await entry("token-101")).toMatchObject({ status: "active", renew: true });
    const told = world.loopback.slack.responses.find((r) => r.clickId === answer.clickId);
    const text = String((told?.body as { text?: string } | undefined)?.text);
    const url = new URL(text.slice(text.indexOf("http")));
    expect(url.pathname).toBe("/settings/personal-access-tokens/new");
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      name: "deploy",
      target_name: ORG,
      expires_in: "90",
      contents: "write",
    });
  });

  it("“Flag compromised” flags the entry and revokes at once", async () => {
    const patId = patIdOf(102);
    await click("Flag compromised", "token-102");
    await lambda.settled();
    expect(gh().revokedPatIds).toEqual([patId]);
    const flagged = await entry("token-102");
    expect(flagged?.status === "flagged" || flagged?.status === "revoked").toBe(true);
    const history = await s.ledger.history(ORG, "token-102");
    expect(history.some((e) => e.actor === "slack:U0SAM (sam)" && e.reason.includes("compromised"))).toBe(
      true,
    );
  });

  it("“Register…” opens a modal; its submission registers the token with the clicker as approver", async () => {
    const answer = await click("Register…", "token-102");
    expect(answer.status).toBe(200);
    const view = world.loopback.slack.views.at(-1);
    expect(view?.title).toMatchObject({ text: "Register token" });
    expect(JSON.stringify(view?.blocks)).toContain("mystery");
    const submitted = await world.loopback.slack.submit({
      url: endpoint.url,
      signingSecret: SIGNING_SECRET,
      viewId: view?.id ?? "",
      user: SAM,
      values: { purpose: "nightly backups", risks: "reads every repo", needed_until: "2027-06-30" },
    });
    expect(submitted.status).toBe(200);
    await lambda.settled();
    expect(await entry("token-102")).toMatchObject({
      status: "active",
      purpose: "nightly backups",
      risks: "reads every repo",
      approvedBy: "slack:U0SAM (sam)",
      neededUntil: "2027-06-30T00:00:00.000Z",
    });
    const item = ((digest().blocks ?? []) as KnownBlock[]).find((b) =>
      b.block_id?.startsWith("item:token-102:"),
    );
    expect(JSON.stringify(item)).toContain("*Registered*");
  });

  it("a registration whose date does not read is refused on the modal, as the CSV and the CLI refuse it", async () => {
    await click("Register…", "token-102");
    const view = world.loopback.slack.views.at(-1);
    const refused = await world.loopback.slack.submit({
      url: endpoint.url,
      signingSecret: SIGNING_SECRET,
      viewId: view?.id ?? "",
      user: SAM,
      values: { purpose: "nightly backups", risks: "reads every repo", needed_until: "2027-02-30" },
    });
    expect(JSON.parse(refused.body)).toMatchObject({
      response_action: "errors",
      errors: { needed_until: expect.stringMatching(/is not a date/) },
    });
    await lambda.settled();
    expect((await entry("token-102"))?.status).toBe("unregistered");
  });

  it("“Approve…” refuses without purpose and risks, then approves at GitHub with the intent recorded first", async () => {
    const requested = (await s.ledger.load(ORG)).find((e) => e.requestId === 3001);
    expect(requested?.status).toBe("requested");
    await click("Approve…", requested?.entryId ?? "", RITA);
    const view = world.loopback.slack.views.at(-1);
    const refused = await world.loopback.slack.submit({
      url: endpoint.url,
      signingSecret: SIGNING_SECRET,
      viewId: view?.id ?? "",
      user: RITA,
      values: { purpose: "CI releases" },
    });
    expect(JSON.parse(refused.body)).toMatchObject({
      response_action: "errors",
      errors: { risks: expect.any(String) },
    });
    await lambda.settled();
    expect(gh().reviews).toEqual([]);
    await world.loopback.slack.submit({
      url: endpoint.url,
      signingSecret: SIGNING_SECRET,
      viewId: view?.id ?? "",
      user: RITA,
      values: { purpose: "CI releases", risks: "can push tags" },
    });
    await lambda.settled();
    expect(gh().reviews).toEqual([{ requestId: 3001, action: "approve" }]);
    const approved = await entry(requested?.entryId ?? "");
    expect(approved).toMatchObject({ status: "active", purpose: "CI releases", risks: "can push tags" });
    const history = await s.ledger.history(ORG, requested?.entryId ?? "");
    expect(history.map((e) => e.actor)).toContain("slack:U0RITA (rita)");
  });

  it("“Deny…” sends the reason to GitHub; someone outside the reviewers cannot open it", async () => {
    const requested = (await s.ledger.load(ORG)).find((e) => e.requestId === 3001);
    const views = world.loopback.slack.views.length;
    const refused = await click("Deny…", requested?.entryId ?? "", SAM);
    expect(world.loopback.slack.views.length).toBe(views);
    const told = world.loopback.slack.responses.find((r) => r.clickId === refused.clickId);
    expect(JSON.stringify(told?.body)).toContain("Not allowed");

    await click("Deny…", requested?.entryId ?? "", RITA);
    const view = world.loopback.slack.views.at(-1);
    await world.loopback.slack.submit({
      url: endpoint.url,
      signingSecret: SIGNING_SECRET,
      viewId: view?.id ?? "",
      user: RITA,
      values: { reason: "contents:write on every repo is too broad" },
    });
    await lambda.settled();
    expect(gh().reviews).toEqual([
      { requestId: 3001, action: "deny", reason: "contents:write on every repo is too broad" },
    ]);
    expect((await entry(requested?.entryId ?? ""))?.status).toBe("gone");
  });
});

describe("Slack itself slow or busy while the endpoint answers", () => {
  it("a views.open that answers late: the endpoint still answers within 3 s, the clicker is told, nothing changes", async () => {
    const before = await entry("token-102");
    world.loopback.slack.delayNext("views.open", 4_000);
    const answer = await click("Register…", "token-102");
    // The Function URL stands for Slack's 3 s: a handler still running then would have answered 502.
    expect(answer.status).toBe(200);
    const told = world.loopback.slack.responses.find((r) => r.clickId === answer.clickId);
    expect(JSON.stringify(told?.body)).toMatch(
      /patrol could not act on that: .*Nothing was changed; try again/,
    );
    expect(lambda.asyncRuns).toHaveLength(0);
    expect(await entry("token-102")).toEqual(before);
  });

  it("a views.open refused with 429: the clicker is told Slack is busy, at once, and nothing changes", async () => {
    const before = await entry("token-102");
    world.loopback.slack.failNext(1, { error: "ratelimited", retryAfterSeconds: 30, method: "views.open" });
    const answer = await click("Register…", "token-102");
    // The Function URL stands for Slack's 3 s: a handler still running then would have answered 502.
    expect(answer.status).toBe(200);
    const told = world.loopback.slack.responses.find((r) => r.clickId === answer.clickId);
    expect(JSON.stringify(told?.body)).toMatch(/patrol could not act on that: .*rate.?limit.*try again/i);
    expect(world.loopback.slack.views).toHaveLength(0);
    expect(lambda.asyncRuns).toHaveLength(0);
    expect(await entry("token-102")).toEqual(before);
  });

  it("a hand-off Lambda refuses: answered 200, the clicker told to try again (a repeat is done once)", async () => {
    const broken = await startFunctionUrl(
      makeInteractionsHandler(async () => ({
        signingSecret: SIGNING_SECRET,
        approvers: approvers(),
        slackConsole: (budget) =>
          makeSlackConsole({ token: SLACK_TOKEN, apiUrl: world.env.SLACK_API_URL, budget }),
        dispatch: makeAsyncInvoker("patrol-no-such-worker"),
      })),
      { timeoutMs: 3_000 },
    );
    try {
      const before = await entry("token-101");
      const answer = await world.loopback.slack.click({
        url: broken.url,
        signingSecret: SIGNING_SECRET,
        label: "Revoke now",
        user: SAM,
        messageTs: digest().ts,
        blockId: itemOf("token-101"),
      });
      expect(answer.status).toBe(200);
      const told = world.loopback.slack.responses.find((r) => r.clickId === answer.clickId);
      expect(JSON.stringify(told?.body)).toMatch(/patrol could not hand that on: .*it is carried out once/);
      expect(lambda.asyncRuns).toHaveLength(0);
      expect(await entry("token-101")).toEqual(before);
    } finally {
      await broken.close();
    }
  });
});

describe("a digest too long for one message", () => {
  it("attaches the full list in the thread; only shown or attached items count as sent", async () => {
    const now = Date.now();
    for (let i = 0; i < 30; i++) {
      gh().addGrant({
        tokenId: 600 + i,
        owner: `dev${i}`,
        tokenName: `tool-${i}`,
        tokenExpiresAt: iso(now + 300 * DAY),
      });
    }
    const night = await s.sweep(ORG);
    expect(night.report?.slack.sent).toBe(true);
    const file = world.loopback.slack.files.at(-1);
    expect(file?.threadTs).toBe(digest().ts);
    const rows = (file?.content ?? "").trim().split("\n");
    expect(rows[0]).toContain("kind,token_name,owner,token_id,grant_id");
    expect(rows.filter((r) => r.startsWith("unregistered,tool-"))).toHaveLength(30);
    // Nothing new the next night: every item was shown or attached, and is remembered.
    const next = await s.sweep(ORG);
    expect(next.report?.slack.skipped).toBe("nothing new");
  });

  it("when the file cannot be attached, the items not shown are sent again the next night", async () => {
    const now = Date.now();
    for (let i = 0; i < 30; i++) {
      gh().addGrant({
        tokenId: 700 + i,
        owner: `dev${i}`,
        tokenName: `tool-${i}`,
        tokenExpiresAt: iso(now + 300 * DAY),
      });
    }
    world.loopback.slack.failNext(1, { method: "files.getUploadURLExternal", error: "internal_error" });
    const night = await s.sweep(ORG);
    expect(night.error?.message).toMatch(
      /attaching the full list failed.*the 24 alerts not shown will be sent by the next sweep/,
    );
    const tokensIn = (text: string) => new Set([...text.matchAll(/token-(7\d\d)/g)].map((m) => m[1]));
    const shownFirst = tokensIn(JSON.stringify(digest().blocks));
    expect(shownFirst.size).toBe(6);

    const next = await s.sweep(ORG);
    expect(next.error).toBeUndefined();
    const file = world.loopback.slack.files.at(-1)?.content ?? "";
    const ids = new Set([...file.matchAll(/,(7\d\d),/g)].map((m) => m[1]));
    for (const id of tokensIn(JSON.stringify(digest().blocks))) ids.add(id);
    expect(ids.size).toBe(24);
    for (const id of shownFirst) expect(ids.has(id)).toBe(false);
  });
});
