import { createPrivateKey } from "node:crypto";
import { createAppAuth } from "@octokit/auth-app";
import { throttling } from "@octokit/plugin-throttling";
import { RequestError } from "@octokit/request-error";
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppJwt, type GitHubSim, generateAppKeyPair, startGitHubSim } from "../sim/github-sim";

const APP_ID = 4242;
const INSTALLATION_ID = 77;
const ORG = "Acme";
const OTHER_ORG = "globex";
const PAT_TOKEN = "ghp_classicPersonalTokenOfAnOrgOwner000000";
const LOCAL_TOKEN = "ghs_readyInstallationTokenForLocalUse0000";
const OWNERS = ["Alice", "bob", "Carol", "dave", "Eve"];

const appKeys = generateAppKeyPair();
const strangerKeys = generateAppKeyPair();

/** Octokit logs failed requests; the failures here are on purpose. */
const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Octokit without retries or throttling: every status the sim answers reaches the test. */
function appOctokit(privateKey: string, installationId = INSTALLATION_ID): Octokit {
  return new Octokit({
    baseUrl: sim.url,
    log,
    authStrategy: createAppAuth,
    auth: { appId: APP_ID, privateKey, installationId },
  });
}

function tokenOctokit(token: string): Octokit {
  return new Octokit({ baseUrl: sim.url, auth: token, log });
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (err) {
    if (err instanceof RequestError) return err.status;
    throw err;
  }
}

let sim: GitHubSim;
let octokit: Octokit;

beforeAll(async () => {
  sim = await startGitHubSim({
    app: { appId: APP_ID, publicKeyPem: appKeys.publicKeyPem },
    installations: { [ORG]: INSTALLATION_ID, [OTHER_ORG]: 78 },
    staticTokens: { [PAT_TOKEN]: [ORG], [LOCAL_TOKEN]: [ORG] },
  });
  const org = sim.org(ORG);
  const start = Date.parse("2025-01-01T00:00:00Z");
  for (let i = 0; i < 250; i++) {
    org.addGrant({
      owner: OWNERS[i % OWNERS.length] ?? "alice",
      tokenName: `token-${i}`,
      accessGrantedAt: new Date(start + i * 60_000).toISOString(),
      tokenExpiresAt: i % 2 === 0 ? null : "2026-01-01T00:00:00Z",
      tokenLastUsedAt: i % 3 === 0 ? null : new Date(start + i * 3_600_000).toISOString(),
      ...(i === 7 ? { repositories: ["api", "web"] } : {}),
    });
  }
  octokit = appOctokit(appKeys.privateKeyPem);
});

afterAll(async () => {
  await sim.close();
});

describe("GitHub App authentication", () => {
  it("verifies the App's JWT and issues an installation token for the org", async () => {
    const app = await octokit.rest.apps.getAuthenticated();
    expect(app.data?.id).toBe(APP_ID);
    const installation = await octokit.rest.apps.getOrgInstallation({ org: ORG });
    expect(installation.data.id).toBe(INSTALLATION_ID);
    expect(
      installation.data.account && "login" in installation.data.account && installation.data.account.login,
    ).toBe(ORG);

    const before = sim.requests.length;
    const { data, headers } = await octokit.rest.orgs.listPatGrants({ org: ORG, per_page: 1 });
    expect(data).toHaveLength(1);
    expect(headers["x-ratelimit-limit"]).toBe("5000");
    const calls = sim.requests.slice(before);
    expect(calls.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `POST /app/installations/${INSTALLATION_ID}/access_tokens 201`,
      `GET /orgs/${ORG}/personal-access-tokens 200`,
    ]);

    const again = await octokit.rest.orgs.listPatGrants({ org: ORG, per_page: 1 });
    expect(Number(again.headers["x-ratelimit-remaining"])).toBe(Number(headers["x-ratelimit-remaining"]) - 1);
  });

  it("accepts a PKCS#8 key and a PKCS#1 key (the format GitHub hands out)", async () => {
    expect(appKeys.privateKeyPem).toContain("BEGIN PRIVATE KEY");
    const pkcs1 = createPrivateKey(appKeys.privateKeyPem).export({ type: "pkcs1", format: "pem" }).toString();
    expect(pkcs1).toContain("BEGIN RSA PRIVATE KEY");
    const { data } = await appOctokit(pkcs1).rest.apps.getAuthenticated();
    expect(data?.id).toBe(APP_ID);
    expect(generateAppKeyPair("pkcs1").privateKeyPem).toContain("BEGIN RSA PRIVATE KEY");
  });

  it("refuses a JWT signed by another key, and JWTs with bad claims", async () => {
    const stranger = appOctokit(strangerKeys.privateKeyPem);
    const err = await stranger.rest.apps.getAuthenticated().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).status).toBe(401);
    expect((err as RequestError).message).toContain("A JSON web token could not be decoded");
    expect(await statusOf(stranger.rest.orgs.listPatGrants({ org: ORG }))).toBe(401);

    const now = Math.floor(Date.now() / 1000);
    const bare = new Octokit({ baseUrl: sim.url, log });
    const tooLong = createAppJwt({
      privateKeyPem: appKeys.privateKeyPem,
      appId: APP_ID,
      iat: now,
      exp: now + 900,
    });
    const tooLongErr = await bare
      .request("GET /app", { headers: { authorization: `Bearer ${tooLong}` } })
      .catch((e) => e);
    expect(tooLongErr.status).toBe(401);
    expect(tooLongErr.message).toContain("'Expiration time' claim ('exp') is too far in the future");
    const expired = createAppJwt({
      privateKeyPem: appKeys.privateKeyPem,
      appId: APP_ID,
      iat: now - 900,
      exp: now - 300,
    });
    expect(
      await statusOf(bare.request("GET /app", { headers: { authorization: `Bearer ${expired}` } })),
    ).toBe(401);
    const asString = createAppJwt({ privateKeyPem: appKeys.privateKeyPem, appId: String(APP_ID) });
    expect(
      await statusOf(bare.request("GET /app", { headers: { authorization: `Bearer ${asString}` } })),
    ).toBe(200);
  });

  it("answers 404 for an unknown installation", async () => {
    expect(await statusOf(appOctokit(appKeys.privateKeyPem, 999).rest.orgs.listPatGrants({ org: ORG }))).toBe(
      404,
    );
  });
});

