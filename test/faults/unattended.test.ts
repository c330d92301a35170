/**
 * Issue 11's observations, each as it was seen: a nightly sweep with nobody watching must end inside its
 * budget, record what it did, and leave nothing running after it returned.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../integration/cli-run";
import { dynamoError } from "../sim/fault-proxy";
import type { SimOrg } from "../sim/github-sim";
import { arrivedAfter, type Stage, stage, startWorld, type World } from "./world";

const DAY = 86_400_000;
const iso = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const LIST = /^\/orgs\/[^/]+\/personal-access-tokens$/;

let world: World;
let orgs = 0;

beforeAll(async () => {
  world = await startWorld(Array.from({ length: 30 }, (_, i) => `night-${i + 1}`));
});
afterAll(async () => {
  await world?.close();
});
afterEach(() => {
  world.github.clear();
  world.slack.clear();
  world.dynamo.clear();
});

/** An org of `n` registered grants, `expired` of them expired and not to be renewed (due for revocation). */
async function populated(n: number, expired = 0): Promise<{ org: SimOrg; name: string; stage: Stage }> {
  const name = `night-${++orgs}`;
  const org = world.loopback.github.org(name);
  const s = await stage(world);
  const rows = ["token_name,owner,approved_by,purpose,token_id,renew"];
  for (let i = 0; i < n; i++) {
    const gone = i < expired;
    org.addGrant({
      tokenId: orgs * 10_000 + i,
      owner: `dev${i % 5}`,
      tokenName: `svc-${i}`,
      accessGrantedAt: iso(-30 + i / 1000),
      tokenExpiresAt: gone ? iso(-1) : iso(90),
      tokenExpired: gone,
      tokenLastUsedAt: iso(-1),
    });
    rows.push(`svc-${i},dev${i % 5},ops,ci,${orgs * 10_000 + i},false`);
  }
  await s.importCsv(name, rows.join("\n"));
  return { org, name, stage: s };
}

describe("1. every wait has a limit", () => {
  it("a primary rate limit resetting in an hour stops the run at once, saying when it resets", async () => {
    const { name, stage: s } = await populated(3);
    const reset = Math.floor(Date.now() / 1000) + 3600;
    world.github.inject({
      path: LIST,
      times: Number.POSITIVE_INFINITY,
      fault: {
        kind: "answer",
        status: 403,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
        body: { message: "API rate limit exceeded for installation ID 90000." },
      },
    });
    const run = await s.sweep(name, { remainingMs: 10_000 });
    expect(run.error?.name).toBe("SweepFailedError");
    expect(run.error?.message).toContain(
      `rate limit resets at ${new Date((reset + 1) * 1000).toISOString().slice(0, 16)}`,
    );
    expect(run.ms).toBeLessThan(10_000);
    // It asked once, and did not wait out the hour.
    expect(world.github.requests.filter((r) => LIST.test(r.path)).length).toBe(1);
  });

  it("a GitHub request that hangs is abandoned after its own timeout, retried within the budget, and the run fails inside it", async () => {
    const { name, stage: s } = await populated(3);
    world.github.inject({ path: LIST, times: Number.POSITIVE_INFINITY, fault: { kind: "hang" } });
    const run = await s.sweep(name, { remainingMs: 9_000 });
    expect(run.error?.name).toBe("SweepFailedError");
    expect(run.error?.message).toMatch(/listing the fine-grained tokens of night-\d+ failed/);
    expect(run.ms).toBeLessThan(9_000);
    const tries = world.github.requests.filter((r) => LIST.test(r.path));
    expect(tries.length).toBeGreaterThan(1); // a try timed out and was tried again
    expect(arrivedAfter(world.github, run.returnedAt).length).toBe(0);
  });

  it("a DynamoDB Query that hangs ends with the call's timeout, inside the budget", async () => {
    const { name, stage: s } = await populated(3);
    world.dynamo.inject({ target: "Query", times: Number.POSITIVE_INFINITY, fault: { kind: "hang" } });
    const run = await s.sweep(name, { remainingMs: 8_000 });
    expect(run.error?.name).toBe("SweepFailedError");
    expect(run.ms).toBeLessThan(8_000);
    expect(arrivedAfter(world.dynamo, run.returnedAt).length).toBe(0);
  });

  it("Slack's retry-after of 120 s on every try is not waited out; the outcomes were recorded before", async () => {
    const { name, org, stage: s } = await populated(6, 4);
    world.slack.inject({
      path: "/api/chat.postMessage",
      times: Number.POSITIVE_INFINITY,
      fault: {
        kind: "answer",
        status: 429,
        headers: { "retry-after": "120" },
        body: { ok: false, error: "ratelimited" },
      },
    });
    const run = await s.sweep(name, { remainingMs: 10_000 });
    expect(run.error?.message).toMatch(/Slack asked to wait 120 s, more than the run has left/);
    expect(run.ms).toBeLessThan(10_000);
    expect(org.revokedPatIds.length).toBe(4);
    const entries = await s.ledger.load(name);
    expect(entries.filter((e) => e.status === "revoked" && e.revokedReason === "expired").length).toBe(4);
  });
});

