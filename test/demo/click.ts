import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { KnownBlock } from "@slack/types";
import type { Context } from "aws-lambda";
import { startEmbeddedDynamo } from "../../lambdas/adapters/embedded-dynamodb";
import { makeAsyncInvoker } from "../../lambdas/adapters/lambda-invoke";
import { makeSlackConsole } from "../../lambdas/adapters/slack";
import { buildDeps, EMBEDDED_TABLE } from "../../lambdas/app/deps";
import { parseApproversEnv, parseEnv } from "../../lambdas/config";
import type { LedgerEntry, LedgerEvent } from "../../lambdas/core/types";
import { makeInteractionsHandler } from "../../lambdas/handlers/slack-interactions";
import { makeSlackWorker } from "../../lambdas/handlers/slack-worker";
import { startFunctionUrl } from "../sim/function-url";
import type { Loopback } from "../sim/harness";
import { startLambdaSim } from "../sim/lambda-sim";

/** The demo's Slack app: its signing secret, and who may press which button. */
const SIGNING_SECRET = "demo-signing-secret-0123456789abcdef";
const WORKER = "patrol-slack-worker";

export interface ClickResult {
  /** The endpoint's answer to Slack, and how long it took. */
  status: number;
  ms: number;
  /** The digest as Slack has it after the worker updated it. */
  message: KnownBlock[];
  /** What the clicker alone was told (through the click's response_url). */
  replies: string[];
  entry: LedgerEntry | undefined;
  events: LedgerEvent[];
}

/**
 * One button of the digest pressed, as deployed: the simulated Slack signs the click and POSTs it to the
 * interactivity endpoint behind a Function URL; the endpoint answers and hands the work to the worker by
 * Lambda's asynchronous Invoke API; the worker changes the ledger (the demo's embedded one) and updates
 * the message. The CLI must not be running: the embedded ledger has one owner at a time.
 */
export async function clickInDigest(
  loopback: Loopback,
  env: Record<string, string>,
  click: { label: string; tokenName: string; user: { id: string; name: string }; org: string },
): Promise<ClickResult> {
  const store = await startEmbeddedDynamo({ path: join(env.PATROL_DATA_DIR ?? ".patrol", "ledger") });
  const saved = { ...process.env };
  // The AWS SDK (the ledger, Powertools' idempotency store, Lambda's Invoke API) reads its endpoints here.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: store.endpoint,
    AWS_REGION: "local",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
  });
  const approvers = JSON.stringify({
    revoke: [click.user.id],
    review: [click.user.id],
    register: [click.user.id],
    retire: [click.user.id],
  });
  const client = new DynamoDBClient({});
  const closers: (() => Promise<void>)[] = [];
  try {
    const workerEnv = parseEnv({ ...env, PATROL_TABLE: EMBEDDED_TABLE, PATROL_APPROVERS: approvers });
    const deps = await buildDeps(workerEnv, { allowEmbedded: false });
    const worker = makeSlackWorker(async () => ({ ...deps, approvers: parseApproversEnv(workerEnv) }), {
      tableName: EMBEDDED_TABLE,
      client,
    });
    const lambda = await startLambdaSim({
      [WORKER]: (event) =>
        worker(event, {
          awsRequestId: `demo-${Date.now()}`,
          getRemainingTimeInMillis: () => 60_000,
        } as Context),
    });
    closers.push(() => lambda.close());
    process.env.AWS_ENDPOINT_URL_LAMBDA = lambda.url;
    const endpoint = await startFunctionUrl(
      makeInteractionsHandler(async () => ({
        signingSecret: SIGNING_SECRET,
        approvers: parseApproversEnv(workerEnv),
        slackConsole: (budget) =>
          makeSlackConsole({ token: env.SLACK_BOT_TOKEN ?? "", apiUrl: env.SLACK_API_URL, budget }),
        dispatch: makeAsyncInvoker(WORKER),
      })),
      { timeoutMs: 3_000 },
    );
    closers.push(() => endpoint.close());

    const digest = loopback.slack
      .messages(env.SLACK_CHANNEL)
      .filter((m) => JSON.stringify(m.blocks ?? []).includes('"type":"actions"'))
      .at(-1);
    if (!digest) throw new Error("no digest with buttons in Slack");
    const blocks = (digest.blocks ?? []) as KnownBlock[];
    const at = blocks.findIndex(
      (b) => b.type === "section" && JSON.stringify(b).includes(`*${click.tokenName}*`),
    );
    const buttons = blocks.slice(at + 1).find((b) => b.type === "actions");
    if (at < 0 || !buttons?.block_id) throw new Error(`no buttons for ${click.tokenName} in the digest`);
    const sent = await loopback.slack.click({
      url: endpoint.url,
      signingSecret: SIGNING_SECRET,
      label: click.label,
      user: click.user,
      messageTs: digest.ts,
      blockId: buttons.block_id,
    });
    await lambda.settled();
    const ledger = deps.ledger;
    const entry = (await ledger.load(click.org)).find((e) => e.tokenName === click.tokenName);
    return {
      status: sent.status,
      ms: sent.ms,
      message: (loopback.slack.messages(env.SLACK_CHANNEL).find((m) => m.ts === digest.ts)?.blocks ??
        []) as KnownBlock[],
      replies: loopback.slack.responses
        .filter((r) => r.clickId === sent.clickId)
        .map((r) => String(r.body.text ?? "")),
      entry,
      events: entry ? await ledger.history(click.org, entry.entryId) : [],
    };
  } finally {
    for (const close of closers.reverse()) await close();
    client.destroy();
    await store.close();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}
