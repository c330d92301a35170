/**
 * Requests in seconds: the simulated GitHub org delivers signed `personal_access_token_request` webhooks
 * (as a GitHub App's webhook does) to the real handler behind a Function URL; the handler records the
 * request in the ledger (dynalite) and posts its card to the simulated Slack, within the one delivery.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeWebhookHandler } from "../../lambdas/handlers/github-webhook";
import { type Stage, stage, startWorld, type World } from "../faults/world";
import { type FunctionUrl, startFunctionUrl } from "../sim/function-url";
import { SLACK_CHANNEL } from "../sim/harness";

const ORG = "acme";
const SECRET = "whsec-test-0123456789";
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

let world: World;
let s: Stage;
let endpoint: FunctionUrl;

/** A ledger (with `env`: a policy, say) and the webhook endpoint on it, as GitHub's App webhook URL. */
async function deploy(env: Record<string, string> = {}): Promise<void> {
  await endpoint?.close();
  s = await stage(world, env);
  const client = new DynamoDBClient({
    endpoint: world.store.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  const handler = makeWebhookHandler(
    async () => ({ webhookSecret: SECRET, deps: s.deps, orgs: new Set([ORG]) }),
    {
      tableName: s.table,
      client,
    },
  );
  // GitHub's 10 s: a handler still running then would answer 502, as GitHub would mark it failed.
  endpoint = await startFunctionUrl(handler, { timeoutMs: 10_000 });
  gh().setWebhook({ url: endpoint.url, secret: SECRET });
}

beforeEach(async () => {
  world = await startWorld([ORG]);
  await deploy();
});

afterEach(async () => {
  await endpoint?.close();
  await world?.close();
});

const gh = () => world.loopback.github.org(ORG);
const hooks = () => world.loopback.github.webhooks;
const entries = () => s.ledger.load(ORG);
const entryOf = async (tokenId: number) => (await entries()).find((e) => e.tokenId === tokenId);
const cards = () =>
  world.loopback.slack
    .messages(SLACK_CHANNEL)
    .filter((m) => JSON.stringify(m.blocks).includes("a token request"));

function requestCi(extra: { reason?: string | null } = {}) {
  return gh().addRequest({
    tokenId: 701,
    owner: "cat",
    tokenName: "ci-bot",
    reason: "CI publishes releases",
    permissions: { repository: { contents: "write", metadata: "read" } },
    repositories: ["api", "web"],
    tokenExpiresAt: iso(Date.now() + 60 * DAY),
    ...extra,
  });
}

describe("a request created on GitHub", () => {
  it("reaches the ledger and Slack within its one delivery", async () => {
    const request = requestCi();
    await hooks().settled();
    const [delivery] = hooks().deliveries;
    expect(delivery).toMatchObject({
      event: "personal_access_token_request",
      action: "created",
      status: 200,
    });
    const entry = await entryOf(701);
    expect(entry).toMatchObject({
      status: "requested",
      requestId: request.id,
      owner: "cat",
      tokenName: "ci-bot",
      // The webhook carries no reason: the handler read it from GitHub's listing.
      purpose: "CI publishes releases",
      permissions: { "repository.contents": "write", "repository.metadata": "read" },
    });
    const history = await s.ledger.history(ORG, entry?.entryId ?? "");
    expect(history[0]).toMatchObject({ actor: "github:cat", runId: `delivery:${delivery?.id}` });
    const [card] = cards();
    const body = JSON.stringify(card?.blocks);
    expect(body).toContain("ci-bot");
    expect(body).toContain("CI publishes releases");
    expect(body).toContain("Approve…");
    expect(body).toContain("Deny…");
    expect(body).toContain(`/organizations/${ORG}/settings/personal-access-token-requests`);
  });

  it("a duplicate delivery (a redelivery of the same id) changes nothing and posts nothing", async () => {
    requestCi();
    await hooks().settled();
    const first = hooks().deliveries[0];
    const before = await entries();
    const again = await hooks().redeliver(first?.id ?? "");
    expect(again).toMatchObject({ status: 200, redelivery: true });
    expect(again.responseBody).toBe(first?.responseBody);
    expect(await entries()).toEqual(before);
    expect(cards()).toHaveLength(1);
  });

  it("a wrong or missing signature, or a body altered after signing, is refused with 401 and nothing changes", async () => {
    const body = JSON.stringify(createdPayload());
    for (const tamper of ["signature", "no-signature", "body"] as const) {
      const d = await hooks().deliver({
        url: endpoint.url,
        secret: SECRET,
        event: "personal_access_token_request",
        body,
        tamper,
      });
      expect(d.status, tamper).toBe(401);
    }
    const wrongSecret = await hooks().deliver({
      url: endpoint.url,
      secret: "not-the-secret",
      event: "personal_access_token_request",
      body,
    });
    expect(wrongSecret.status).toBe(401);
    expect(await entries()).toEqual([]);
    expect(cards()).toEqual([]);
  });

  it("an oversized or malformed payload is refused with 400, naming what is wrong; nothing changes", async () => {
    const huge = await hooks().deliver({
      url: endpoint.url,
      secret: SECRET,
      event: "personal_access_token_request",
      body: JSON.stringify({ ...createdPayload(), padding: "x".repeat(300 * 1024) }),
    });
    expect(huge.status).toBe(400);
    expect(huge.responseBody).toMatch(/body over \d+ bytes/);
    const notJson = await hooks().deliver({
      url: endpoint.url,
      secret: SECRET,
      event: "personal_access_token_request",
      body: "{not json",
    });
    expect(notJson).toMatchObject({ status: 400, responseBody: "the body is not JSON" });
    const payload = createdPayload();
    const noToken = {
      ...payload,
      personal_access_token_request: { ...payload.personal_access_token_request, token_id: "701" },
    };
    const wrongShape = await hooks().deliver({
      url: endpoint.url,
      secret: SECRET,
      event: "personal_access_token_request",
      body: JSON.stringify(noToken),
    });
    expect(wrongShape.status).toBe(400);
    expect(wrongShape.responseBody).toContain("personal_access_token_request.token_id");
    expect(await entries()).toEqual([]);
  });

  it("a request in an org this deployment does not govern is ignored, though the App is installed there", async () => {
    const payload = createdPayload();
    const elsewhere = await hooks().deliver({
      url: endpoint.url,
      secret: SECRET,
      event: "personal_access_token_request",
      body: JSON.stringify({ ...payload, organization: { login: "Other-Org", id: 9 } }),
    });
    expect(elsewhere).toMatchObject({
      status: 200,
      responseBody: "ignored: Other-Org is not an org this deployment governs",
    });
    expect(await s.ledger.load("other-org")).toEqual([]);
    const here = await hooks().deliver({
      url: endpoint.url,
      secret: SECRET,
      event: "personal_access_token_request",
      body: JSON.stringify({ ...payload, organization: { login: "ACME", id: 1 } }),
    });
    // The org's login in any case is the org: GitHub logins are case-insensitive.
    expect(here.responseBody).not.toContain("ignored");
  });

  it("other events and actions are answered 200 and ignored", async () => {
    const ping = await hooks().deliver({
      url: endpoint.url,
      secret: SECRET,
      event: "ping",
      body: JSON.stringify({ zen: "Keep it logically awesome." }),
    });
    expect(ping).toMatchObject({ status: 200, responseBody: "ignored: the ping event is not patrol's" });
    const other = await hooks().deliver({
      url: endpoint.url,
      secret: SECRET,
      event: "personal_access_token_request",
      body: JSON.stringify({ ...createdPayload(), action: "edited" }),
    });
    expect(other.status).toBe(200);
    expect(other.responseBody).toContain("ignored");
    expect(await entries()).toEqual([]);
  });
});

describe("a request reviewed or withdrawn", () => {
  it("approved on GitHub: the entry follows its grant", async () => {
    const request = requestCi();
    await hooks().settled();
    await s.deps.github.reviewRequest(ORG, request.id, "approve");
    await hooks().settled();
    expect(hooks().deliveries.map((d) => [d.action, d.status])).toEqual([
      ["created", 200],
      ["approved", 200],
    ]);
    const grant = gh()
      .grants()
      .find((g) => g.token_id === 701);
    const entry = await entryOf(701);
    expect(entry).toMatchObject({ status: "active", patId: grant?.id });
    expect((await s.ledger.history(ORG, entry?.entryId ?? "")).at(-1)?.actor).toMatch(/^github:/);
  });

  it("denied or cancelled: the entry is gone, with the reason", async () => {
    const denied = requestCi();
    gh().addRequest({ tokenId: 702, owner: "dan", tokenName: "scratch", reason: "poking around" });
    await hooks().settled();
    await s.deps.github.reviewRequest(
      ORG,
      denied.id,
      "deny",
      "write access to main needs a reviewed GitHub App",
    );
    const scratch = gh()
      .requests()
      .find((r) => r.token_id === 702);
    expect(gh().cancelRequest(scratch?.id ?? 0)).toBe(true);
    await hooks().settled();
    expect(hooks().deliveries.every((d) => d.status === 200)).toBe(true);
    const ci = await entryOf(701);
    expect(ci?.status).toBe("gone");
    expect((await s.ledger.history(ORG, ci?.entryId ?? "")).at(-1)).toMatchObject({ action: "denied" });
    const cancelled = await entryOf(702);
    expect(cancelled?.status).toBe("gone");
    expect((await s.ledger.history(ORG, cancelled?.entryId ?? "")).at(-1)?.reason).toMatch(
      /withdrawn by its requester/,
    );
  });
});

describe("old news", () => {
  it("a `created` redelivered after the request was denied does not open it again, nor post a card", async () => {
    hooks().loseNext(1);
    const request = requestCi();
    await hooks().settled();
    await s.deps.github.reviewRequest(ORG, request.id, "deny", "not this quarter");
    await hooks().settled();
    expect((await entryOf(701))?.status).toBe("gone");
    const lost = hooks().deliveries.find((d) => d.action === "created");
    const late = await hooks().redeliver(lost?.id ?? "");
    expect(late.status).toBe(200);
    expect(late.responseBody).toContain("no longer pending on GitHub: nothing recorded");
    expect((await entryOf(701))?.status).toBe("gone");
    expect(cards()).toEqual([]);
  });
});

describe("the nightly sweep stays the backstop", () => {
  it("a lost delivery is picked up by the next sweep", async () => {
    hooks().loseNext(1);
    requestCi();
    await hooks().settled();
    expect(hooks().deliveries[0]?.lost).toBe(true);
    expect(await entries()).toEqual([]);
    const night = await s.sweep(ORG);
    expect(night.error).toBeUndefined();
    expect(await entryOf(701)).toMatchObject({ status: "requested", purpose: "CI publishes releases" });
  });

  it("GitHub unreachable while the reason is read: the request is still recorded, the sweep fills its purpose", async () => {
    world.github.inject({
      path: /personal-access-token-requests/,
      times: Number.POSITIVE_INFINITY,
      fault: { kind: "answer", status: 503 },
    });
    requestCi();
    await hooks().settled();
    expect(hooks().deliveries[0]?.status).toBe(200);
    expect(await entryOf(701)).toMatchObject({ status: "requested", purpose: "" });
    world.github.clear();
    await s.sweep(ORG);
    expect((await entryOf(701))?.purpose).toBe("CI publishes releases");
  });
});

describe("approval rules decide the routine requests as they arrive", () => {
  const RULES = [
    { name: "no-endless-tokens", decision: "deny", when: { lifetimeOverDays: 90 } },
    {
      name: "no-admin",
      decision: "deny",
      when: { anyPermission: ["administration:write", "organization_*:write"] },
    },
    {
      name: "small-read-only",
      decision: "approve",
      when: { readOnly: true, maxRepositories: 3, reasonGiven: true, expiresWithinDays: 30 },
      risks: "reads up to 3 repositories for at most 30 days",
    },
  ];
  beforeEach(() => deploy({ PATROL_POLICY: JSON.stringify({ requestRules: RULES }) }));

  it("each rule kind approves or denies at GitHub with its reason, the rule recorded as actor", async () => {
    const soon = iso(Date.now() + 20 * DAY);
    const endless = gh().addRequest({
      tokenId: 801,
      owner: "eve",
      tokenName: "forever",
      reason: "just in case",
      tokenExpiresAt: null,
    });
    const admin = gh().addRequest({
      tokenId: 802,
      owner: "mal",
      tokenName: "admin-bot",
      reason: "manage settings",
      tokenExpiresAt: soon,
      permissions: { repository: { administration: "write", metadata: "read" } },
    });
    const reader = gh().addRequest({
      tokenId: 803,
      owner: "rob",
      tokenName: "docs-reader",
      reason: "builds the docs site",
      tokenExpiresAt: soon,
      permissions: { repository: { contents: "read", metadata: "read" } },
      repositories: ["docs", "web"],
    });
    const person = gh().addRequest({
      tokenId: 804,
      owner: "pat",
      tokenName: "ci-writer",
      reason: "pushes tags",
      tokenExpiresAt: soon,
      permissions: { repository: { contents: "write" } },
      repositories: ["api"],
    });
    await hooks().settled();
    // The decisions' own deliveries (approved, denied) arrive too and change nothing more.
    await hooks().settled();
    const reviews = new Map(gh().reviews.map((r) => [r.requestId, r]));
    expect(reviews.get(endless.id)).toMatchObject({ action: "deny" });
    expect(reviews.get(endless.id)?.reason).toMatch(/never expires.*\(patrol rule no-endless-tokens\)$/);
    expect(reviews.get(admin.id)).toMatchObject({ action: "deny" });
    expect(reviews.get(admin.id)?.reason).toMatch(/administration:write.*\(patrol rule no-admin\)$/);
    expect(reviews.get(reader.id)).toMatchObject({ action: "approve" });
    expect(reviews.get(reader.id)?.reason).toMatch(
      /read-only.*2 repositories.*\(patrol rule small-read-only\)$/,
    );
    expect(reviews.has(person.id)).toBe(false);

    expect(await entryOf(801)).toMatchObject({ status: "gone" });
    expect(await entryOf(802)).toMatchObject({ status: "gone" });
    const approved = await entryOf(803);
    expect(approved).toMatchObject({
      status: "active",
      purpose: "builds the docs site",
      risks: "reads up to 3 repositories for at most 30 days",
      approvedBy: "rule:small-read-only",
      patId: gh()
        .grants()
        .find((g) => g.token_id === 803)?.id,
    });
    const history = await s.ledger.history(ORG, approved?.entryId ?? "");
    expect(history.some((e) => e.actor === "rule:small-read-only" && e.action === "approved")).toBe(true);
    expect(
      (await s.ledger.history(ORG, (await entryOf(801))?.entryId ?? "")).some(
        (e) => e.actor === "rule:no-endless-tokens",
      ),
    ).toBe(true);
    expect(await entryOf(804)).toMatchObject({ status: "requested" });

    // The team sees each: a decided card says by which rule and why; the person's has its buttons.
    const byToken = (name: string) =>
      JSON.stringify(cards().find((c) => JSON.stringify(c.blocks).includes(name))?.blocks);
    expect(byToken("docs-reader")).toMatch(/Approved\*.*by rule `small-read-only`/);
    expect(byToken("docs-reader")).not.toContain("Approve…");
    expect(byToken("forever")).toMatch(/Denied\*.*by rule `no-endless-tokens`/);
    expect(byToken("ci-writer")).toContain("Approve…");
  });
});

describe("approval rules, beyond the delivery", () => {
  const RULES = [
    { name: "no-endless-tokens", decision: "deny", when: { lifetimeOverDays: 90 } },
    {
      name: "small-read-only",
      decision: "approve",
      when: { readOnly: true, maxRepositories: 3, reasonGiven: true, expiresWithinDays: 30 },
    },
  ];

  it("a request whose delivery was lost is decided by the next sweep, and its digest says so", async () => {
    await deploy({ PATROL_POLICY: JSON.stringify({ requestRules: RULES }) });
    hooks().loseNext(2);
    const reader = gh().addRequest({
      tokenId: 901,
      owner: "rob",
      tokenName: "docs-reader",
      reason: "builds the docs site",
      tokenExpiresAt: iso(Date.now() + 20 * DAY),
      permissions: { repository: { contents: "read" } },
      repositories: ["docs", "web"],
    });
    const endless = gh().addRequest({
      tokenId: 902,
      owner: "eve",
      tokenName: "forever",
      reason: "why not",
      tokenExpiresAt: null,
    });
    await hooks().settled();
    expect(gh().reviews).toEqual([]);
    const night = await s.sweep(ORG);
    expect(night.error).toBeUndefined();
    const reviews = new Map(gh().reviews.map((r) => [r.requestId, r]));
    // The sweep counted the request's repositories (its listing does not say) to apply maxRepositories.
    expect(reviews.get(reader.id)).toMatchObject({ action: "approve" });
    expect(reviews.get(reader.id)?.reason).toContain("2 repositories (at most 3)");
    expect(reviews.get(endless.id)).toMatchObject({ action: "deny" });
    expect(night.report?.alerts.filter((a) => a.kind === "request-decided")).toHaveLength(2);
    const digest = world.loopback.slack.messages(SLACK_CHANNEL).at(-1);
    const body = JSON.stringify(digest?.blocks);
    expect(body).toContain("Requests decided by the approval rules");
    expect(body).toMatch(/docs-reader.*approved by rule small-read-only/);
    expect(body).not.toContain("Requests waiting for review");
    expect((await entryOf(901))?.approvedBy).toBe("rule:small-read-only");
    expect((await entryOf(902))?.status).toBe("gone");
  });

  it("a rule step that failed during the delivery is taken by the next sweep, which tells the team", async () => {
    await deploy({ PATROL_POLICY: JSON.stringify({ requestRules: RULES }) });
    world.github.inject({
      method: "POST",
      path: /personal-access-token-requests\/\d+$/,
      times: Number.POSITIVE_INFINITY,
      fault: { kind: "answer", status: 502 },
    });
    const endless = gh().addRequest({
      tokenId: 904,
      owner: "eve",
      tokenName: "forever",
      reason: "why not",
      tokenExpiresAt: null,
    });
    await hooks().settled();
    // The entry is on record; the decision is not: GitHub shows the delivery failed.
    expect(hooks().deliveries[0]?.status).toBe(500);
    expect(await entryOf(904)).toMatchObject({ status: "requested", ruleDecision: null });
    world.github.clear();
    const night = await s.sweep(ORG);
    expect(night.error).toBeUndefined();
    expect(gh().reviews.find((r) => r.requestId === endless.id)).toMatchObject({ action: "deny" });
    expect(await entryOf(904)).toMatchObject({
      status: "gone",
      ruleDecision: { rule: "no-endless-tokens", decision: "deny", applied: true },
    });
    expect(JSON.stringify(world.loopback.slack.messages(SLACK_CHANNEL).at(-1)?.blocks)).toMatch(
      /forever.*denied by rule no-endless-tokens/,
    );
    // Said once: the next night has nothing to add.
    const again = await s.sweep(ORG);
    expect(again.report?.alerts.filter((a) => a.kind === "request-decided")).toEqual([]);
  });

  it("in report mode a rule only says what it would decide; the buttons stay for a person", async () => {
    await deploy({ PATROL_MODE: "report", PATROL_POLICY: JSON.stringify({ requestRules: RULES }) });
    gh().addRequest({
      tokenId: 903,
      owner: "eve",
      tokenName: "forever",
      reason: "why not",
      tokenExpiresAt: null,
    });
    await hooks().settled();
    expect(gh().reviews).toEqual([]);
    expect(await entryOf(903)).toMatchObject({ status: "requested" });
    const card = JSON.stringify(cards().at(-1)?.blocks);
    expect(card).toMatch(/Rule `no-endless-tokens` would deny it \(report mode: you decide\)/);
    expect(card).toContain("Deny…");
  });
});

/** A `created` payload as GitHub sends it, for hand-made deliveries. */
function createdPayload() {
  return {
    action: "created",
    personal_access_token_request: {
      id: 3999,
      owner: { login: "cat", id: 1, type: "User" },
      permissions_added: { repository: { contents: "write" } },
      permissions_upgraded: {},
      permissions_result: { repository: { contents: "write" } },
      repository_selection: "all",
      repository_count: null,
      repositories: null,
      created_at: iso(Date.now()),
      token_id: 701,
      token_name: "ci-bot",
      token_expired: false,
      token_expires_at: iso(Date.now() + 30 * DAY),
      token_last_used_at: null,
    },
    organization: { login: ORG, id: 1 },
    sender: { login: "cat", id: 1, type: "User" },
  };
}