describe("listing grants", () => {
  it("paginates 250 grants in 3 pages through octokit.paginate, newest first", async () => {
    await octokit.rest.orgs.listPatGrants({ org: ORG, per_page: 1 }); // token already cached
    const before = sim.requests.length;
    const grants = await octokit.paginate(octokit.rest.orgs.listPatGrants, { org: ORG, per_page: 100 });
    const calls = sim.requests.slice(before);
    expect(calls).toHaveLength(3);
    expect(calls.map((r) => r.query.get("page"))).toEqual([null, "2", "3"]);
    expect(grants).toHaveLength(250);
    expect(new Set(grants.map((g) => g.id)).size).toBe(250);
    expect(grants[0]?.token_name).toBe("token-249");
    expect(grants[249]?.token_name).toBe("token-0");
    const sample = grants.find((g) => g.token_name === "token-1");
    expect(sample).toMatchObject({
      repository_selection: "subset",
      permissions: { repository: { contents: "read", metadata: "read" } },
      token_expired: false,
      token_expires_at: "2026-01-01T00:00:00Z",
    });
    expect(sample?.owner.login).toBe("bob");
  });

  it("writes GitHub's Link header and clamps per_page to 100", async () => {
    const first = await octokit.request("GET /orgs/{org}/personal-access-tokens", {
      org: ORG,
      per_page: 100,
    });
    const base = `${sim.url}/orgs/${ORG}/personal-access-tokens`;
    expect(first.headers.link).toBe(
      `<${base}?per_page=100&page=2>; rel="next", <${base}?per_page=100&page=3>; rel="last"`,
    );
    const middle = await octokit.request("GET /orgs/{org}/personal-access-tokens", {
      org: ORG,
      per_page: 100,
      page: 2,
      direction: "asc",
    });
    expect(middle.headers.link).toBe(
      [
        `<${base}?per_page=100&page=1&direction=asc>; rel="prev"`,
        `<${base}?per_page=100&page=3&direction=asc>; rel="next"`,
        `<${base}?per_page=100&page=3&direction=asc>; rel="last"`,
        `<${base}?per_page=100&page=1&direction=asc>; rel="first"`,
      ].join(", "),
    );
    expect(middle.data[0]?.token_name).toBe("token-100");
    const clamped = await octokit.request("GET /orgs/{org}/personal-access-tokens", {
      org: ORG,
      per_page: 500,
    });
    expect(clamped.data).toHaveLength(100);
  });

  it("filters by owner[] case-insensitively (both wire forms) and refuses more than 10 owners", async () => {
    const viaOctokit = await octokit.paginate(octokit.rest.orgs.listPatGrants, {
      org: ORG,
      per_page: 100,
      owner: ["ALICE"],
    });
    expect(viaOctokit).toHaveLength(50);
    expect(viaOctokit.every((g) => g.owner.login === "Alice")).toBe(true);

    const bracketed = await octokit.request(
      `GET /orgs/{org}/personal-access-tokens?owner[]=alice&owner[]=BOB&per_page=100`,
      { org: ORG },
    );
    expect(bracketed.data).toHaveLength(100);
    expect(new Set(bracketed.data.map((g: { owner: { login: string } }) => g.owner.login))).toEqual(
      new Set(["Alice", "bob"]),
    );

    const eleven = Array.from({ length: 11 }, (_, i) => `user${i}`);
    expect(await statusOf(octokit.rest.orgs.listPatGrants({ org: ORG, owner: eleven }))).toBe(422);
  });

  it("filters by token_id[] and last use, and lists a grant's repositories", async () => {
    const all = sim.org(ORG).grants();
    const picked = [all[3], all[4]].map((g) => String(g?.token_id));
    const { data } = await octokit.rest.orgs.listPatGrants({ org: ORG, token_id: picked });
    expect(data.map((g) => String(g.token_id)).sort()).toEqual([...picked].sort());

    const unused = await octokit.paginate(octokit.rest.orgs.listPatGrants, {
      org: ORG,
      per_page: 100,
      last_used_before: "2025-01-02T00:00:00Z",
    });
    expect(unused.every((g) => g.token_last_used_at !== null && g.token_last_used_at < "2025-01-02")).toBe(
      true,
    );
    expect(unused.length).toBeGreaterThan(0);

    const withRepos = all.find((g) => g.token_name === "token-7");
    const repos = await octokit.rest.orgs.listPatGrantRepositories({ org: ORG, pat_id: withRepos?.id ?? 0 });
    expect(repos.data.map((r) => r.full_name)).toEqual([`${ORG}/api`, `${ORG}/web`]);
  });
});