describe("4. a failed run writes nothing after it returned", () => {
  it("with every PutItem throttled, no PutItem of the run reaches DynamoDB once the handler has returned", async () => {
    const { name, stage: s } = await populated(40, 30);
    world.dynamo.inject({
      target: "PutItem",
      after: 1, // the sweep's lease is taken; every entry write after it is throttled
      times: Number.POSITIVE_INFINITY,
      fault: dynamoError("ThrottlingException", "Rate of requests exceeds the allowed throughput."),
    });
    const run = await s.sweep(name, { remainingMs: 10_000 });
    expect(run.error?.name).toBe("SweepFailedError");
    // Longer than the SDK's retry backoff: what was still retrying would have arrived by now.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(world.dynamo.requests.filter((r) => r.target?.endsWith("PutItem")).length).toBeGreaterThan(0);
    expect(arrivedAfter(world.dynamo, run.returnedAt, "PutItem").length).toBe(0);
    expect(arrivedAfter(world.github, run.returnedAt).length).toBe(0);
  });
});

describe("2. a listing that misses grants does not mark them gone", () => {
  it("a grant shifted off its page (one revoked by hand on page 1 meanwhile) is found by token id and revoked", async () => {
    const { name, org, stage: s } = await populated(150);
    expect((await s.sweep(name)).error).toBeUndefined(); // last night: every grant seen
    // Whichever order the listing asks for, the grant first on its page 2 is retired: due tonight.
    const oldestFirst = org.grants();
    const newestFirst = [...oldestFirst].reverse();
    const firstOfPage2 = [oldestFirst[100], newestFirst[100]].flatMap((g) => (g ? [g] : []));
    const entries = await s.ledger.load(name);
    await s.ledger.write(
      firstOfPage2.map((g) => {
        const entry = entries.find((e) => e.tokenId === g.token_id);
        if (!entry) throw new Error("seed");
        return {
          entry: { ...entry, status: "retired", version: entry.version + 1 },
          expectedVersion: entry.version,
          events: [],
        };
      }),
    );
    // While page 2 is fetched, a grant on page 1 is revoked by hand: every later grant moves up one place.
    let byHand: (typeof oldestFirst)[number] | undefined;
    let shifted: (typeof oldestFirst)[number] | undefined;
    world.github.onRequest((r) => {
      if (!LIST.test(r.path) || r.query.get("page") !== "2") return;
      const order = r.query.get("direction") === "asc" ? oldestFirst : newestFirst;
      byHand = order[10];
      shifted = order[100];
      if (byHand) org.removeGrant(byHand.id);
    });
    const run = await s.sweep(name);
    expect(run.error).toBeUndefined();
    if (!shifted || !byHand) throw new Error("page 2 was never asked for");
    // Both retired tokens are revoked, the shifted one too: found by token id, not lost as gone.
    expect([...org.revokedPatIds].sort()).toEqual(firstOfPage2.map((g) => g.id).sort());
    const shiftedId = shifted.token_id;
    const after = await s.ledger.load(name);
    expect(after.find((e) => e.tokenId === shiftedId)).toMatchObject({
      status: "revoked",
      revokedReason: "not-needed",
    });
    expect(run.report?.listing).toMatchObject({ missing: 1, confirmed: 1, found: 1, suspect: false });
    expect(world.github.requests.some((r) => r.query.getAll("token_id[]").includes(String(shiftedId)))).toBe(
      true,
    );
    const handId = byHand.token_id;
    // The one revoked by hand was listed before it went; the next night, the targeted query confirms it gone.
    const next = await s.sweep(name);
    expect(next.report?.listing).toMatchObject({ missing: 1, confirmed: 1, found: 0 });
    expect((await s.ledger.load(name)).find((e) => e.tokenId === handId)?.status).toBe("gone");
  });

  it("a token created while the list is read lands on the last page (oldest first): seen tonight, nothing shifts", async () => {
    const { name, org, stage: s } = await populated(150);
    expect((await s.sweep(name)).error).toBeUndefined();
    let created: number | undefined;
    world.github.onRequest((r) => {
      if (LIST.test(r.path) && r.query.get("page") === "2" && created === undefined) {
        created = org.addGrant({
          tokenId: 777_777,
          owner: "newcomer",
          tokenName: "fresh",
          accessGrantedAt: iso(0),
        }).id;
      }
    });
    const run = await s.sweep(name);
    expect(run.error).toBeUndefined();
    expect(run.report?.scanned).toBe(151);
    expect(run.report?.listing).toMatchObject({ missing: 0, confirmed: 0 });
    expect((await s.ledger.load(name)).find((e) => e.tokenId === 777_777)?.status).toBe("unregistered");
    // Newest first (GitHub's default), it would have come at the top of page 1, already read: missed tonight.
    const lists = world.github.requests.filter((r) => LIST.test(r.path) && r.method === "GET");
    expect(lists.every((r) => r.query.get("direction") === "asc")).toBe(true);
  });

  it("a night on which GitHub lists nothing for a populated org marks nothing gone and fails the run", async () => {
    const { name, stage: s } = await populated(20);
    expect((await s.sweep(name)).error).toBeUndefined(); // last night: every grant seen
    world.github.inject({ path: LIST, fault: { kind: "answer", status: 200, body: [] } });
    const run = await s.sweep(name);
    expect(run.error?.name).toBe("SweepFailedError");
    expect(run.error?.message).toMatch(/listing suspect: GitHub listed 0 grants, and 20 of the 20/);
    const entries = await s.ledger.load(name);
    expect(entries.filter((e) => e.status === "gone")).toEqual([]);
    expect(entries.filter((e) => e.status === "active").length).toBe(20);
    // The next night lists them again: nothing to undo.
    const next = await s.sweep(name);
    expect(next.error).toBeUndefined();
  });
});

