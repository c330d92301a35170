/**
 * An AWS Lambda Function URL (auth type NONE) on 127.0.0.1 in front of an in-process handler: each HTTP request
 * becomes a payload format 2.0 event, the handler's result becomes the HTTP answer, as Function URLs map them.
 *
 * - Bodies whose content type is not text (`text/*`, `application/json`, `application/xml`,
 *   `application/javascript`) arrive base64-encoded with `isBase64Encoded: true`: that includes
 *   `application/x-www-form-urlencoded`, which is how Slack's interaction payloads arrive.
 * - A string result answers 200 with it as the body; an object with `statusCode` is a structured answer
 *   (`headers`, `body`, `isBase64Encoded`, `cookies`); any other object answers 200 with its JSON.
 * - A handler that throws, or that outlives the function's timeout, answers 502 (a late result is ignored).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { closeServer, listenLoopback, readBody } from "./http-util";

export type FunctionUrlHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

export interface FunctionUrlRequest {
  event: APIGatewayProxyEventV2;
  status: number;
  /** Wall time from the request's arrival to the answer. */
  ms: number;
  /** Set when the answer was a 502 because the function timed out. */
  timedOut?: boolean;
  /** What the handler threw, when it did. */
  error?: unknown;
}

export interface FunctionUrl {
  /** The function URL's base, e.g. `http://127.0.0.1:1234/` (any path and query go to the handler). */
  url: string;
  requests: FunctionUrlRequest[];
  close(): Promise<void>;
}

export interface FunctionUrlOptions {
  /** The function's timeout; default 3000. */
  timeoutMs?: number;
  /** Default "slack-interactions". */
  functionName?: string;
  /** Default "us-east-1". */
  region?: string;
}

const TEXT_TYPES = ["application/json", "application/xml", "application/javascript"];

/** Whether a Function URL passes a body of this content type as plain text (rather than base64). */
export function isTextContentType(contentType: string | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return type.startsWith("text/") || TEXT_TYPES.includes(type);
}