describe("revoking grants", () => {
  it("revokes in bulk through updatePatAccesses and one by one through updatePatAccess", async () => {
    const org = sim.org(ORG);
    const victims = org.grants().slice(0, 3);
    const ids = victims.map((g) => g.id);
    const bulk = await octokit.rest.orgs.updatePatAccesses({
      org: ORG,
      action: "revoke",
      pat_ids: [...ids, 999_999],
    });
    expect(bulk.status).toBe(202);
    expect(org.grants().some((g) => ids.includes(g.id))).toBe(false);
    expect(org.revokedPatIds).toEqual(ids);

    const one = org.grants()[0];
    const single = await octokit.rest.orgs.updatePatAccess({
      org: ORG,
      pat_id: one?.id ?? 0,
      action: "revoke",
    });
    expect(single.status).toBe(204);
    expect(
      await statusOf(octokit.rest.orgs.updatePatAccess({ org: ORG, pat_id: one?.id ?? 0, action: "revoke" })),
    ).toBe(404);
    expect(
      await statusOf(octokit.rest.orgs.updatePatAccesses({ org: ORG, action: "revoke", pat_ids: [] })),
    ).toBe(422);

    const remaining = await octokit.paginate(octokit.rest.orgs.listPatGrants, { org: ORG, per_page: 100 });
    expect(remaining).toHaveLength(246);
    expect(remaining.at(-1)?.token_name).toBe("token-4");
  });
});

describe("requests for access", () => {
  it("lists requests, approves one into a grant, denies one and validates the reason", async () => {
    const org = sim.org(ORG);
    const wanted = org.addRequest({ owner: "frank", tokenName: "deploy", reason: "CI deploys" });
    const unwanted = org.addRequest({ owner: "grace", tokenName: "scrape", reason: null });
    const { data } = await octokit.rest.orgs.listPatGrantRequests({ org: ORG, per_page: 100 });
    expect(data.map((r) => r.id)).toEqual([unwanted.id, wanted.id]);
    expect(data[1]?.reason).toBe("CI deploys");

    expect(
      await statusOf(
        octokit.rest.orgs.reviewPatGrantRequest({
          org: ORG,
          pat_request_id: wanted.id,
          action: "approve",
          reason: "x".repeat(1025),
        }),
      ),
    ).toBe(422);
    await octokit.rest.orgs.reviewPatGrantRequest({ org: ORG, pat_request_id: wanted.id, action: "approve" });
    await octokit.rest.orgs.reviewPatGrantRequestsInBulk({
      org: ORG,
      pat_request_ids: [unwanted.id],
      action: "deny",
      reason: "not needed",
    });
    expect(org.requests()).toHaveLength(0);
    expect(org.reviews).toEqual([
      { requestId: wanted.id, action: "approve" },
      { requestId: unwanted.id, action: "deny", reason: "not needed" },
    ]);
    const granted = org.grants().find((g) => g.token_id === wanted.token_id);
    expect(granted?.token_name).toBe("deploy");
    expect(granted?.id).not.toBe(wanted.id);
    const newest = await octokit.rest.orgs.listPatGrants({ org: ORG, per_page: 1 });
    expect(newest.data[0]?.token_id).toBe(wanted.token_id);
  });
});

