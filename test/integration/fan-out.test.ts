/**
 * `orgs: "*"`: the fan-out Lambda through its real adapters, against the simulated GitHub (the App's
 * installations, listed with its JWT), dynalite (its record of last run's installations) and the Lambda
 * Invoke API (the sweep Lambda it hands each org to, asynchronously), with a fault proxy in front of the
 * Invoke API to refuse one org's hand-off.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { makeDynamoLedger } from "../../lambdas/adapters/ledger";
import { buildDeps, buildFanOutDeps } from "../../lambdas/app/deps";
import { parseEnv } from "../../lambdas/config";
import type { SweepReport } from "../../lambdas/core/report";
import { type EmbeddedDynamo, ensureLedgerTable, startEmbeddedDynamo } from "../sim/dynamodb-sim";
import { type FaultProxy, startFaultProxy } from "../sim/fault-proxy";
import { type Loopback, startLoopback } from "../sim/harness";
import { type LambdaSim, type SimHandler, startLambdaSim } from "../sim/lambda-sim";

const AWS = { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };
const SWEEP = "patrol-sweep";

// The metrics are what the InstallationsLost alarm watches: published here (vitest's setup turns them off).
process.env.POWERTOOLS_METRICS_DISABLED = "false";
const { FanOutFailedError, InvalidFanOutEventError, makeFanOutHandler } = await import(
  "../../lambdas/handlers/fan-out"
);
const { makeSweepHandler } = await import("../../lambdas/handlers/sweep");

let loopback: Loopback;
let dynamo: EmbeddedDynamo;
let lambda: LambdaSim;
let invokeApi: FaultProxy;
/** What the simulated sweep Lambda runs; by default it only says it was called. */
let sweepFunction: SimHandler = async (event) => ({ handedOn: event });
/** Installations made by the test running, uninstalled after it: each test sees only its own. */
const installed: string[] = [];
let tables = 0;

beforeAll(async () => {
  [loopback, dynamo] = await Promise.all([startLoopback({ orgs: [] }), startEmbeddedDynamo()]);
  lambda = await startLambdaSim({ [SWEEP]: (event) => sweepFunction(event) });
  invokeApi = await startFaultProxy(lambda.url);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: invokeApi.url,
    AWS_REGION: AWS.region,
    AWS_ACCESS_KEY_ID: AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: AWS.credentials.secretAccessKey,
  });
});

afterEach(async () => {
  invokeApi.clear();
  await lambda.settled();
  sweepFunction = async (event) => ({ handedOn: event });
  for (const account of installed.splice(0)) loopback.github.removeInstallation(account);
});

afterAll(async () => {
  await Promise.all([loopback?.close(), dynamo?.close(), invokeApi?.close(), lambda?.close()]);
});

function install(account: string, id: number, type: "Organization" | "User" = "Organization"): void {
  loopback.github.addInstallation(account, id, { type });
  installed.push(account);
}

