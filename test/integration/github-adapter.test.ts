/**
 * The GitHub adapter's listing against the simulated org: pages are prepared ahead of their turn but go on
 * the wire one at a time, in order, each once; failures and rate limits hold the pages after them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GitHubError, makeGitHubTokenSource } from "../../lambdas/adapters/github";
import { type GitHubSim, generateAppKeyPair, type SimRequest, startGitHubSim } from "../sim/github-sim";

const ORG = "paged";
const TOKEN = "ghs_readyInstallationTokenForThePagedOrg0";
const GRANTS = 1_050;

let sim: GitHubSim;

/** Retries and retry-after shortened: a "second" of GitHub's lasts 10 ms here. */
const github = () =>
  makeGitHubTokenSource({
    baseUrl: sim.url,
    credentials: { kind: "token", token: TOKEN },
    retryAfterBaseValue: 10,
  });

/** The list requests since `from`, as the page numbers GitHub was asked for (1 when none is given). */
function pagesAsked(from: number): { page: number; status: number; at: number }[] {
  return sim.requests
    .slice(from)
    .filter((r: SimRequest) => r.method === "GET" && r.path === `/orgs/${ORG}/personal-access-tokens`)
    .map((r) => ({ page: Number(r.query.get("page") ?? 1), status: r.status, at: r.at }));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

beforeAll(async () => {
  sim = await startGitHubSim({
    app: { appId: 1, publicKeyPem: generateAppKeyPair().publicKeyPem },
    staticTokens: { [TOKEN]: [ORG] },
    latencyMs: 5,
  });
  const org = sim.org(ORG);
  const start = Date.parse("2026-01-01T00:00:00Z");
  for (let i = 0; i < GRANTS; i++) {
    org.addGrant({
      owner: `user${i % 40}`,
      tokenName: `token-${i}`,
      accessGrantedAt: new Date(start + i * 60_000).toISOString(),
    });
  }
});

afterAll(() => sim.close());

let from = 0;
beforeEach(() => {
  from = sim.requests.length;
});

describe("listing an org's grants", () => {
  it("asks for every page once, in order, with one request on the wire at a time", async () => {
    const progress: number[] = [];
    const grants = await github().listGrants(ORG, (listed) => progress.push(listed));
    expect(grants).toHaveLength(GRANTS);
    expect(new Set(grants.map((g) => g.patId)).size).toBe(GRANTS);
    expect(pagesAsked(from).map((p) => p.page)).toEqual(range(1, 11));
    expect(sim.maxInFlight).toBe(1);
    expect(progress).toEqual([...range(1, 10).map((p) => p * 100), GRANTS]);
  });

  it("retries a failed page before the next page leaves", async () => {
    sim.addFault({
      method: "GET",
      path: `/orgs/${ORG}/personal-access-tokens`,
      query: { page: "4" },
      status: 502,
    });
    const grants = await github().listGrants(ORG);
    expect(grants).toHaveLength(GRANTS);
    const asked = pagesAsked(from);
    expect(asked.map((p) => `${p.page}:${p.status}`)).toEqual([
      ...range(1, 3).map((p) => `${p}:200`),
      "4:502",
      ...range(4, 11).map((p) => `${p}:200`),
    ]);
  });

  it("holds the pages after a rate-limited one for as long as GitHub says", async () => {
    sim.addFault({
      method: "GET",
      path: `/orgs/${ORG}/personal-access-tokens`,
      query: { page: "3" },
      status: 403,
      headers: { "retry-after": "20" },
      body: { message: "You have exceeded a secondary rate limit." },
    });
    const grants = await github().listGrants(ORG);
    expect(grants).toHaveLength(GRANTS);
    const asked = pagesAsked(from);
    expect(asked.map((p) => `${p.page}:${p.status}`)).toEqual([
      "1:200",
      "2:200",
      "3:403",
      ...range(3, 11).map((p) => `${p}:200`),
    ]);
    // retry-after 20 "seconds" of 10 ms: nothing reaches GitHub for 200 ms after the refusal.
    const refused = asked[2]?.at ?? 0;
    expect((asked[3]?.at ?? 0) - refused).toBeGreaterThanOrEqual(190);
  });

  it("stops at a page that fails for good: no page after it reaches GitHub", async () => {
    sim.addFault({
      method: "GET",
      path: `/orgs/${ORG}/personal-access-tokens`,
      query: { page: "3" },
      status: 404,
    });
    const error = await github()
      .listGrants(ORG)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubError);
    expect((error as GitHubError).message).toContain(
      `listing the fine-grained tokens of ${ORG} failed: HTTP 404`,
    );
    // The pages prepared after it settle without a request; give them time to, had they gone out.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(pagesAsked(from).map((p) => `${p.page}:${p.status}`)).toEqual(["1:200", "2:200", "3:404"]);
  });

  it("reads past the last page when tokens are granted meanwhile, and lists each grant once", async () => {
    const before = new Set(
      sim
        .org(ORG)
        .grants()
        .map((g) => g.id),
    );
    let added = false;
    const grants = await github().listGrants(ORG, () => {
      if (added) return;
      added = true;
      // Newest first: 60 new grants push every grant not yet read 60 places down, past the last page.
      for (let i = 0; i < 60; i++) sim.org(ORG).addGrant({ owner: "late", tokenName: `late-${i}` });
    });
    const ids = grants.map((g) => g.patId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of before) expect(ids).toContain(id);
    expect(pagesAsked(from).map((p) => p.page)).toEqual(range(1, 12));
  });
});