export async function startFunctionUrl(
  handler: FunctionUrlHandler,
  options: FunctionUrlOptions = {},
): Promise<FunctionUrl> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const functionName = options.functionName ?? "slack-interactions";
  const region = options.region ?? "us-east-1";
  const apiId = randomBytes(16).toString("hex");
  const domainName = `${apiId}.lambda-url.${region}.on.aws`;
  const requests: FunctionUrlRequest[] = [];
  const pending = new Set<NodeJS.Timeout>();

  function buildEvent(req: IncomingMessage, raw: Buffer): APIGatewayProxyEventV2 {
    const target = req.url ?? "/";
    const q = target.indexOf("?");
    const rawPath = q === -1 ? target : target.slice(0, q);
    const rawQueryString = q === -1 ? "" : target.slice(q + 1);

    const headers: Record<string, string> = {};
    const cookies: string[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = (req.rawHeaders[i] ?? "").toLowerCase();
      const value = req.rawHeaders[i + 1] ?? "";
      if (name === "cookie") {
        cookies.push(
          ...value
            .split(";")
            .map((c) => c.trim())
            .filter((c) => c !== ""),
        );
        continue;
      }
      headers[name] = name in headers ? `${headers[name]},${value}` : value;
    }
    headers.host = domainName;
    headers["x-forwarded-for"] = "127.0.0.1";
    headers["x-forwarded-proto"] = "https";
    headers["x-forwarded-port"] = "443";
    headers["x-amzn-trace-id"] =
      `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString("hex")}`;

    const query: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(rawQueryString)) {
      query[k] = k in query ? `${query[k]},${v}` : v;
    }

    const now = new Date();
    const event: APIGatewayProxyEventV2 = {
      version: "2.0",
      routeKey: "$default",
      rawPath,
      rawQueryString,
      ...(cookies.length > 0 ? { cookies } : {}),
      headers,
      ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
      requestContext: {
        accountId: "anonymous",
        apiId,
        domainName,
        domainPrefix: apiId,
        http: {
          method: req.method ?? "GET",
          path: rawPath,
          protocol: "HTTP/1.1",
          sourceIp: "127.0.0.1",
          userAgent: headers["user-agent"] ?? "",
        },
        requestId: randomUUID(),
        routeKey: "$default",
        stage: "$default",
        time: clf(now),
        timeEpoch: now.getTime(),
      },
      isBase64Encoded: false,
    };
    if (raw.length > 0) {
      const text = isTextContentType(headers["content-type"]);
      event.body = text ? raw.toString("utf8") : raw.toString("base64");
      event.isBase64Encoded = !text;
    }
    return event;
  }

  function context(requestId: string, deadline: number): Context {
    const unsupported = () => {
      throw new Error("function-url sim: callback-style context methods are not supported; return a promise");
    };
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName,
      functionVersion: "$LATEST",
      invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
      memoryLimitInMB: "128",
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll("-", "/")}/[$LATEST]${randomBytes(16).toString("hex")}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: unsupported,
      fail: unsupported,
      succeed: unsupported,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const raw = await readBody(req, 6 * 1024 * 1024);
    const event = buildEvent(req, raw);
    const deadline = Date.now() + timeoutMs;
    type Outcome = { kind: "ok"; value: unknown } | { kind: "error"; error: unknown } | { kind: "timeout" };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs);
      pending.add(timer);
    });
    const run = Promise.resolve()
      .then(() => handler(event, context(randomUUID(), deadline)))
      .then(
        (value): Outcome => ({ kind: "ok", value }),
        (error: unknown): Outcome => ({ kind: "error", error }),
      );
    const outcome = await Promise.race([run, timeout]);
    if (timer) {
      clearTimeout(timer);
      pending.delete(timer);
    }

    const record: FunctionUrlRequest = { event, status: 502, ms: 0 };
    let answer: { status: number; headers: Record<string, string | string[]>; body: Buffer };
    if (outcome.kind === "ok") {
      const mapped = mapResult(outcome.value);
      answer = mapped ?? internalError();
    } else {
      answer = internalError();
      if (outcome.kind === "timeout") record.timedOut = true;
      else record.error = outcome.error;
    }
    record.status = answer.status;
    res.writeHead(answer.status, { ...answer.headers, "content-length": String(answer.body.length) });
    res.end(answer.body);
    record.ms = performance.now() - started;
    requests.push(record);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        const answer = internalError();
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      } else res.destroy();
    });
  });
  const port = await listenLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: async () => {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      await closeServer(server);
    },
  };
}

function internalError(): { status: number; headers: Record<string, string>; body: Buffer } {
  return {
    status: 502,
    headers: { "content-type": "application/json", "x-amzn-errortype": "InternalServerErrorException" },
    body: Buffer.from(JSON.stringify({ Message: "Internal Server Error" })),
  };
}

/** Maps a handler's result to an HTTP answer as Function URLs do; undefined when it cannot be mapped. */
function mapResult(
  result: unknown,
): { status: number; headers: Record<string, string | string[]>; body: Buffer } | undefined {
  const json = { "content-type": "application/json" };
  if (typeof result === "string") return { status: 200, headers: json, body: Buffer.from(result) };
  if (result === undefined || result === null) return { status: 200, headers: json, body: Buffer.alloc(0) };
  if (typeof result !== "object" || Array.isArray(result) || !("statusCode" in result)) {
    // Without a statusCode, the whole result is the JSON body.
    return { status: 200, headers: json, body: Buffer.from(JSON.stringify(result)) };
  }
  const structured = result as APIGatewayProxyStructuredResultV2;
  const status = structured.statusCode ?? 200;
  if (!Number.isInteger(status) || status < 100 || status > 599) return undefined;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if (!("content-type" in headers)) headers["content-type"] = "application/json";
  if (structured.cookies && structured.cookies.length > 0) headers["set-cookie"] = [...structured.cookies];
  const body = structured.body ?? "";
  if (typeof body !== "string") return undefined;
  return {
    status,
    headers,
    body: structured.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body),
  };
}

/** `12/Mar/2020:19:03:58 +0000`, the time format of `requestContext.time`. */
function clf(date: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${p(date.getUTCHours())}:${p(
    date.getUTCMinutes(),
  )}:${p(date.getUTCSeconds())} +0000`;
}