function lambdaContext(remainingMs = 30_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: `fan-out-${tables}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as Context;
}

/**
 * A GitHub App installed on two orgs and one user account, a fresh ledger table, and the fan-out handler
 * wired as in Lambda (its env as the stack sets it), against the simulators.
 */
async function setup() {
  install("acme", 90_000);
  install("Globex", 90_001);
  install("octocat", 95_000, "User");
  const table = `patrol-fan-out-${++tables}`;
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, ...AWS });
  await ensureLedgerTable(client, table);
  const env = parseEnv({
    GITHUB_API_URL: loopback.github.url,
    GITHUB_APP_ID: loopback.env.GITHUB_APP_ID,
    GITHUB_APP_PRIVATE_KEY: loopback.env.GITHUB_APP_PRIVATE_KEY,
    PATROL_TABLE: table,
    PATROL_SWEEP_FUNCTION: SWEEP,
  });
  const deps = await buildFanOutDeps(env, { retryAfterBaseValue: 10, timeouts: { githubMs: 1_000 } });
  const handler = makeFanOutHandler(async () => deps);
  let seen = lambda.invocations.length;
  let tried = invokeApi.requests.length;
  let asked = loopback.github.requests.length;
  const stage = {
    loopback,
    table,
    record: makeDynamoLedger(client, table),
    /** The EMF lines (metrics) of the last run. */
    emf: [] as Record<string, unknown>[],
    /** One scheduled run; `handedOn` and `invokeTries` then hold what it invoked. */
    invoke() {
      seen = lambda.invocations.length;
      tried = invokeApi.requests.length;
      asked = loopback.github.requests.length;
      return handler({}, lambdaContext());
    },
    /** The same, its metrics kept in `emf`. */
    async run() {
      const { result, emf } = await emfDuring(() => stage.invoke());
      stage.emf = emf;
      return result;
    },
    /** What the sweep Lambda was given, in the order it took it. */
    handedOn: () => lambda.invocations.slice(seen),
    /** Every Invoke request the last run sent, taken or refused. */
    invokeTries: () => invokeApi.requests.slice(tried),
    /** Every request GitHub had since the last run started. */
    githubRequests: () => loopback.github.requests.slice(asked),
  };
  return stage;
}

const orgOf = (payload: unknown) => (payload as { org: string }).org;

/** The EMF lines (`_aws`) Powertools writes to stdout while `work` runs, kept off the test output. */
async function emfDuring<T>(work: () => Promise<T>): Promise<{ result: T; emf: Record<string, unknown>[] }> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk, ...rest) => {
    const text = String(chunk);
    if (text.includes('"_aws"')) {
      lines.push(text);
      return true;
    }
    return write(chunk, ...(rest as []));
  });
  try {
    return { result: await work(), emf: lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
  } finally {
    spy.mockRestore();
  }
}

describe('orgs: "*", the fan-out Lambda', () => {
  it("fans out to each installation's org: one asynchronous sweep per org, { org }, the user account left out", async () => {
    const stage = await setup();

    const report = await stage.run();

    expect(report).toEqual({
      orgs: ["acme", "Globex"],
      invoked: 2,
      failed: [],
      disappeared: [],
      // The first run has no record to hold the listing against: every org is new to it.
      appeared: ["acme", "Globex"],
      suspended: [],
      errors: [],
    });
    // Exactly the sweep's own event, once per org, queued (InvocationType Event), never run inline.
    const handedOn = stage.handedOn().sort((a, b) => orgOf(a.payload).localeCompare(orgOf(b.payload)));
    expect(handedOn.map((i) => [i.functionName, i.type, i.payload])).toEqual([
      [SWEEP, "Event", { org: "acme" }],
      [SWEEP, "Event", { org: "Globex" }],
    ]);
    // Listed as the App (the simulator refuses anything but its JWT there), one page of 100.
    const listings = stage.githubRequests().filter((r) => r.path === "/app/installations");
    expect(listings.map((r) => [r.status, r.query.get("per_page")])).toEqual([[200, "100"]]);
    // …and remembered for the next run.
    expect(await stage.record.readInstallations()).toMatchObject({ orgs: ["acme", "Globex"], version: 1 });
  });

  it("reports an installation removed since the last run as lost, once, and publishes it for the alarm", async () => {
    const stage = await setup();
    await stage.run();
    expect(stage.loopback.github.removeInstallation("globex")).toBe(true);

    const second = await stage.run();

    expect(second).toMatchObject({ orgs: ["acme"], invoked: 1, disappeared: ["Globex"], appeared: [] });
    expect(stage.handedOn().map((i) => i.payload)).toEqual([{ org: "acme" }]);
    // The metrics the alarm reads: `service` alone (the orgs are not known at synth), InstallationsLost 1.
    const line = stage.emf.find((m) => "InstallationsLost" in m);
    expect(line).toMatchObject({
      service: "patrol",
      Installations: 1,
      InstallationsLost: 1,
      SweepsInvoked: 1,
    });
    expect(line?._aws).toMatchObject({
      CloudWatchMetrics: [{ Namespace: "patrol", Dimensions: [["service"]] }],
    });
    // A loss is news once: the next night holds its listing against this one's.
    const third = await stage.run();
    expect(third.disappeared).toEqual([]);
    expect(stage.emf.find((m) => "InstallationsLost" in m)?.InstallationsLost).toBe(0);
    expect(await stage.record.readInstallations()).toMatchObject({ orgs: ["acme"], version: 3 });
  });

  it("hands every other org on when one org's invoke is refused, retries a refusal once met, and fails at the end naming the org", async () => {
    const stage = await setup();
    install("initech", 90_010);
    const serviceError = {
      kind: "answer" as const,
      status: 500,
      headers: { "content-type": "application/json", "x-amzn-errortype": "ServiceException" },
      body: { message: "simulated ServiceException" },
    };
    const forOrg = (org: string) => (r: { body: string }) =>
      r.body !== "" && (JSON.parse(r.body) as { org?: string }).org === org;
    // Globex is refused on every try; initech once, then taken.
    invokeApi.inject({ when: forOrg("Globex"), times: Number.POSITIVE_INFINITY, fault: serviceError });
    invokeApi.inject({ when: forOrg("initech"), times: 1, fault: serviceError });

    const failure = await stage.run().then(
      () => undefined,
      (error: unknown) => error as Error,
    );

    expect(failure).toBeInstanceOf(FanOutFailedError);
    expect(failure?.message).toMatch(/^fan-out handed 2 of 3 org\(s\) to the sweep, with 1 problem\(s\)/);
    expect(failure?.message).toMatch(/handing Globex to the sweep failed: simulated ServiceException/);
    expect(
      stage
        .handedOn()
        .map((i) => orgOf(i.payload))
        .sort(),
    ).toEqual(["acme", "initech"]);
    // Three tries for the refused org, two for the one refused once.
    const tries = (org: string) => stage.invokeTries().filter(forOrg(org)).length;
    expect([tries("Globex"), tries("initech"), tries("acme")]).toEqual([3, 2, 1]);
    // The installations were remembered all the same: the refused org is still installed, not lost.
    expect((await stage.record.readInstallations())?.orgs).toEqual(["acme", "Globex", "initech"]);
  });

  it("hands on sweeps that run: each installed org swept by the real sweep handler", async () => {
    const stage = await setup();
    for (const org of ["acme", "Globex"]) {
      stage.loopback.github
        .org(org)
        .addGrant({ owner: "amy", tokenName: `${org}-ci`, tokenExpiresAt: "2099-01-01T00:00:00Z" });
    }
    const sweepDeps = await buildDeps(parseEnv({ ...stage.loopback.env, PATROL_TABLE: stage.table }), {
      allowEmbedded: false,
    });
    const sweep = makeSweepHandler(async () => sweepDeps);
    sweepFunction = (event) => sweep(event, lambdaContext());
    const runsBefore = lambda.asyncRuns.length;

    await stage.run();
    await emfDuring(() => lambda.settled());

    const runs = lambda.asyncRuns.slice(runsBefore);
    expect(runs.map((r) => r.error?.message ?? null)).toEqual([null, null]);
    expect(
      runs.map((r) => [(r.result as SweepReport).org, (r.result as SweepReport).scanned]).sort(),
    ).toEqual([
      ["Globex", 1],
      ["acme", 1],
    ]);
  });

  it("keeps one record when two fan-outs run at once: the later writer reads again instead of writing over", async () => {
    const stage = await setup();

    const { result } = await emfDuring(() => Promise.all([stage.invoke(), stage.invoke()]));
    const [first, second] = result;

    expect([first.errors, second.errors]).toEqual([[], []]);
    // Two writes, each on the version it read: the record says 2, and neither run saw an org leave.
    expect(await stage.record.readInstallations()).toMatchObject({ orgs: ["acme", "Globex"], version: 2 });
    expect([...first.disappeared, ...second.disappeared]).toEqual([]);
    // A write on a version that is no longer the record's writes nothing.
    expect(await stage.record.writeInstallations({ orgs: [], lost: [], at: "x" }, 1)).toBe(false);
    expect((await stage.record.readInstallations())?.orgs).toEqual(["acme", "Globex"]);
  });

  it("fails before handing anything on when GitHub will not list the installations", async () => {
    const stage = await setup();
    stage.loopback.github.addFault({ path: "/app/installations", status: 401, times: 1 });

    await expect(stage.run()).rejects.toThrow(/listing the GitHub App's installations failed: HTTP 401/);
    expect(stage.handedOn()).toEqual([]);
    expect(await stage.record.readInstallations()).toBeNull();
  });

  it("refuses an event that asks for anything: the orgs are the installations", async () => {
    const stage = await setup();
    const handler = makeFanOutHandler(async () => {
      throw new Error("not reached");
    });
    await expect(handler({ org: "acme" }, lambdaContext())).rejects.toBeInstanceOf(InvalidFanOutEventError);
    expect(stage.handedOn()).toEqual([]);
  });
});
