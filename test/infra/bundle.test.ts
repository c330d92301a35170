/**
 * The deployed artifact, proven offline: the Lambdas' bundles exactly as `cdk synth` writes them
 * into the cloud assembly (the `index.mjs` that would be uploaded) run in a plain Node process, with the
 * environment the template gives the function, against the loopback GitHub, Slack, DynamoDB and Secrets
 * Manager. A missing module, a CommonJS dependency that breaks under ESM, or an environment the Lambda
 * cannot parse fails here rather than in AWS at 03:00. The deployment bundled is the `orgs: "*"` one, which
 * has every Lambda (the fan-out too); an explicit list's differs only in its schedules and alarms.
 */
import { spawn } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { IConstruct } from "constructs";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDynamoLedger } from "../../lambdas/adapters/ledger";
import { parseLedgerCsv } from "../../lambdas/core/ledger-csv";
import { planImport } from "../../lambdas/core/ledger-import";
import { type EmbeddedDynamo, ensureLedgerTable, startEmbeddedDynamo } from "../sim/dynamodb-sim";
import { type Loopback, SLACK_CHANNEL, SLACK_TOKEN, startLoopback } from "../sim/harness";
import { type LambdaSim, startLambdaSim } from "../sim/lambda-sim";
import { type SecretsSim, startSecretsSim } from "../sim/secrets-sim";
import { type Synthesized, synthPatrol } from "./synth";

const ORG = "bundled";
const TABLE = "patrol-ledger-bundle";
const REGION = "us-east-1";
const SECRET_ARN = (name: string) => `arn:aws:secretsmanager:${REGION}:000000000000:secret:${name}`;
const DAY = 86_400_000;
const at = (days: number) => new Date(Date.now() + days * DAY).toISOString();
/**
 * Ceiling on each minified bundle. The target is 1 MB: lower this to 1_000_000 once lambdas/ import zod
 * as `import * as z from "zod"` (tree-shakeable; today `import { z }` pulls in all of zod with its locales, ~330 KB more).
 */
const MAX_BUNDLE_BYTES = 1_000_000;

/** Bundled, with `orgs: "*"`: the deployment with every Lambda, the fan-out included. */
let synth: Synthesized;
/** Not bundled: the explicit-list deployment, for its per-org heartbeat alarm. */
let explicit: Synthesized;
let loopback: Loopback;
let lambda: LambdaSim;
let dynamo: EmbeddedDynamo;
let secrets: SecretsSim;

interface Bundle {
  file: string;
  bytes: number;
  env: Record<string, unknown>;
}

/** The function's asset in the cloud assembly (`asset.<hash>/index.mjs`) and its environment in the template. */
function bundleOf(fn: IConstruct): Bundle {
  const id = synth.stack.getLogicalId(fn.node.defaultChild as Parameters<typeof synth.stack.getLogicalId>[0]);
  const props = (synth.json.Resources as Record<string, { Properties: FunctionProps }>)[id]?.Properties;
  if (!props) throw new Error(`no function ${id} in the template`);
  const file = join(synth.outdir, `asset.${props.Code.S3Key.replace(/\.zip$/, "")}`, "index.mjs");
  return { file, bytes: statSync(file).size, env: props.Environment.Variables };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** The template's environment with the stack's own references (table, secrets) pointed at the simulators. */
function lambdaEnvironment(bundle: Bundle): Record<string, string> {
  const references: Record<string, string> = {
    PATROL_TABLE: TABLE,
    GITHUB_APP_SECRET_ARN: SECRET_ARN("patrol/github-app"),
    SLACK_BOT_TOKEN_SECRET_ARN: SECRET_ARN("patrol/slack-bot-token"),
    PATROL_SWEEP_FUNCTION: "patrol-sweep",
  };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(bundle.env)) {
    if (typeof value === "string") env[name] = value;
    else if (references[name]) env[name] = references[name];
    else throw new Error(`unexpected reference in the function's environment: ${name}`);
  }
  return {
    ...env,
    // What Lambda itself provides, and the simulators in place of AWS, GitHub and Slack.
    PATH: process.env.PATH ?? "",
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    GITHUB_API_URL: loopback.github.url,
    SLACK_API_URL: loopback.slack.url,
  };
}

const RUNNER = `
import { pathToFileURL } from "node:url";
const [bundle, event] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const context = {
  functionName: "patrol", functionVersion: "$LATEST", memoryLimitInMB: "512",
  invokedFunctionArn: "arn:aws:lambda:${REGION}:000000000000:function:patrol",
  awsRequestId: "bundle-test", logGroupName: "/aws/lambda/patrol", logStreamName: "bundle-test",
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 900000,
};
let outcome;
try {
  outcome = { ok: true, result: await handler(JSON.parse(event), context) };
} catch (error) {
  outcome = { ok: false, name: error?.name, message: error?.message, stack: error?.stack };
}
console.log("@@outcome " + JSON.stringify(outcome));
`;

interface Invocation {
  ok: boolean;
  result?: Record<string, unknown>;
  message?: string;
  /** Everything else the function wrote to stdout: its logs and its EMF metrics. */
  lines: string[];
  stderr: string;
}