describe("5. one digest per night", () => {
  const POST = "/api/chat.postMessage";
  const digests = (org: string) =>
    world.loopback.slack.posts().filter((c) => new RegExp(`\\b${org}\\b`).test(String(c.args.text ?? "")));

  it("Slack taking the digest but answering after the client gave up: it is found, not posted again", async () => {
    const { name, stage: s } = await populated(5, 2);
    // Past any client's timeout (the try here gives up at 1 s; Slack's own client at 10 s).
    world.slack.inject({ path: POST, fault: { kind: "late", ms: 11_000 } });
    const run = await s.sweep(name);
    expect(run.error).toBeUndefined();
    expect(digests(name)).toHaveLength(1);
    expect(world.slack.requests.some((r) => r.path === "/api/conversations.history")).toBe(true);
    // Its alerts are remembered: the next night says nothing again.
    expect((await s.sweep(name)).error).toBeUndefined();
    expect(digests(name)).toHaveLength(1);
  });

  it("two sweeps of one org at once: one sweeps and posts, the other stands aside and says so", async () => {
    const { name, org, stage: s } = await populated(5, 2);
    const [a, b] = await Promise.all([s.sweep(name), s.sweep(name)]);
    expect(a.error ?? b.error).toBeUndefined();
    const skipped = [a.report?.skipped, b.report?.skipped].filter(Boolean);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(new RegExp(`another sweep of ${name} \\(run req-\\w+\\) is running`));
    expect(digests(name)).toHaveLength(1);
    expect(org.revokedPatIds).toHaveLength(2);
    // The lease was given back: tonight's next sweep runs.
    expect((await s.sweep(name)).report?.skipped).toBeUndefined();
  });

  it("a run that died right after Slack took the digest: the next night does not post its alerts again", async () => {
    const { name, stage: s } = await populated(5, 2);
    // The run dies as Slack takes its digest: every later ledger write is lost.
    world.slack.onRequest((r) => {
      if (r.path === POST) {
        world.dynamo.inject({ times: Number.POSITIVE_INFINITY, fault: { kind: "reset" } });
      }
    });
    const started = Date.now();
    const dying = await s.sweep(name, { remainingMs: 8_000 });
    expect(dying.error?.name).toBe("SweepFailedError");
    expect(digests(name)).toHaveLength(1);
    world.dynamo.clear();
    world.slack.clear();
    // Its lease could not be given back: it lasts to the dead run's deadline (8 s less the return margin).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 3_100 - Date.now())));
    // The next night: the last digest is found in Slack, its alerts remembered, nothing said twice.
    const next = await s.sweep(name);
    expect(next.error).toBeUndefined();
    expect(digests(name)).toHaveLength(1);
    const entries = await s.ledger.load(name);
    expect(entries.filter((e) => e.status === "revoked")).toHaveLength(2);
    expect(
      entries.filter((e) => Object.keys(e.alertsSent).some((k) => k.startsWith("revoked"))),
    ).toHaveLength(2);
  });
});

describe("the CLI's --budget", () => {
  it("bounds a sweep: with GitHub hanging, the command stops inside its budget, exits 1 and says why", async () => {
    const { name, stage: s } = await populated(3);
    world.github.inject({ path: LIST, times: Number.POSITIVE_INFINITY, fault: { kind: "hang" } });
    const started = Date.now();
    const run = await runCli(["sweep", "--org", name, "--budget", "3s"], {
      ...world.env,
      PATROL_TABLE: s.table,
      PATROL_MODE: "enforce",
    });
    expect(run.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(run.stdout).toMatch(/stopped early: out of time: the run's budget ended at/);
    expect(run.stdout).toMatch(/GitHub's last answer: no answer within 1 s|listing the fine-grained tokens/);
  });

  it("refuses a budget that is not a duration, before anything is called", async () => {
    const run = await runCli(["sweep", "--org", "night-1", "--budget", "soon"], world.env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      '--budget: "soon" is not a duration between 1s and 24h (e.g. 900, 90s, 15m)',
    );
  });
});
