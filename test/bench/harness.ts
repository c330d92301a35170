/**
 * The benchmark: what one nightly sweep costs at a given org size, against the floor GitHub's API sets.
 *
 * Per size, three processes:
 * - this one runs the simulated GitHub (answering every call after a fixed latency) and Slack, and holds
 *   their request logs, from which GitHub and Slack calls are counted;
 * - a DynamoDB process (dynalite in memory, `dynamo-server.ts`) that counts the requests it answers;
 *   the ledger is seeded there directly (BatchWriteItem, 25 a request, 8 in flight) and the seeding is
 *   not counted;
 * - the sweep itself: the sweep Lambda's handler bundled as the Lambda is, run with `node` and the heap flags
 *   Lambda's Node.js runtime passes at the functions' memory size, cold
 *   (its dependencies built from the environment on first use), measuring its own wall time, CPU time
 *   and peak RSS.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, paginateQuery } from "@aws-sdk/lib-dynamodb";
import pMap from "p-map";
import { LAMBDA_MEMORY_MB, lambdaHeapFlags } from "../../infra/sizing";
import { ensureLedgerTable } from "../sim/dynamodb-sim";
import type { SimRequest } from "../sim/github-sim";
import { startLoopback } from "../sim/harness";
import { type BundleFigures, bundleChildren, measureBundles, median, PROJECT_ROOT } from "./bundles";
import type { DynamoCounters, DynamoMessage } from "./dynamo-server";
import type { PlanChildResult } from "./plan-child";
import { makeScenario, type Scenario } from "./scenario";
import type { SweepChildResult } from "./sweep-child";

export interface BenchOptions {
  sizes: number[];
  /** Fixed latency of every simulated GitHub answer, in ms. */
  latencyMs: number;
  /** Entries of earlier nights' revoked tokens, as a fraction of the size. */
  history: number;
  /** Grants for `planSweep` alone (0: skip). */
  planSize: number;
  /** Fresh processes for `planSweep` alone: each plans once cold, then twice warm. */
  planRuns: number;
  /** Cold imports per bundle (0: skip the bundles). */
  importRuns: number;
  /** Progress lines (stderr in `npm run bench`). */
  log?: (line: string) => void;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  sizes: [1_000, 10_000, 100_000],
  latencyMs: 20,
  history: 0.1,
  planSize: 100_000,
  planRuns: 5,
  importRuns: 5,
};

/** GitHub's page size and bulk-revoke limit; DynamoDB's BatchWriteItem limit. */
const PAGE = 100;
const BATCH = 25;
/** @octokit/plugin-throttling starts writes at least this far apart (GitHub's guidance). */
const WRITE_SPACING_MS = 1000;
/** Auth calls of an App without a configured installation id: look it up, then mint a token. */
const AUTH_FLOOR = 2;
/** The classic PAT listing: one page (on an org without SAML SSO, its 404). */
const CLASSIC_FLOOR = 1;
const TABLE = "patrol-bench";
const AWS = { region: "us-east-1", credentials: { accessKeyId: "bench", secretAccessKey: "bench" } };

