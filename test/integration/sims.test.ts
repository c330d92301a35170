import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { ErrorCode, LogLevel, WebClient } from "@slack/web-api";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureLedgerTable, startEmbeddedDynamo } from "../sim/dynamodb-sim";
import { type SecretsSim, startSecretsSim } from "../sim/secrets-sim";
import { type SlackSim, startSlackSim } from "../sim/slack-sim";

const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const region = "us-east-1";

describe("slack sim", () => {
  let sim: SlackSim;
  beforeAll(async () => {
    sim = await startSlackSim();
  });
  afterAll(async () => {
    await sim.close();
  });
  afterEach(() => {
    sim.setDown(false);
  });

  const client = (token = "xoxb-test-token", extra: Record<string, unknown> = {}) =>
    new WebClient(token, {
      slackApiUrl: sim.url,
      retryConfig: { retries: 0 },
      logLevel: LogLevel.ERROR,
      ...extra,
    });

  it("records chat.postMessage with blocks decoded into objects", async () => {
    const blocks = [{ type: "section", text: { type: "mrkdwn", text: "*hello*" } }];
    const res = await client().chat.postMessage({ channel: "C1", text: "hi", blocks });
    expect(res.ok).toBe(true);
    expect(res.channel).toBe("C1");
    expect(res.ts).toMatch(/^\d+\.\d+$/);
    expect(res.message?.blocks).toEqual(blocks);

    const posts = sim.posts();
    expect(posts).toHaveLength(1);
    expect(posts[0]?.token).toBe("xoxb-test-token");
    expect(posts[0]?.args).toMatchObject({ channel: "C1", text: "hi", blocks });

    const again = await client().chat.postMessage({ channel: "C1", text: "again" });
    expect(again.ts).not.toBe(res.ts);
  });

  it("answers auth.test and validates postMessage arguments", async () => {
    const auth = await client().auth.test();
    expect(auth).toMatchObject({ ok: true, user_id: expect.any(String), team_id: expect.any(String) });
    expect(auth.bot_id).toBeTruthy();

    await expect(client().apiCall("chat.postMessage", { channel: "C1" })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: "no_text" },
    });
    await expect(client().apiCall("chat.postMessage", { text: "x" })).rejects.toMatchObject({
      data: { error: "channel_not_found" },
    });
    await expect(client().apiCall("nope.nothing")).rejects.toMatchObject({
      data: { error: "unknown_method" },
    });
  });

  it("rejects a bad token with invalid_auth", async () => {
    const before = sim.posts().length;
    await expect(client("xoxb-wrong").chat.postMessage({ channel: "C1", text: "hi" })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: "invalid_auth" },
    });
    expect(sim.posts()).toHaveLength(before);
    expect(sim.calls.at(-1)).toMatchObject({ method: "chat.postMessage", token: "xoxb-wrong", ok: false });
  });

  it("rate-limits with Retry-After", async () => {
    sim.failNext(1, { error: "ratelimited", retryAfterSeconds: 1 });
    await expect(
      client("xoxb-test-token", { rejectRateLimitedCalls: true }).chat.postMessage({
        channel: "C1",
        text: "x",
      }),
    ).rejects.toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 1 });
    expect(sim.calls.at(-1)).toMatchObject({ status: 429, ok: false, error: "ratelimited" });
    // The failure was consumed: the next call goes through.
    await expect(client().chat.postMessage({ channel: "C1", text: "x" })).resolves.toMatchObject({
      ok: true,
    });
  });

  it("injects 5xx and platform errors", async () => {
    sim.failNext(1, { status: 500 });
    sim.failNext(1, { error: "channel_is_archived" });
    await expect(client().chat.postMessage({ channel: "C1", text: "x" })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 500,
    });
    await expect(client().chat.postMessage({ channel: "C1", text: "x" })).rejects.toMatchObject({
      data: { error: "channel_is_archived" },
    });
  });

  it("fails every call while down", async () => {
    sim.setDown(true);
    await expect(client().chat.postMessage({ channel: "C1", text: "x" })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 503,
    });
    await expect(client().auth.test()).rejects.toMatchObject({ statusCode: 503 });
    sim.setDown(false);
    await expect(client().auth.test()).resolves.toMatchObject({ ok: true });
  });
});

