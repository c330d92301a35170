import { createServer } from "node:http";
import { closeServer, listenLoopback, readBody, sendJson } from "./http-util";

export type SimHandler = (event: unknown) => Promise<unknown>;

export interface AsyncRun {
  functionName: string;
  payload: unknown;
  /** The handler's result, or the error it threw (Lambda would log it; nobody waits for it). */
  result?: unknown;
  error?: Error;
}

export interface LambdaSim {
  /** For the SDK's `AWS_ENDPOINT_URL_LAMBDA`. */
  url: string;
  invocations: { functionName: string; payload: unknown; type: "RequestResponse" | "Event" }[];
  /** Asynchronous invocations (InvocationType Event), as they finished. */
  asyncRuns: AsyncRun[];
  /** Waits until every asynchronous invocation so far has finished. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * AWS Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`, RequestResponse, and Event: 202
 * at once, the handler run in the background) on 127.0.0.1,
 * running the given handlers in-process: enough for `@aws-sdk/client-lambda` as `patrol revoke --function`
 * uses it. A handler that throws answers as Lambda does: HTTP 200 with `X-Amz-Function-Error: Unhandled`
 * and `{ errorType, errorMessage }`.
 */
export async function startLambdaSim(functions: Record<string, SimHandler>): Promise<LambdaSim> {
  const invocations: LambdaSim["invocations"] = [];
  const asyncRuns: AsyncRun[] = [];
  const pending: Promise<void>[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url?.split("?")[0] ?? "");
      if (req.method !== "POST" || !match?.[1]) {
        sendJson(res, 404, { message: "Not found" }, { "x-amzn-errortype": "UnknownOperationException" });
        return;
      }
      const functionName = decodeURIComponent(match[1]);
      const text = (await readBody(req)).toString("utf8");
      const handler = functions[functionName];
      if (!handler) {
        sendJson(
          res,
          404,
          {
            Type: "User",
            message: `Function not found: arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
          },
          { "x-amzn-errortype": "ResourceNotFoundException" },
        );
        return;
      }
      const payload = text ? (JSON.parse(text) as unknown) : null;
      const type = req.headers["x-amz-invocation-type"] === "Event" ? "Event" : "RequestResponse";
      invocations.push({ functionName, payload, type });
      if (type === "Event") {
        // Lambda queues the event and answers 202 at once; the function runs on its own time.
        res.writeHead(202, {
          "content-type": "application/json",
          "x-amzn-requestid": `sim-${invocations.length}`,
        });
        res.end();
        const run: AsyncRun = { functionName, payload };
        pending.push(
          handler(payload)
            .then(
              (result) => {
                run.result = result;
              },
              (error: unknown) => {
                run.error = error instanceof Error ? error : new Error(String(error));
              },
            )
            .finally(() => asyncRuns.push(run)),
        );
        return;
      }
      try {
        sendJson(res, 200, (await handler(payload)) ?? null, { "x-amz-executed-version": "$LATEST" });
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        sendJson(
          res,
          200,
          { errorType: err.name, errorMessage: err.message, trace: [] },
          { "x-amz-function-error": "Unhandled" },
        );
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: String(error) });
    });
  });
  const port = await listenLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    invocations,
    asyncRuns,
    async settled() {
      while (pending.length > 0) await Promise.all(pending.splice(0));
    },
    close: () => closeServer(server),
  };
}