export interface SizeResult {
  size: number;
  latencyMs: number;
  ledgerEntries: number;
  revocationsNeeded: number;
  requests: number;
  github: {
    list: number;
    /** Token-id look-ups of entries the listing did not show (confirm before gone). */
    confirm: number;
    revoke: number;
    requests: number;
    /** The classic PAT listing: one call (a 404) on an org without SAML SSO, as the scenario's is. */
    classic: number;
    auth: number;
    /** Anything else, per-token calls included: the floor allows none. */
    other: number;
    total: number;
    floor: number;
    ratio: number;
    /** Answers other than 2xx (retried calls). */
    failed: number;
    maxInFlight: number;
  };
  dynamo: {
    /** Query pages and any other read. */
    reads: number;
    queries: number;
    /** Pages of one unlimited Query of the ledger (DynamoDB pages at 1 MB). */
    readFloor: number;
    perTokenReads: number;
    puts: number;
    batches: number;
    writes: number;
    /** Entries whose content changed (or that are new). */
    changedEntries: number;
    /** Distinct entries the sweep wrote: more than `changedEntries` means writes of unchanged entries. */
    entriesWritten: number;
    events: number;
    /**
     * changed entries + two puts per revocation (its intent, written before the call, and its outcome,
     * written before the digest as DESIGN asks) + events / 25.
     */
    writeFloor: number;
    writeRatio: number;
  };
  slack: { calls: number; posts: number };
  wall: {
    ms: number;
    /** GitHub calls (at the floor) × latency. */
    latencyFloorMs: number;
    /** …plus the throttling plugin's 1 s between writes. */
    spacedFloorMs: number;
    ratio: number;
    spacedRatio: number;
  };
  cpuMs: number;
  processCpuMs: number;
  peakRssMb: number;
  /** Where the wall time went (ms), from the simulators' arrival times. */
  phases: Record<string, number>;
  report: SweepChildResult["report"];
  seedMs: number;
}

export interface PlanResult {
  size: number;
  /** Median over fresh processes of the first call. */
  coldMs: number;
  coldRunsMs: number[];
  warmMedianMs: number;
}

export interface BenchResults {
  when: string;
  node: string;
  platform: string;
  cpus: number;
  /** The machine's 1-minute load average before and after (other work on it skews the wall times). */
  load: { before: number; after: number };
  options: Omit<BenchOptions, "log">;
  sizes: SizeResult[];
  plan?: PlanResult;
  bundles: BundleFigures[];
  totalMs: number;
}

// ---------------------------------------------------------------------------------------------------------
// Child processes

interface Channel<T> {
  child: ChildProcess;
  next(predicate: (message: T) => boolean): Promise<T>;
}

function channel<T>(child: ChildProcess, what: string): Channel<T> {
  const waiting: { predicate: (m: T) => boolean; resolve: (m: T) => void; reject: (e: Error) => void }[] = [];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.on("message", (message: T) => {
    const i = waiting.findIndex((w) => w.predicate(message));
    if (i >= 0) waiting.splice(i, 1)[0]?.resolve(message);
  });
  const fail = (reason: string) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`${what} ${reason}${stderr ? `: ${stderr}` : ""}`));
  };
  child.on("exit", (code, signal) => fail(`exited (${signal ?? code})`));
  child.on("error", (error) => fail(`failed: ${error.message}`));
  return {
    child,
    next: (predicate) =>
      new Promise<T>((resolve, reject) => {
        if (child.exitCode !== null)
          reject(new Error(`${what} is not running${stderr ? `: ${stderr}` : ""}`));
        else waiting.push({ predicate, resolve, reject });
      }),
  };
}

/** A clean environment for a child: no inherited loaders or AWS settings of the parent. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) if (key.startsWith("AWS_")) delete env[key];
  return { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...extra };
}

interface DynamoProcess {
  endpoint: string;
  counters(): Promise<DynamoCounters>;
  mark(): void;
  close(): Promise<void>;
}

async function startDynamo(): Promise<DynamoProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(PROJECT_ROOT, "test/bench/dynamo-server.ts")],
    {
      cwd: PROJECT_ROOT,
      env: childEnv({}),
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    },
  );
  // Below the sweep's priority: on two cores, dynalite answering the ledger Query (CPU-heavy JavaScript,
  // where DynamoDB's own servers would do it) must not take the sweep's CPU away.
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, 10);
    } catch {
      // not permitted here: measured at equal priority
    }
  }
  const ch = channel<DynamoMessage>(child, "the DynamoDB process");
  const ready = await ch.next((m) => m.type === "ready" || m.type === "error");
  if (ready.type !== "ready") {
    child.kill();
    throw new Error(`the DynamoDB process failed: ${ready.type === "error" ? ready.message : ready.type}`);
  }
  return {
    endpoint: ready.endpoint,
    async counters() {
      const answer = ch.next((m) => m.type === "counters");
      child.send({ type: "counters" });
      const m = await answer;
      if (m.type !== "counters") throw new Error("unexpected answer");
      return { counts: m.counts, batchItems: m.batchItems, log: m.log };
    },
    mark() {
      child.send({ type: "mark" });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill(), 5000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.disconnect();
      }),
  };
}

/**
 * The measured children run with the heap flags Lambda's Node.js runtime gives the deployed functions, then
 * any extra flags, e.g. `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof"` (a later flag wins).
 */
