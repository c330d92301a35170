import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { verify } from "@octokit/webhooks-methods";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type GitHubSim,
  generateAppKeyPair,
  type PatRequestWebhookPayload,
  type SimDelivery,
  type SimOrg,
  startGitHubSim,
} from "../sim/github-sim";
import { type Loopback, startLoopback } from "../sim/harness";
import { closeServer, listenLoopback, readBody } from "../sim/http-util";

const APP_ID = 4242;
const INSTALLATION_ID = 77;
const ORG = "Acme";
const SECRET = "It's a Secret to Everybody";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DELIVERY_TIMEOUT_MS = 200;

/** Octokit logs failed requests; the failures here are on purpose. */
const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

// ---------------------------------------------------------------------------------------------------------
// A webhook receiver: records every request and answers as the test asks

interface Received {
  method: string;
  headers: IncomingHttpHeaders;
  /** The raw bytes, which the signature covers. */
  raw: Buffer;
}

interface Receiver {
  url: string;
  received: Received[];
  answer: { status: number; delayMs: number; body: string };
  /** Runs on arrival, before the answer: what the receiver could see of GitHub at that moment. */
  onArrival: (() => void) | undefined;
  reset(): void;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const timers = new Set<NodeJS.Timeout>();
  const receiver: Receiver = {
    url: "",
    received: [],
    answer: { status: 200, delayMs: 0, body: "ok" },
    onArrival: undefined,
    reset() {
      receiver.received.length = 0;
      receiver.answer = { status: 200, delayMs: 0, body: "ok" };
      receiver.onArrival = undefined;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      await closeServer(server);
    },
  };
  const server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      receiver.received.push({ method: req.method ?? "", headers: req.headers, raw });
      receiver.onArrival?.();
      const { status, delayMs, body } = receiver.answer;
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.writeHead(status, { "content-type": "text/plain" }).end(body);
      }, delayMs);
      timers.add(timer);
    });
  });
  receiver.url = `http://127.0.0.1:${await listenLoopback(server)}/webhooks`;
  return receiver;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function expectedSignature(secret: string, raw: Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`;
}

/** Checks a signature as a receiver must: over the raw bytes, in constant time. */
function signatureValid(secret: string, raw: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== "string") return false;
  const expected = Buffer.from(expectedSignature(secret, raw));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function payloadOf(delivery: SimDelivery | Received): PatRequestWebhookPayload {
  const text = "raw" in delivery ? delivery.raw.toString("utf8") : delivery.body;
  return JSON.parse(text) as PatRequestWebhookPayload;
}

let sim: GitHubSim;
let org: SimOrg;
let receiver: Receiver;
let octokit: Octokit;

/** Deliveries recorded since the test began. */
let firstDelivery = 0;
const newDeliveries = (): SimDelivery[] => sim.webhooks.deliveries.slice(firstDelivery);

beforeAll(async () => {
  const keys = generateAppKeyPair();
  receiver = await startReceiver();
  sim = await startGitHubSim({
    app: { appId: APP_ID, publicKeyPem: keys.publicKeyPem },
    installations: { [ORG]: INSTALLATION_ID },
    deliveryTimeoutMs: DELIVERY_TIMEOUT_MS,
  });
  org = sim.org(ORG);
  octokit = new Octokit({
    baseUrl: sim.url,
    log,
    authStrategy: createAppAuth,
    auth: { appId: APP_ID, privateKey: keys.privateKeyPem, installationId: INSTALLATION_ID },
  });
});

beforeEach(() => {
  receiver.reset();
  org.setWebhook({ url: receiver.url, secret: SECRET });
  org.reviewer = "octo-admin";
  firstDelivery = sim.webhooks.deliveries.length;
});

afterAll(async () => {
  await sim.close();
  await receiver.close();
});

// ---------------------------------------------------------------------------------------------------------

describe("personal_access_token_request deliveries", () => {
  it("addRequest delivers `created` with GitHub's headers, a signature over the raw body and no installation", async () => {
    const request = org.addRequest({
      owner: "alice",
      tokenName: "deploy",
      reason: "ship the api",
      repositories: ["api", "web"],
    });
    await sim.webhooks.settled();

    expect(receiver.received).toHaveLength(1);
    const [got] = receiver.received;
    if (!got) throw new Error("no delivery");
    expect(got.method).toBe("POST");
    expect(got.headers).toMatchObject({
      "content-type": "application/json",
      "x-github-event": "personal_access_token_request",
      "x-github-hook-installation-target-type": "integration",
      "x-github-hook-installation-target-id": String(APP_ID),
    });
    expect(got.headers["user-agent"]).toMatch(/^GitHub-Hookshot\/[0-9a-f]+$/);
    expect(got.headers["x-github-delivery"]).toMatch(GUID);
    expect(got.headers["x-github-hook-id"]).toMatch(/^\d+$/);
    const signature = got.headers["x-hub-signature-256"];
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signatureValid(SECRET, got.raw, signature)).toBe(true);
    expect(await verify(SECRET, got.raw.toString("utf8"), String(signature))).toBe(true);

    const payload = payloadOf(got);
    expect(payload.action).toBe("created");
    expect(payload).not.toHaveProperty("installation");
    expect(payload.sender.login).toBe("alice");
    expect(payload.organization).toMatchObject({ login: ORG, id: org.id, url: `${sim.url}/orgs/${ORG}` });
    const pat = payload.personal_access_token_request;
    expect(pat).not.toHaveProperty("reason");
    expect(pat).toMatchObject({
      id: request.id,
      token_id: request.token_id,
      token_name: "deploy",
      owner: { login: "alice" },
      permissions_result: request.permissions,
      repository_selection: "subset",
      repository_count: 2,
    });
    expect(pat.repositories?.map((r) => r.full_name)).toEqual([`${ORG}/api`, `${ORG}/web`]);
    expect(Object.keys(pat.repositories?.[0] ?? {}).sort()).toEqual([
      "full_name",
      "id",
      "name",
      "node_id",
      "private",
    ]);

    const [delivery] = newDeliveries();
    expect(delivery).toMatchObject({
      id: got.headers["x-github-delivery"],
      event: "personal_access_token_request",
      action: "created",
      url: receiver.url,
      body: got.raw.toString("utf8"),
      redelivery: false,
      status: 200,
      responseBody: "ok",
    });
    expect(delivery?.ms).toBeGreaterThanOrEqual(0);
  });

  it("an approval through the REST API delivers `approved` once the grant is listed, with installation and reviewer", async () => {
    const request = org.addRequest({ owner: "bob", tokenName: "reports", repositorySelection: "all" });
    await sim.webhooks.settled();
    receiver.reset();
    let grantListedOnArrival = false;
    receiver.onArrival = () => {
      grantListedOnArrival = org.grants().some((g) => g.token_id === request.token_id);
    };

    await octokit.rest.orgs.reviewPatGrantRequest({
      org: ORG,
      pat_request_id: request.id,
      action: "approve",
    });
    await sim.webhooks.settled();

    expect(receiver.received).toHaveLength(1);
    expect(grantListedOnArrival).toBe(true);
    const payload = payloadOf(receiver.received[0] as Received);
    expect(payload.action).toBe("approved");
    expect(payload.installation?.id).toBe(INSTALLATION_ID);
    expect(payload.installation?.node_id).toEqual(expect.any(String));
    expect(payload.sender.login).toBe("octo-admin");
    expect(payload.personal_access_token_request).toMatchObject({
      id: request.id,
      owner: { login: "bob" },
      repository_selection: "all",
      repository_count: null,
      repositories: null,
    });
  });

  it("a bulk denial delivers `denied` for each request, sent by the reviewer set on the org", async () => {
    const first = org.addRequest({ owner: "carol", tokenName: "one" });
    const second = org.addRequest({ owner: "dave", tokenName: "two" });
    await sim.webhooks.settled();
    receiver.reset();
    org.reviewer = "octo-lead";

    await octokit.rest.orgs.reviewPatGrantRequestsInBulk({
      org: ORG,
      pat_request_ids: [first.id, second.id],
      action: "deny",
      reason: "too broad",
    });
    await sim.webhooks.settled();

    const payloads = receiver.received.map(payloadOf);
    expect(payloads.map((p) => [p.action, p.personal_access_token_request.id, p.sender.login])).toEqual([
      ["denied", first.id, "octo-lead"],
      ["denied", second.id, "octo-lead"],
    ]);
    expect(payloads.every((p) => p.installation?.id === INSTALLATION_ID)).toBe(true);
  });

  it("cancelRequest withdraws a pending request and delivers `cancelled` from the requester", async () => {
    const request = org.addRequest({ owner: "eve", tokenName: "scratch" });
    await sim.webhooks.settled();
    receiver.reset();

    expect(org.cancelRequest(request.id)).toBe(true);
    expect(org.cancelRequest(request.id)).toBe(false);
    await sim.webhooks.settled();

    expect(org.requests().some((r) => r.id === request.id)).toBe(false);
    expect(receiver.received).toHaveLength(1);
    const payload = payloadOf(receiver.received[0] as Received);
    expect(payload.action).toBe("cancelled");
    expect(payload.sender.login).toBe("eve");
    expect(payload.installation?.id).toBe(INSTALLATION_ID);
  });

  it("sends nothing once the webhook is removed", async () => {
    org.setWebhook(null);
    const request = org.addRequest({ owner: "frank", tokenName: "quiet" });
    org.cancelRequest(request.id);
    await sim.webhooks.settled();
    expect(receiver.received).toHaveLength(0);
    expect(newDeliveries()).toHaveLength(0);
  });
});

describe("GitHub's side of deliveries", () => {
  it("loseNext drops a delivery (recorded as lost, never sent) and a redelivery brings it with the same GUID", async () => {
    sim.webhooks.loseNext(1);
    org.addRequest({ owner: "gina", tokenName: "lost" });
    org.addRequest({ owner: "gina", tokenName: "kept" });
    await sim.webhooks.settled();

    const [lost, kept] = newDeliveries();
    expect(lost).toMatchObject({ action: "created", lost: true });
    expect(lost).not.toHaveProperty("status");
    expect(kept?.status).toBe(200);
    expect(receiver.received.map((r) => payloadOf(r).personal_access_token_request.token_name)).toEqual([
      "kept",
    ]);

    const again = await sim.webhooks.redeliver(lost?.id ?? "");
    expect(again).toMatchObject({ id: lost?.id, redelivery: true, status: 200 });
    expect(again.lost).toBeUndefined();
    const arrived = receiver.received[1];
    expect(arrived?.headers["x-github-delivery"]).toBe(lost?.id);
    expect(arrived?.raw.toString("utf8")).toBe(lost?.body);
  });

  it("redeliver sends the same GUID, bytes and signature, marked as a redelivery, to another URL when asked", async () => {
    org.addRequest({ owner: "hank", tokenName: "twice" });
    await sim.webhooks.settled();
    const [original] = newDeliveries();
    if (!original) throw new Error("no delivery");

    const again = await sim.webhooks.redeliver(original.id, { url: `${receiver.url}?again=1` });

    expect(again).toMatchObject({ id: original.id, body: original.body, redelivery: true, status: 200 });
    expect(again.url).toBe(`${receiver.url}?again=1`);
    const [first, second] = receiver.received;
    expect(second?.headers["x-github-delivery"]).toBe(first?.headers["x-github-delivery"]);
    expect(second?.headers["x-hub-signature-256"]).toBe(first?.headers["x-hub-signature-256"]);
    expect(second?.raw.equals(first?.raw ?? Buffer.alloc(0))).toBe(true);
    expect(newDeliveries()).toHaveLength(2);
    await expect(sim.webhooks.redeliver("no-such-guid")).rejects.toThrow(/no delivery/);
  });

  const tampering = [
    { tamper: undefined, signature: "valid", bodyAsSigned: true },
    { tamper: "signature", signature: "invalid", bodyAsSigned: true },
    { tamper: "no-signature", signature: "missing", bodyAsSigned: true },
    { tamper: "body", signature: "invalid", bodyAsSigned: false },
  ] as const;

  it.each(tampering)("deliver with tamper $tamper: the signature is $signature", async (row) => {
    const body = { action: "created", personal_access_token_request: { id: 1 } };
    const delivery = await sim.webhooks.deliver({
      url: receiver.url,
      secret: SECRET,
      body,
      deliveryId: "11111111-2222-4333-8444-555555555555",
      ...(row.tamper ? { tamper: row.tamper } : {}),
    });

    const [got] = receiver.received;
    if (!got) throw new Error("no delivery");
    const header = got.headers["x-hub-signature-256"];
    const verdict =
      header === undefined ? "missing" : signatureValid(SECRET, got.raw, header) ? "valid" : "invalid";
    expect(verdict).toBe(row.signature);
    expect(got.raw.toString("utf8") === JSON.stringify(body)).toBe(row.bodyAsSigned);
    // An altered body still parses: only the signature can tell.
    expect(JSON.parse(got.raw.toString("utf8")).action).toBe("created");
    if (row.tamper === "body")
      expect(header).toBe(expectedSignature(SECRET, Buffer.from(JSON.stringify(body))));
    expect(got.headers["x-github-delivery"]).toBe("11111111-2222-4333-8444-555555555555");
    expect(delivery).toMatchObject({ action: "created", status: 200, body: got.raw.toString("utf8") });
  });

  it("deliver sends other events and raw bodies byte for byte", async () => {
    const raw = `{"zen":"Keep it logically awesome.","hook_id":1}`;
    const ping = await sim.webhooks.deliver({ url: receiver.url, secret: SECRET, event: "ping", body: raw });
    const big = await sim.webhooks.deliver({
      url: receiver.url,
      secret: SECRET,
      body: "x".repeat(2_000_000),
    });

    expect(ping).toMatchObject({ event: "ping", action: "", status: 200 });
    expect(receiver.received[0]?.headers["x-github-event"]).toBe("ping");
    expect(receiver.received[0]?.raw.toString("utf8")).toBe(raw);
    expect(big.status).toBe(200);
    expect(receiver.received[1]?.raw.length).toBe(2_000_000);
  });

  it("records the receiver's answer, a receiver too slow to answer and a refused connection", async () => {
    receiver.answer = { status: 500, delayMs: 0, body: "boom" };
    const failed = await sim.webhooks.deliver({ url: receiver.url, secret: SECRET, body: {} });
    expect(failed).toMatchObject({ status: 500, responseBody: "boom" });
    expect(failed.error).toBeUndefined();

    receiver.answer = { status: 200, delayMs: DELIVERY_TIMEOUT_MS * 4, body: "late" };
    const slow = await sim.webhooks.deliver({ url: receiver.url, secret: SECRET, body: {} });
    expect(slow.error).toBe("timed out");
    expect(slow.status).toBeUndefined();
    expect(slow.ms).toBeGreaterThanOrEqual(DELIVERY_TIMEOUT_MS - 10);
    expect(slow.ms).toBeLessThan(DELIVERY_TIMEOUT_MS * 4);

    const closed = createServer();
    const port = await listenLoopback(closed);
    await closeServer(closed);
    const refused = await sim.webhooks.deliver({
      url: `http://127.0.0.1:${port}/`,
      secret: SECRET,
      body: {},
    });
    expect(refused.error).toBe("ECONNREFUSED");
  });
});

