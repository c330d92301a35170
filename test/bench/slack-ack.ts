/**
 * How fast Slack's interactivity endpoint answers a click, as Slack meets it: a signed request through a
 * Function URL, verified, parsed and handed to the worker by Lambda's asynchronous Invoke API (the worker's
 * own time is not in it: Slack waits only for the endpoint). Median and p99 over many clicks.
 */
import { WebClient } from "@slack/web-api";
import { makeAsyncInvoker } from "../../lambdas/adapters/lambda-invoke";
import { makeSlackConsole } from "../../lambdas/adapters/slack";
import { actionsBlock, NO_APPROVERS } from "../../lambdas/core/slack-console";
import { makeInteractionsHandler } from "../../lambdas/handlers/slack-interactions";
import { startFunctionUrl } from "../sim/function-url";
import { startLambdaSim } from "../sim/lambda-sim";
import { startSlackSim } from "../sim/slack-sim";
import { median } from "./bundles";

const CLICKS = 200;
const SECRET = "bench-signing-secret";
const TOKEN = "xoxb-bench";

export interface AckFigures {
  clicks: number;
  medianMs: number;
  p99Ms: number;
}

export async function measureSlackAck(): Promise<AckFigures> {
  const slack = await startSlackSim({ validTokens: [TOKEN] });
  const lambda = await startLambdaSim({ "bench-worker": async () => null });
  const before = process.env.AWS_ENDPOINT_URL_LAMBDA;
  process.env.AWS_ENDPOINT_URL_LAMBDA = lambda.url;
  process.env.AWS_REGION ??= "us-east-1";
  process.env.AWS_ACCESS_KEY_ID ??= "bench";
  process.env.AWS_SECRET_ACCESS_KEY ??= "bench";
  const dispatch = makeAsyncInvoker("bench-worker");
  const handler = makeInteractionsHandler(async () => ({
    signingSecret: SECRET,
    approvers: NO_APPROVERS,
    slackConsole: (budget) => makeSlackConsole({ token: TOKEN, apiUrl: slack.url, budget }),
    dispatch,
  }));
  const endpoint = await startFunctionUrl(handler, { timeoutMs: 3_000 });
  try {
    await new WebClient(TOKEN, { slackApiUrl: slack.url }).chat.postMessage({
      channel: "C0BENCH",
      text: "bench",
      blocks: [actionsBlock("item:token-1:k", ["revoke"], { org: "bench", entryId: "token-1" })],
    });
    const times: number[] = [];
    for (let i = 0; i < CLICKS; i++) {
      const click = await slack.click({
        url: endpoint.url,
        signingSecret: SECRET,
        label: "Revoke now",
        user: { id: `U0BENCH${i}`, name: "bench" },
      });
      if (click.status !== 200) throw new Error(`the endpoint answered ${click.status}: ${click.body}`);
      times.push(click.ms);
    }
    await lambda.settled();
    const sorted = [...times].sort((a, b) => a - b);
    return {
      clicks: CLICKS,
      medianMs: Math.round(median(times) * 10) / 10,
      p99Ms: Math.round((sorted[Math.ceil(sorted.length * 0.99) - 1] ?? 0) * 10) / 10,
    };
  } finally {
    await endpoint.close();
    await lambda.close();
    await slack.close();
    if (before === undefined) delete process.env.AWS_ENDPOINT_URL_LAMBDA;
    else process.env.AWS_ENDPOINT_URL_LAMBDA = before;
  }
}

export function formatSlackAck(a: AckFigures): string {
  return `Slack endpoint ack (signed click → verified, handed to the worker; ${a.clicks} clicks on loopback): median ${a.medianMs} ms, p99 ${a.p99Ms} ms (Slack allows 3,000 ms)`;
}