describe("secrets sim", () => {
  let sim: SecretsSim;
  let sm: SecretsManagerClient;
  beforeAll(async () => {
    sim = await startSecretsSim({ "patrol/github-app": '{"appId":1}' });
    sm = new SecretsManagerClient({ endpoint: sim.url, region, credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    sm.destroy();
    await sim.close();
  });

  it("gets a secret by name and by ARN", async () => {
    const byName = await sm.send(new GetSecretValueCommand({ SecretId: "patrol/github-app" }));
    expect(byName.SecretString).toBe('{"appId":1}');
    expect(byName.Name).toBe("patrol/github-app");
    expect(byName.VersionStages).toEqual(["AWSCURRENT"]);
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    expect(byName.ARN).toMatch(
      /^arn:aws:secretsmanager:us-east-1:000000000000:secret:patrol\/github-app-[A-Za-z0-9]{6}$/,
    );

    const byArn = await sm.send(new GetSecretValueCommand({ SecretId: byName.ARN }));
    expect(byArn.SecretString).toBe('{"appId":1}');
    expect(sim.calls.at(-1)).toEqual({ target: "GetSecretValue", secretId: byName.ARN });
  });

  it("throws ResourceNotFoundException for a missing secret", async () => {
    const err = await sm.send(new GetSecretValueCommand({ SecretId: "nope" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe("ResourceNotFoundException");
    expect((err as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
  });

  it("supports create, put, describe and sim.put", async () => {
    const created = await sm.send(new CreateSecretCommand({ Name: "slack", SecretString: "v1" }));
    expect(created.ARN).toContain(":secret:slack-");
    const dup = await sm.send(new CreateSecretCommand({ Name: "slack", SecretString: "x" })).catch((e) => e);
    expect((dup as Error).name).toBe("ResourceExistsException");

    const put = await sm.send(new PutSecretValueCommand({ SecretId: "slack", SecretString: "v2" }));
    expect(put.VersionStages).toEqual(["AWSCURRENT"]);
    expect((await sm.send(new GetSecretValueCommand({ SecretId: "slack" }))).SecretString).toBe("v2");
    const prev = await sm.send(new GetSecretValueCommand({ SecretId: "slack", VersionStage: "AWSPREVIOUS" }));
    expect(prev.SecretString).toBe("v1");

    const desc = await sm.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(desc.Name).toBe("slack");
    expect(Object.keys(desc.VersionIdsToStages ?? {})).toHaveLength(2);

    sim.put("slack", "v3");
    expect((await sm.send(new GetSecretValueCommand({ SecretId: "slack" }))).SecretString).toBe("v3");
  });

  it("requires a SigV4 authorization header and a known target", async () => {
    const noAuth = await fetch(sim.url, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "secretsmanager.GetSecretValue",
      },
      body: JSON.stringify({ SecretId: "patrol/github-app" }),
    });
    expect(noAuth.status).toBe(400);
    expect(noAuth.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");

    const unknown = await fetch(sim.url, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "secretsmanager.RotateSecret",
        authorization: "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/secretsmanager/aws4_request",
      },
      body: "{}",
    });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ __type: "UnknownOperationException" });
  });
});

describe("embedded dynamo", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  const clients = (endpoint: string) => {
    const raw = new DynamoDBClient({ endpoint, region, credentials, maxAttempts: 1 });
    return { raw, doc: DynamoDBDocumentClient.from(raw) };
  };

  it("runs in memory: ensureLedgerTable is idempotent, put and query work", async () => {
    const dynamo = await startEmbeddedDynamo();
    const { raw, doc } = clients(dynamo.endpoint);
    try {
      expect(dynamo.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await ensureLedgerTable(raw, "ledger");
      await ensureLedgerTable(raw, "ledger");
      await doc.send(
        new PutCommand({ TableName: "ledger", Item: { pk: "TOKEN#1", sk: "META", owner: "octo" } }),
      );
      await doc.send(new PutCommand({ TableName: "ledger", Item: { pk: "TOKEN#1", sk: "EVENT#2", n: 2 } }));
      const q = await doc.send(
        new QueryCommand({
          TableName: "ledger",
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": "TOKEN#1" },
        }),
      );
      expect(q.Items?.map((i) => i.sk)).toEqual(["EVENT#2", "META"]);
    } finally {
      raw.destroy();
      await dynamo.close();
    }
  });

  it("persists to a path across close and reopen", async () => {
    const dir = await mkdtemp(join(tmpdir(), "patrol-dynalite-"));
    dirs.push(dir);
    const path = join(dir, "ledger-db");

    const first = await startEmbeddedDynamo({ path });
    const a = clients(first.endpoint);
    await ensureLedgerTable(a.raw, "ledger");
    await a.doc.send(
      new PutCommand({ TableName: "ledger", Item: { pk: "TOKEN#9", sk: "META", owner: "mona" } }),
    );
    a.raw.destroy();
    await first.close();
    await first.close(); // idempotent

    const second = await startEmbeddedDynamo({ path });
    const b = clients(second.endpoint);
    try {
      await ensureLedgerTable(b.raw, "ledger");
      const got = await b.doc.send(
        new GetCommand({ TableName: "ledger", Key: { pk: "TOKEN#9", sk: "META" } }),
      );
      expect(got.Item).toEqual({ pk: "TOKEN#9", sk: "META", owner: "mona" });
    } finally {
      b.raw.destroy();
      await second.close();
    }
  });

  it("refuses to open a path another store holds", async () => {
    const dir = await mkdtemp(join(tmpdir(), "patrol-dynalite-"));
    dirs.push(dir);
    const holder = await startEmbeddedDynamo({ path: dir });
    try {
      await expect(startEmbeddedDynamo({ path: dir })).rejects.toThrow(/locked by another process/);
    } finally {
      await holder.close();
    }
  });
});