describe("Enterprise Server path prefix", () => {
  let ghes: Loopback;
  let ghesOctokit: Octokit;

  beforeAll(async () => {
    ghes = await startLoopback({ orgs: [ORG], githubPathPrefix: "/api/v3" });
    const ghesOrg = ghes.github.org(ORG);
    const start = Date.parse("2025-01-01T00:00:00Z");
    for (let i = 0; i < 250; i++) {
      ghesOrg.addGrant({
        owner: "alice",
        tokenName: `token-${i}`,
        accessGrantedAt: new Date(start + i * 60_000).toISOString(),
      });
    }
    ghesOctokit = new Octokit({
      baseUrl: ghes.env.GITHUB_API_URL,
      log,
      authStrategy: createAppAuth,
      auth: { appId: ghes.app.appId, privateKey: ghes.app.privateKeyPem, installationId: 90_000 },
    });
  });

  afterAll(async () => {
    await ghes.close();
  });

  it("serves every route under the prefix: Octokit's paginate works across pages with baseUrl sim.url", async () => {
    expect(ghes.github.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3$/);
    expect(ghes.env.GITHUB_API_URL).toBe(ghes.github.url);
    const before = ghes.github.requests.length;

    const grants = await ghesOctokit.paginate("GET /orgs/{org}/personal-access-tokens", {
      org: ORG,
      per_page: 100,
    });

    expect(grants).toHaveLength(250);
    expect(grants[0]?.token_name).toBe("token-249");
    expect(grants[0]?.repositories_url).toMatch(new RegExp(`^${ghes.github.url}/organizations/\\d+/`));
    const calls = ghes.github.requests.slice(before);
    expect(calls.map((r) => `${r.method} ${r.path} ${r.query.get("page") ?? ""} ${r.status}`)).toEqual([
      "POST /api/v3/app/installations/90000/access_tokens  201",
      `GET /api/v3/orgs/${ORG}/personal-access-tokens  200`,
      `GET /api/v3/orgs/${ORG}/personal-access-tokens 2 200`,
      `GET /api/v3/orgs/${ORG}/personal-access-tokens 3 200`,
    ]);
    const page = await ghesOctokit.request("GET /orgs/{org}/personal-access-tokens", {
      org: ORG,
      per_page: 100,
    });
    expect(page.headers.link).toContain(`<${ghes.github.url}/orgs/${ORG}/personal-access-tokens?`);
  });

  it("answers 404 outside the prefix, and webhook payloads carry the prefix in their URLs", async () => {
    const origin = new URL(ghes.github.url).origin;
    const outside = await fetch(`${origin}/orgs/${ORG}/personal-access-tokens`);
    expect(outside.status).toBe(404);
    expect(await outside.json()).toMatchObject({ message: "Not Found" });
    expect(ghes.github.requests.at(-1)).toMatchObject({
      path: `/orgs/${ORG}/personal-access-tokens`,
      status: 404,
    });

    const ghesOrg = ghes.github.org(ORG);
    ghesOrg.setWebhook({ url: receiver.url, secret: SECRET });
    ghesOrg.addRequest({ owner: "alice", tokenName: "on-prem" });
    await ghes.github.webhooks.settled();
    const payload = payloadOf(receiver.received[0] as Received);
    expect(payload.organization.url).toBe(`${ghes.github.url}/orgs/${ORG}`);
    expect(payload.sender.url).toBe(`${ghes.github.url}/users/alice`);
  });
});