/** Runs the bundled handler once in a fresh Node process (a cold start), as Lambda would. */
function invoke(bundle: Bundle, event: unknown): Promise<Invocation> {
  const runner = join(synth.outdir, "run-bundle.mjs");
  writeFileSync(runner, RUNNER);
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the simulators answer from this process's event loop.
    const child = spawn(process.execPath, [runner, bundle.file, JSON.stringify(event)], {
      cwd: synth.outdir,
      env: lambdaEnvironment(bundle),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", () => {
      const lines = stdout.split("\n").filter(Boolean);
      const marker = lines.find((l) => l.startsWith("@@outcome "));
      if (!marker) return reject(new Error(`the bundle produced no outcome:\n${stdout}\n${stderr}`));
      resolve({ ...JSON.parse(marker.slice("@@outcome ".length)), lines, stderr });
    });
  });
}

beforeAll(async () => {
  synth = synthPatrol({ orgs: "*", mode: "enforce", slackChannel: SLACK_CHANNEL }, { bundle: true });
  explicit = synthPatrol({ orgs: [ORG], mode: "enforce", slackChannel: SLACK_CHANNEL });
  [loopback, dynamo, secrets, lambda] = await Promise.all([
    startLoopback({ orgs: [ORG] }),
    startEmbeddedDynamo(),
    startSecretsSim(),
    // The sweep Lambda as the fan-out reaches it: the Invoke API, taking each org's event.
    startLambdaSim({ "patrol-sweep": async (event) => ({ queued: event }) }),
  ]);
  secrets.put(
    "patrol/github-app",
    JSON.stringify({
      appId: loopback.app.appId,
      privateKey: loopback.app.privateKeyPem,
      installationIds: { [ORG]: 90_000 },
    }),
  );
  secrets.put("patrol/slack-bot-token", SLACK_TOKEN);

  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: REGION,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  await ensureLedgerTable(client, TABLE);
  const ledger = makeDynamoLedger(client, TABLE);
  const csv = "token_name,owner,token_id,renew\ndeploy-bot,amy,101,no\nci,cy,103,yes\n";
  const plan = planImport(
    parseLedgerCsv(csv),
    await ledger.load(ORG),
    { org: ORG, now: new Date(), actor: "bundle-test", writer: "import", runId: "import" },
    "bundle-test.csv",
  );
  await ledger.write(plan.writes);
  client.destroy();

  const github = loopback.github.org(ORG);
  const grant = { accessGrantedAt: at(-30), tokenLastUsedAt: at(-1) };
  github.addGrant({
    ...grant,
    tokenId: 101,
    owner: "amy",
    tokenName: "deploy-bot",
    tokenExpiresAt: at(-2),
    tokenExpired: true,
  });
  github.addGrant({ ...grant, tokenId: 102, owner: "bo", tokenName: "stranger", tokenExpiresAt: at(90) });
  github.addGrant({ ...grant, tokenId: 103, owner: "cy", tokenName: "ci", tokenExpiresAt: at(90) });
}, 120_000);

afterAll(async () => {
  await Promise.all([loopback?.close(), dynamo?.close(), secrets?.close(), lambda?.close()]);
  synth?.dispose();
  explicit?.dispose();
});

describe("the bundles in the cloud assembly", () => {
  it("are self-contained ESM of a reasonable size: nothing to import but Node's own modules", async () => {
    const sizes: string[] = [];
    for (const [name, fn] of [
      ["sweep", synth.stack.sweep.function],
      ["revoke", synth.stack.revoke.function],
      ["github-webhook", synth.stack.webhook.endpoint.function],
      ["fan-out", fanOutFunction()],
    ] as const) {
      const bundle = bundleOf(fn);
      const map = statSync(`${bundle.file}.map`).size;
      sizes.push(`${name} ${kb(bundle.bytes)} (source map ${kb(map)})`);
      expect(bundle.bytes, `${name} bundle size`).toBeLessThan(MAX_BUNDLE_BYTES);

      // esbuild resolves the bundle's own imports from where it sits (no node_modules around): anything
      // but a Node built-in would be unresolvable, here as in Lambda.
      const { metafile } = await build({
        entryPoints: [bundle.file],
        bundle: true,
        write: false,
        platform: "node",
        format: "esm",
        metafile: true,
        logLevel: "silent",
      });
      const external = Object.values(metafile.inputs).flatMap((input) =>
        input.imports.filter((i) => i.external).map((i) => i.path),
      );
      const foreign = external.filter((s) => !s.startsWith("node:") && !builtinModules.includes(s));
      expect(foreign, `${name} imports modules Lambda does not have`).toEqual([]);
    }
    console.log(`bundle sizes: ${sizes.join(", ")}`);
  });
});

