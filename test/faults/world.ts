/**
 * The unattended world: simulated GitHub and Slack, dynalite for DynamoDB, and a fault proxy in front of
 * each, so any fault class is one line (`world.github.inject(...)`, `world.dynamo.inject(...)`). patrol's
 * Lambdas run as Lambda runs them — a context whose remaining time is the invocation's budget — with short
 * per-call timeouts, so a fault that would hang for minutes in production is over in a second here.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { makeDynamoLedger } from "../../lambdas/adapters/ledger";
import { buildDeps, type CallTimeouts, type Deps } from "../../lambdas/app/deps";
import type { Ledger } from "../../lambdas/app/ports";
import { parseEnv } from "../../lambdas/config";
import { parseLedgerCsv } from "../../lambdas/core/ledger-csv";
import { planImport } from "../../lambdas/core/ledger-import";
import type { RevokeReport, SweepReport } from "../../lambdas/core/report";
import { makeRevokeHandler } from "../../lambdas/handlers/revoke";
import { makeSweepHandler } from "../../lambdas/handlers/sweep";
import { type EmbeddedDynamo, ensureLedgerTable, startEmbeddedDynamo } from "../sim/dynamodb-sim";
import { type FaultProxy, startFaultProxy } from "../sim/fault-proxy";
import { type Loopback, startLoopback } from "../sim/harness";

const AWS = { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };

/** One try of one call, in tests: long enough for a loaded machine, short enough to keep hangs cheap. */
export const TEST_TIMEOUTS: CallTimeouts = { githubMs: 1_000, dynamoMs: 1_000, slackMs: 1_000 };

export interface Invocation<T> {
  report?: T;
  error?: Error;
  /** How long the handler took. */
  ms: number;
  /** When it returned, epoch ms: anything a proxy sees after this came from a run that had ended. */
  returnedAt: number;
}

export interface World {
  loopback: Loopback;
  store: EmbeddedDynamo;
  /** Proxies in front of each simulator: what patrol talks to. */
  github: FaultProxy;
  slack: FaultProxy;
  dynamo: FaultProxy;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startWorld(orgs: string[]): Promise<World> {
  const [loopback, store] = await Promise.all([startLoopback({ orgs }), startEmbeddedDynamo()]);
  const [github, slack, dynamo] = await Promise.all([
    startFaultProxy(loopback.github.url),
    startFaultProxy(loopback.slack.url),
    startFaultProxy(store.endpoint),
  ]);
  // The SDK clients patrol builds find DynamoDB through the SDK's own endpoint variable: the proxy.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_REGION: AWS.region,
    AWS_ACCESS_KEY_ID: AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: AWS.credentials.secretAccessKey,
  });
  return {
    loopback,
    store,
    github,
    slack,
    dynamo,
    env: { ...loopback.env, GITHUB_API_URL: github.url, SLACK_API_URL: slack.url },
    async close() {
      await Promise.all([github.close(), slack.close(), dynamo.close()]);
      await Promise.all([loopback.close(), store.close()]);
    },
  };
}

let tables = 0;

export interface Stage {
  table: string;
  /** The ledger as a reader sees it, straight to dynalite (past the proxy and its faults). */
  ledger: Ledger;
  deps: Deps;
  /** The sweep Lambda, invoked with `remainingMs` of Lambda time (default 20 s). */
  sweep(org: string, options?: { remainingMs?: number; now?: Date }): Promise<Invocation<SweepReport>>;
  revoke(
    event: Record<string, unknown>,
    options?: { remainingMs?: number },
  ): Promise<Invocation<RevokeReport>>;
  importCsv(org: string, csv: string, now?: Date): Promise<void>;
}

function lambdaContext(remainingMs: number): Context {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as Context;
}

async function invoke<T>(call: () => Promise<T>): Promise<Invocation<T>> {
  const started = Date.now();
  try {
    const report = await call();
    return { report, ms: Date.now() - started, returnedAt: Date.now() };
  } catch (error) {
    return { error: error as Error, ms: Date.now() - started, returnedAt: Date.now() };
  }
}

/** A fresh ledger table and the two Lambdas wired to it, as deployed, through the proxies. */
export async function stage(
  world: World,
  extraEnv: Record<string, string> = {},
  timeouts: CallTimeouts = TEST_TIMEOUTS,
): Promise<Stage> {
  const table = `patrol-ledger-${++tables}`;
  const client = new DynamoDBClient({ endpoint: world.store.endpoint, ...AWS });
  await ensureLedgerTable(client, table);
  const env = parseEnv({ ...world.env, PATROL_TABLE: table, PATROL_MODE: "enforce", ...extraEnv });
  const deps = await buildDeps(env, { allowEmbedded: false, retryAfterBaseValue: 10, timeouts });
  const sweepHandler = makeSweepHandler(async () => deps);
  const revokeHandler = makeRevokeHandler(async () => deps);
  const ledger = makeDynamoLedger(client, table);
  return {
    table,
    ledger,
    deps,
    sweep: (org, options = {}) =>
      invoke(() =>
        sweepHandler(
          { org, ...(options.now ? { now: options.now.toISOString() } : {}) },
          lambdaContext(options.remainingMs ?? 20_000),
        ),
      ),
    revoke: (event, options = {}) =>
      invoke(() => revokeHandler(event, lambdaContext(options.remainingMs ?? 20_000))),
    async importCsv(org, csv, now = new Date()) {
      const plan = planImport(
        parseLedgerCsv(csv),
        await ledger.load(org),
        { org, now, actor: "test", writer: "import", runId: `import-${++tables}` },
        "test.csv",
      );
      await ledger.write(plan.writes);
    },
  };
}

/** Requests that reached a proxy after `at` (a run's return). */
export function arrivedAfter(proxy: FaultProxy, at: number, target?: string) {
  return proxy.requests.filter((r) => r.at > at && (!target || r.target?.endsWith(target)));
}