const CHILD_NODE_ARGS = [
  ...lambdaHeapFlags(LAMBDA_MEMORY_MB),
  ...(process.env.BENCH_NODE_ARGS ?? "").split(/\s+/).filter(Boolean),
];

function runChild<T>(file: string, env: Record<string, string>, what: string): Promise<T> {
  const child = spawn(process.execPath, [...CHILD_NODE_ARGS, file], {
    cwd: PROJECT_ROOT,
    env: childEnv(env),
    // The Lambda's own logs (Powertools, to stdout) are part of its cost, but not of this output.
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  return channel<T>(child, what).next(() => true);
}

// ---------------------------------------------------------------------------------------------------------
// The ledger, seeded and read outside the measurement

type Doc = DynamoDBDocumentClient;

async function seedLedger(doc: Doc, scenario: Scenario): Promise<void> {
  const items = scenario.entries.map((entry) => ({
    PutRequest: { Item: { pk: `ORG#${entry.org}`, sk: `ENTRY#${entry.entryId}`, ...entry } },
  }));
  const batches = Array.from({ length: Math.ceil(items.length / BATCH) }, (_, i) =>
    items.slice(i * BATCH, (i + 1) * BATCH),
  );
  await pMap(
    batches,
    async (batch) => {
      while (batch.length > 0) {
        const result = await doc.send(new BatchWriteCommand({ RequestItems: { [TABLE]: batch } }));
        batch = (result.UnprocessedItems?.[TABLE] ?? []) as typeof batch;
      }
    },
    { concurrency: 8 },
  );
}

/** Reads the org's items under a prefix with no page limit: DynamoDB's own 1 MB pages. */
async function readAll(doc: Doc, org: string, prefix: string) {
  const items: Record<string, unknown>[] = [];
  let pages = 0;
  const paginator = paginateQuery(
    { client: doc },
    {
      TableName: TABLE,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": `ORG#${org}`, ":prefix": prefix },
    },
  );
  for await (const page of paginator) {
    pages++;
    items.push(...(page.Items ?? []));
  }
  return { items, pages };
}

const BOOKKEEPING = new Set(["pk", "sk", "version", "updatedAt", "updatedBy"]);

/** An entry's content, key order and bookkeeping aside. */
function content(item: Record<string, unknown>): string {
  const sorted = (value: unknown): unknown =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
        )
      : value;
  return JSON.stringify(
    sorted(Object.fromEntries(Object.entries(item).filter(([k]) => !BOOKKEEPING.has(k)))),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Counting

function githubKinds(requests: readonly SimRequest[]) {
  const counts = { list: 0, confirm: 0, revoke: 0, requests: 0, classic: 0, auth: 0, other: 0, failed: 0 };
  const org = "(?:orgs|organizations)/[^/]+";
  for (const r of requests) {
    const classic = r.method === "GET" && new RegExp(`^/${org}/credential-authorizations$`).test(r.path);
    // The classic PAT listing answers 404 on an org without SAML SSO: that is its answer, not a failure.
    if ((r.status < 200 || r.status >= 300) && !(classic && r.status === 404)) counts.failed++;
    if (classic) {
      counts.classic++;
      continue;
    }
    const grants = new RegExp(`^/${org}/personal-access-tokens$`).test(r.path);
    // Entries the listing did not show, looked up by token id before any is marked gone.
    if (r.method === "GET" && grants && r.query.has("token_id[]")) counts.confirm++;
    else if (r.method === "GET" && grants) counts.list++;
    else if (r.method === "POST" && grants) counts.revoke++;
    else if (r.method === "GET" && new RegExp(`^/${org}/personal-access-token-requests$`).test(r.path))
      counts.requests++;
    else if (
      (r.method === "POST" && /^\/app\/installations\/\d+\/access_tokens$/.test(r.path)) ||
      (r.method === "GET" && new RegExp(`^/${org}/installation$`).test(r.path))
    )
      counts.auth++;
    else counts.other++;
  }
  return counts;
}

const READ_OPS = ["Query", "GetItem", "BatchGetItem", "Scan", "TransactGetItems"];
/**
 * A run's own bookkeeping, whatever the org's size: the sweep lease (taken and given back), the last
 * digest's pointer (read), and, when a digest goes out, its record (one part, the pointer, its settling).
 */
const RUN_READS = 1;
const RUN_WRITES = 2;
const DIGEST_WRITES = 3;
const pages = (n: number) => Math.max(1, Math.ceil(n / PAGE));

function phasesOf(
  sweep: SweepChildResult,
  gh: readonly SimRequest[],
  dynamoLog: DynamoCounters["log"],
  slackAt: readonly number[],
  latencyMs: number,
): Record<string, number> {
  const phases: Record<string, number> = {};
  const lists = gh.filter((r) => r.method === "GET" && r.path.endsWith("/personal-access-tokens"));
  const revokes = gh.filter((r) => r.method === "POST" && r.path.endsWith("/personal-access-tokens"));
  const firstList = lists[0]?.at;
  const listEnd = (lists[lists.length - 1]?.at ?? 0) + latencyMs;
  if (firstList === undefined) return phases;
  phases.start = firstList - sweep.startedAt;
  phases.listing = listEnd - firstList;
  // Time between one page's answer and the next page's request: the client's own work per page.
  if (lists.length > 1) phases.perPageClientMs = (listEnd - firstList) / lists.length - latencyMs;
  // The same over the second half of the list, once the ledger is loaded (it is read alongside).
  const half = lists.slice(Math.floor(lists.length / 2));
  const halfStart = half[0]?.at;
  if (half.length > 1 && halfStart !== undefined)
    phases.perPageClientMsSecondHalf = (listEnd - halfStart) / half.length - latencyMs;
  // The ledger is read alongside the listing: when its last Query page was asked for.
  const queries = dynamoLog.filter((r) => r.op === "Query");
  const lastQuery = queries[queries.length - 1]?.at;
  if (lastQuery !== undefined) phases.ledgerReadUntil = lastQuery - firstList;
  const writes = dynamoLog.filter((r) => r.op === "PutItem" || r.op === "BatchWriteItem");
  const firstWrite = writes.find((w) => w.at >= listEnd)?.at;
  if (firstWrite !== undefined) phases.plan = firstWrite - listEnd;
  const firstRevoke = revokes[0]?.at;
  const lastRevokeEnd = (revokes[revokes.length - 1]?.at ?? 0) + latencyMs;
  const slack = slackAt[0];
  if (firstWrite !== undefined && firstRevoke !== undefined) {
    phases.intents = firstRevoke - firstWrite;
    phases.revoking = lastRevokeEnd - firstRevoke;
    if (slack !== undefined) {
      phases.outcomes = slack - lastRevokeEnd;
      phases.alertsRemembered = sweep.endedAt - slack;
    }
  } else if (firstWrite !== undefined && slack !== undefined) {
    phases.writes = slack - firstWrite;
    phases.alertsRemembered = sweep.endedAt - slack;
  }
  return phases;
}

// ---------------------------------------------------------------------------------------------------------
// One size

async function measureSize(
  size: number,
  options: BenchOptions,
  sweepChild: string,
  log: (line: string) => void,
): Promise<SizeResult> {
  const { latencyMs } = options;
  const scenario = makeScenario({ size, history: options.history });
  const loopback = await startLoopback({ orgs: [scenario.org], latencyMs });
  const dynamo = await startDynamo();
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, ...AWS });
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  try {
    const seedStart = performance.now();
    const org = loopback.github.org(scenario.org);
    for (const grant of scenario.grants) org.addGrant(grant);
    for (const request of scenario.requests) org.addRequest(request);
    await ensureLedgerTable(client, TABLE);
    await seedLedger(doc, scenario);
    const seeded = await readAll(doc, scenario.org, "ENTRY#");
    const before = new Map(seeded.items.map((item) => [String(item.sk), content(item)]));
    const seedMs = performance.now() - seedStart;
    log(
      `  ${size}: seeded ${scenario.grants.length} grants and ${scenario.entries.length} ledger entries in ${(seedMs / 1000).toFixed(1)} s; sweeping…`,
    );

    const ghStart = loopback.github.requests.length;
    const slackStart = loopback.slack.calls.length;
    const countsBefore = await dynamo.counters();
    dynamo.mark();
    const sweep = await runChild<SweepChildResult>(
      sweepChild,
      {
        ...loopback.env,
        PATROL_TABLE: TABLE,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_REGION: AWS.region,
        AWS_ACCESS_KEY_ID: AWS.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: AWS.credentials.secretAccessKey,
        // A large org sets its revocation cap to its size: tonight's expired tokens are revoked, not held.
        PATROL_POLICY: JSON.stringify({ maxRevocationsPerRun: size }),
        BENCH_ORG: scenario.org,
      },
      `the sweep of ${size} grants`,
    );
    const countsAfter = await dynamo.counters();
    if (!sweep.ok) throw new Error(`the sweep of ${size} grants failed: ${sweep.error}`);

    const gh = loopback.github.requests.slice(ghStart);
    const slackCalls = loopback.slack.calls.slice(slackStart);
    const kinds = githubKinds(gh);
    const total = gh.length;
    const revocationsNeeded = scenario.expected.revocations;
    const floor =
      pages(scenario.grants.length) +
      Math.ceil(revocationsNeeded / PAGE) +
      pages(scenario.requests.length) +
      CLASSIC_FLOOR +
      AUTH_FLOOR;

    const delta = (op: string) => (countsAfter.counts[op] ?? 0) - (countsBefore.counts[op] ?? 0);
    const reads = READ_OPS.reduce((n, op) => n + delta(op), 0);
    const puts = delta("PutItem");
    const batches = delta("BatchWriteItem");
    const after = await readAll(doc, scenario.org, "ENTRY#");
    const seededVersions = new Map(seeded.items.map((item) => [String(item.sk), Number(item.version)]));
    let changedEntries = 0;
    let entriesWritten = 0;
    for (const item of after.items) {
      const key = String(item.sk);
      if (before.get(key) !== content(item)) changedEntries++;
      if (seededVersions.get(key) !== Number(item.version)) entriesWritten++;
    }
    const events = (await readAll(doc, scenario.org, "EVENT#")).items.length;
    const digestPosted = slackCalls.some((c) => c.method === "chat.postMessage" && c.ok);
    const writeFloor =
      changedEntries +
      2 * revocationsNeeded +
      Math.ceil(events / BATCH) +
      RUN_WRITES +
      (digestPosted ? DIGEST_WRITES : 0);
    const latencyFloorMs = floor * latencyMs;
    const writeCalls = Math.ceil(revocationsNeeded / PAGE);
    const spacedFloorMs =
      latencyFloorMs + Math.max(0, writeCalls - 1) * Math.max(0, WRITE_SPACING_MS - latencyMs);

    return {
      size,
      latencyMs,
      ledgerEntries: scenario.entries.length,
      revocationsNeeded,
      requests: scenario.requests.length,
      github: {
        list: kinds.list,
        confirm: kinds.confirm,
        revoke: kinds.revoke,
        requests: kinds.requests,
        classic: kinds.classic,
        auth: kinds.auth,
        other: kinds.other,
        total,
        floor,
        ratio: total / floor,
        failed: kinds.failed,
        maxInFlight: loopback.github.maxInFlight,
      },
      dynamo: {
        reads,
        queries: delta("Query"),
        readFloor: seeded.pages,
        perTokenReads: reads - delta("Query") - RUN_READS,
        puts,
        batches,
        writes: puts + batches,
        changedEntries,
        entriesWritten,
        events,
        writeFloor,
        writeRatio: (puts + batches) / writeFloor,
      },
      slack: {
        calls: slackCalls.length,
        posts: slackCalls.filter((c) => c.method === "chat.postMessage" && c.ok).length,
      },
      wall: {
        ms: sweep.wallMs,
        latencyFloorMs,
        spacedFloorMs,
        ratio: latencyFloorMs > 0 ? sweep.wallMs / latencyFloorMs : Number.NaN,
        spacedRatio: spacedFloorMs > 0 ? sweep.wallMs / spacedFloorMs : Number.NaN,
      },
      cpuMs: sweep.cpuMs,
      processCpuMs: sweep.processCpuMs,
      peakRssMb: sweep.peakRssMb,
      phases: phasesOf(
        sweep,
        gh,
        countsAfter.log,
        slackCalls.map((c) => c.at),
        latencyMs,
      ),
      report: sweep.report,
      seedMs,
    };
  } finally {
    client.destroy();
    await Promise.all([loopback.close(), dynamo.close()]);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Everything

export async function runBenchmark(partial: Partial<BenchOptions> = {}): Promise<BenchResults> {
  // The SDK warns that it will soon need Node 22; the seeding client here is not what is measured.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const options: BenchOptions = { ...DEFAULT_OPTIONS, ...partial };
  const log = options.log ?? (() => {});
  const started = performance.now();
  const loadBefore = loadavg()[0] ?? 0;
  const dir = await mkdtemp(join(tmpdir(), "patrol-bench-"));
  try {
    log("bundling…");
    const children = await bundleChildren(dir);
    const bundles = options.importRuns > 0 ? await measureBundles(dir, options.importRuns) : [];
    let plan: PlanResult | undefined;
    if (options.planSize > 0) {
      log(`planSweep alone on ${options.planSize} grants…`);
      const results: PlanChildResult[] = [];
      for (let i = 0; i < options.planRuns; i++) {
        results.push(
          await runChild<PlanChildResult>(
            children.planChild,
            {
              BENCH_PLAN_SIZE: String(options.planSize),
              BENCH_PLAN_RUNS: "2",
              BENCH_HISTORY: String(options.history),
            },
            "planSweep alone",
          ),
        );
      }
      const coldRunsMs = results.map((r) => r.coldMs);
      plan = {
        size: options.planSize,
        coldMs: median(coldRunsMs),
        coldRunsMs,
        warmMedianMs: median(results.flatMap((r) => r.warmMs)),
      };
    }
    const sizes: SizeResult[] = [];
    for (const size of options.sizes) {
      log(`sweep of ${size} grants (GitHub latency ${options.latencyMs} ms)…`);
      sizes.push(await measureSize(size, options, children.sweepChild, log));
    }
    const { log: _log, ...recorded } = options;
    return {
      when: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: availableParallelism(),
      load: { before: loadBefore, after: loadavg()[0] ?? 0 },
      options: recorded,
      sizes,
      ...(plan ? { plan } : {}),
      bundles,
      totalMs: performance.now() - started,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
