import { createServer } from "node:http";
import { closeServer, listenLoopback, readBody, sendJson } from "./http-util";

export type SimHandler = (event: unknown) => Promise<unknown>;

export interface LambdaSim {
  /** For the SDK's `AWS_ENDPOINT_URL_LAMBDA`. */
  url: string;
  invocations: { functionName: string; payload: unknown }[];
  close(): Promise<void>;
}

/**
 * AWS Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`, RequestResponse) on 127.0.0.1,
 * running the given handlers in-process: enough for `@aws-sdk/client-lambda` as `patrol revoke --function`
 * uses it. A handler that throws answers as Lambda does: HTTP 200 with `X-Amz-Function-Error: Unhandled`
 * and `{ errorType, errorMessage }`.
 */
export async function startLambdaSim(functions: Record<string, SimHandler>): Promise<LambdaSim> {
  const invocations: LambdaSim["invocations"] = [];
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
      invocations.push({ functionName, payload });
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
  return { url: `http://127.0.0.1:${port}`, invocations, close: () => closeServer(server) };
}