describe("the bundled sweep handler against the simulators", () => {
  it("sweeps the org: the expired token revoked, the stranger alerted, the digest posted, the heartbeat published", async () => {
    const bundle = bundleOf(synth.stack.sweep.function);
    const postsBefore = loopback.slack.posts().length;

    const run = await invoke(bundle, { org: ORG });

    expect(run.ok, `${run.message}\n${run.stderr}`).toBe(true);
    const report = run.result as {
      scanned: number;
      revoked: { tokenName: string; reason: string }[];
      alerts: { kind: string; tokenName: string }[];
      errors: unknown[];
      slack: { sent: boolean };
    };
    expect(report.errors).toEqual([]);
    expect(report.scanned).toBe(3);
    expect(report.revoked.map((r) => [r.tokenName, r.reason])).toEqual([["deploy-bot", "expired"]]);
    expect(report.alerts).toContainEqual(
      expect.objectContaining({ kind: "unregistered", tokenName: "stranger" }),
    );
    expect(report.slack.sent).toBe(true);
    expect(
      loopback.github
        .org(ORG)
        .grants()
        .map((g) => g.token_id)
        .sort(),
    ).toEqual([102, 103]);
    const posts = loopback.slack.posts().slice(postsBefore);
    expect(posts.map((p) => p.args.channel)).toEqual([SLACK_CHANNEL]);

    // The heartbeat carries exactly the dimensions the org's alarm watches, or the alarm would never see it.
    const emf = run.lines
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: EmfDirective[] } });
    // Two heartbeats: the org's (an explicit list's alarm per org) and the same without the org (the one
    // alarm of `orgs: "*"`, whose orgs are not known at synth).
    const heartbeats = emf.filter((m) => m.SweepSucceeded === 1);
    expect(heartbeats).toHaveLength(2);
    for (const [deployment, heartbeat] of [
      [explicit, heartbeats.find((m) => "org" in m)],
      [synth, heartbeats.find((m) => !("org" in m))],
    ] as const) {
      const directive = heartbeat?._aws.CloudWatchMetrics[0];
      expect(directive?.Namespace).toBe("patrol");
      const alarm = alarmOn(deployment, "SweepSucceeded");
      expect(alarm?.Namespace).toBe(directive?.Namespace);
      expect(directive?.Dimensions.map((set) => [...set].sort())).toEqual([
        (alarm?.Dimensions ?? []).map((d) => d.Name).sort(),
      ]);
      for (const d of alarm?.Dimensions ?? []) expect(heartbeat?.[d.Name]).toBe(d.Value);
    }
  });
});

describe("the bundled fan-out handler against the simulators", () => {
  it("lists the App's installations, hands the org to the sweep Lambda, and publishes what the alarm watches", async () => {
    const bundle = bundleOf(fanOutFunction());
    const before = lambda.invocations.length;

    const run = await invoke(bundle, {});

    expect(run.ok, `${run.message}\n${run.stderr}`).toBe(true);
    expect(run.result).toMatchObject({ orgs: [ORG], invoked: 1, failed: [], disappeared: [], errors: [] });
    expect(lambda.invocations.slice(before)).toEqual([
      { functionName: "patrol-sweep", payload: { org: ORG }, type: "Event" },
    ]);
    const emf = run.lines
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: EmfDirective[] } });
    const counted = emf.find((m) => "InstallationsLost" in m);
    expect(counted).toMatchObject({ Installations: 1, InstallationsLost: 0 });
    const directive = counted?._aws.CloudWatchMetrics[0];
    const alarm = alarmOn(synth, "InstallationsLost");
    expect(alarm?.Namespace).toBe(directive?.Namespace);
    expect(directive?.Dimensions).toEqual([(alarm?.Dimensions ?? []).map((d) => d.Name)]);
    for (const d of alarm?.Dimensions ?? []) expect(counted?.[d.Name]).toBe(d.Value);
  });
});

describe("the bundled revoke handler against the simulators", () => {
  it("revokes a token on demand and says so in Slack", async () => {
    const bundle = bundleOf(synth.stack.revoke.function);
    const postsBefore = loopback.slack.posts().length;

    const run = await invoke(bundle, {
      org: ORG,
      selector: { tokenIds: [103] },
      reason: "leaked in a CI log",
      requestedBy: "bundle-test",
    });

    expect(run.ok, `${run.message}\n${run.stderr}`).toBe(true);
    expect(
      loopback.github
        .org(ORG)
        .grants()
        .map((g) => g.token_id),
    ).toEqual([102]);
    expect(loopback.slack.posts().length).toBeGreaterThan(postsBefore);
  });
});

function fanOutFunction() {
  const fanOut = synth.stack.fanOut?.lambda.function;
  if (!fanOut) throw new Error('the orgs "*" deployment has no fan-out');
  return fanOut;
}

/** The one alarm of a deployment on a metric of patrol's namespace. */
function alarmOn(deployment: Synthesized, metricName: string): AlarmProps | undefined {
  const alarms = Object.values(
    deployment.json.Resources as Record<string, { Type: string; Properties: AlarmProps }>,
  ).filter((r) => r.Type === "AWS::CloudWatch::Alarm" && r.Properties.MetricName === metricName);
  expect(alarms).toHaveLength(1);
  return alarms[0]?.Properties;
}

interface FunctionProps {
  Code: { S3Key: string };
  Environment: { Variables: Record<string, unknown> };
}

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string }[];
}

interface AlarmProps {
  MetricName: string;
  Namespace: string;
  Dimensions: { Name: string; Value: string }[];
}