describe("faults and refusals", () => {
  it("answers a queued 502 once, and the request is recorded", async () => {
    await octokit.rest.orgs.listPatGrants({ org: ORG, per_page: 1 });
    sim.addFault({ method: "GET", path: `/orgs/${ORG}/personal-access-tokens`, status: 502 });
    expect(await statusOf(octokit.rest.orgs.listPatGrants({ org: ORG, per_page: 1 }))).toBe(502);
    expect(await statusOf(octokit.rest.orgs.listPatGrants({ org: ORG, per_page: 1 }))).toBe(200);
    expect(sim.requests.slice(-2).map((r) => r.status)).toEqual([502, 200]);
  });

  it("speaks secondary rate limits the way plugin-throttling understands", async () => {
    sim.addFault({ path: /personal-access-tokens$/, status: 403, headers: { "retry-after": "1" } });
    const retried: number[] = [];
    const Throttled = Octokit.plugin(throttling);
    const throttled = new Throttled({
      baseUrl: sim.url,
      auth: LOCAL_TOKEN,
      log,
      throttle: {
        retryAfterBaseValue: 1, // a "second" of retry-after lasts 1 ms here
        onRateLimit: () => false,
        onSecondaryRateLimit: (retryAfter: number) => {
          retried.push(retryAfter);
          return true;
        },
      },
    });
    const { data } = await throttled.rest.orgs.listPatGrants({ org: ORG, per_page: 2 });
    expect(data).toHaveLength(2);
    expect(retried).toEqual([1]);
    expect(sim.requests.slice(-2).map((r) => r.status)).toEqual([403, 200]);
  });

  it("refuses PATs with 403, unknown tokens with 401, and other orgs' tokens with 403", async () => {
    const pat = await tokenOctokit(PAT_TOKEN)
      .rest.orgs.listPatGrants({ org: ORG })
      .catch((e: unknown) => e);
    expect((pat as RequestError).status).toBe(403);
    expect((pat as RequestError).message).toContain("Resource not accessible by personal access token");
    expect(await statusOf(tokenOctokit("ghs_unknown").rest.orgs.listPatGrants({ org: ORG }))).toBe(401);
    expect(await statusOf(tokenOctokit(LOCAL_TOKEN).rest.orgs.listPatGrants({ org: OTHER_ORG }))).toBe(403);
    expect(await statusOf(octokit.rest.orgs.listPatGrants({ org: OTHER_ORG }))).toBe(403);
    expect(await statusOf(octokit.request("GET /nowhere"))).toBe(404);
  });
});

describe("credential authorizations (SAML SSO)", () => {
  it("answers 404 without SAML SSO, lists and deletes with it", async () => {
    const org = sim.org(ORG);
    const pat = tokenOctokit(PAT_TOKEN);
    expect(await statusOf(pat.request("GET /orgs/{org}/credential-authorizations", { org: ORG }))).toBe(404);

    org.samlSso = true;
    for (let i = 0; i < 3; i++)
      org.addCredentialAuthorization({ login: i === 2 ? "Bob" : "alice", scopes: ["repo"] });
    const page1 = await pat.request("GET /orgs/{org}/credential-authorizations", { org: ORG, per_page: 2 });
    expect(page1.data).toHaveLength(2);
    expect(page1.headers.link).toContain('rel="next"');
    const all = await pat.paginate("GET /orgs/{org}/credential-authorizations", { org: ORG, per_page: 2 });
    expect(all).toHaveLength(3);
    const bobs = await pat.request("GET /orgs/{org}/credential-authorizations", { org: ORG, login: "bob" });
    expect(bobs.data.map((c: { login: string }) => c.login)).toEqual(["bob"]); // the login as first seen (a grant of "bob")

    const id = org.credentialAuthorizations()[0]?.credential_id ?? 0;
    const removed = await pat.request("DELETE /orgs/{org}/credential-authorizations/{credential_id}", {
      org: ORG,
      credential_id: id,
    });
    expect(removed.status).toBe(204);
    expect(
      await statusOf(
        pat.request("DELETE /orgs/{org}/credential-authorizations/{credential_id}", {
          org: ORG,
          credential_id: id,
        }),
      ),
    ).toBe(404);
    expect(org.credentialAuthorizations()).toHaveLength(2);
  });
});
