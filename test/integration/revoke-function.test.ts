import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDeps } from "../../lambdas/app/deps";
import { parseEnv } from "../../lambdas/config";
import type { RevokeReport } from "../../lambdas/core/report";
import { makeRevokeHandler } from "../../lambdas/handlers/revoke";
import { type EmbeddedDynamo, ensureLedgerTable, startEmbeddedDynamo } from "../sim/dynamodb-sim";
import { type Loopback, startLoopback } from "../sim/harness";
import { type LambdaSim, startLambdaSim } from "../sim/lambda-sim";
import { runCli } from "./cli-run";

const ORG = "fn-org";
const AWS = { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };

let loopback: Loopback;
let dynamo: EmbeddedDynamo;
let lambda: LambdaSim;

beforeAll(async () => {
  [loopback, dynamo] = await Promise.all([startLoopback({ orgs: [ORG] }), startEmbeddedDynamo()]);
  await ensureLedgerTable(new DynamoDBClient({ endpoint: dynamo.endpoint, ...AWS }), "patrol-ledger");
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  process.env.AWS_REGION = AWS.region;
  process.env.AWS_ACCESS_KEY_ID = AWS.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = AWS.credentials.secretAccessKey;
  // The deployed revoke Lambda, as the Lambda service would run it: the real handler and its real deps.
  const deps = await buildDeps(parseEnv({ ...loopback.env, PATROL_TABLE: "patrol-ledger" }), {
    allowEmbedded: false,
  });
  lambda = await startLambdaSim({ "patrol-revoke": makeRevokeHandler(async () => deps) });
  process.env.AWS_ENDPOINT_URL_LAMBDA = lambda.url;
});

afterAll(async () => {
  await Promise.all([loopback?.close(), dynamo?.close(), lambda?.close()]);
});

// No GitHub or Slack settings here: with --function, the CLI only needs to reach the Lambda.
const patrol = (args: string[]) => runCli(args, {});

describe("patrol revoke --function: the deployed Lambda through @aws-sdk/client-lambda", () => {
  it("sends the validated event and prints the Lambda's report", async () => {
    const grant = loopback.github
      .org(ORG)
      .addGrant({ owner: "mallory", tokenName: "ci", tokenExpiresAt: "2027-06-01T00:00:00Z" });

    const run = await patrol([
      "revoke",
      "--org",
      ORG,
      "--owner",
      "mallory",
      "--reason",
      "laptop stolen",
      "--by",
      "jane",
      "--function",
      "patrol-revoke",
      "--json",
    ]);

    expect(run.code).toBe(0);
    expect(lambda.invocations).toEqual([
      {
        functionName: "patrol-revoke",
        payload: { org: ORG, selector: { owner: "mallory" }, reason: "laptop stolen", requestedBy: "jane" },
        // Synchronous: the responder waits for the report.
        type: "RequestResponse",
      },
    ]);
    const report = JSON.parse(run.stdout) as RevokeReport;
    expect(report.revoked.map((r) => r.patId)).toEqual([grant.id]);
    expect(loopback.github.org(ORG).grants()).toEqual([]);
  });

  it("refuses bad flags before invoking anything (exit 2)", async () => {
    const before = lambda.invocations.length;

    const run = await patrol([
      "revoke",
      "--org",
      ORG,
      "--all",
      "--confirm",
      "other",
      "--reason",
      "x",
      "--by",
      "y",
      "--function",
      "patrol-revoke",
    ]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--confirm: "other" is not fn-org');
    expect(lambda.invocations.length).toBe(before);
  });

  it("reports a function that does not exist, with the service's message (exit 1)", async () => {
    const run = await patrol([
      "revoke",
      "--org",
      ORG,
      "--owner",
      "x",
      "--reason",
      "r",
      "--by",
      "b",
      "--function",
      "patrol-nope",
    ]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Function not found/);
  });
});

describe("the revoke Lambda's leaked-token event", () => {
  const VALUE = `ghp_${"Zy9xW".repeat(7)}q`;
  it("takes the values in its payload, revokes them at GitHub, and answers with their hashes only", async () => {
    const dir = await mkdtemp(join(tmpdir(), "patrol-fn-leaked-"));
    const file = join(dir, "leaked.txt");
    await writeFile(file, `${VALUE}\n`);
    try {
      const run = await patrol([
        "revoke",
        "--org",
        ORG,
        "--leaked-token-file",
        file,
        "--reason",
        "secret scanning",
        "--by",
        "jane",
        "--function",
        "patrol-revoke",
        "--json",
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(loopback.github.revokedCredentials).toContain(VALUE);
      const report = JSON.parse(run.stdout) as { revoked: number; hashedTokens: string[] };
      expect(report.revoked).toBe(1);
      expect(report.hashedTokens).toEqual([createHash("sha256").update(VALUE).digest("base64")]);
      expect(run.stdout).not.toContain(VALUE.slice(4, 14));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a value that is not one by its index, without echoing it (exit 2)", async () => {
    const handler = makeRevokeHandler(async () => {
      throw new Error("no deps are built for a bad event");
    });
    await expect(
      handler({
        org: ORG,
        leakedTokens: [VALUE, "s3cr3t-but-not-a-token"],
        reason: "x",
        requestedBy: "jane",
      }),
    ).rejects.toThrow(/leakedTokens\[1\]: not a token value GitHub can revoke/);
    await expect(
      handler({ org: ORG, leakedTokens: ["s3cr3t-but-not-a-token"], reason: "x", requestedBy: "jane" }),
    ).rejects.not.toThrow(/s3cr3t/);
  });
});
