/**
 * A fault-injecting HTTP proxy for the loopback simulators (GitHub, Slack, dynalite). Put it in front of
 * one and point patrol at the proxy: every request passes through unchanged, until a fault is injected.
 * Each fault class is one line:
 *
 *   proxy.inject({ target: "DynamoDB_20120810.PutItem", times: Infinity, fault: dynamoError("ThrottlingException") })
 *   proxy.inject({ path: /personal-access-tokens$/, fault: { kind: "hang" } })
 *   proxy.inject({ path: "/api/chat.postMessage", fault: { kind: "late", ms: 2_000 } })
 *
 * Faults: an answer of any status and headers without reaching the server (`answer`), a connection that
 * hangs (`hang`) or is reset (`reset`), a body cut short (`truncate`), an answer delayed before the
 * server sees the request (`slow`) or after the server acted (`late`: the server's state changes, the
 * client gives up first), and a hook run as a request arrives (`onRequest`, e.g. to SIGKILL a process at a
 * named step). Every request is recorded with its arrival time, so a test can count what came late.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import { closeServer, listenLoopback, readBody } from "./http-util";

export type FaultAction =
  | { kind: "answer"; status: number; headers?: Record<string, string>; body?: unknown }
  | { kind: "hang" }
  | { kind: "reset" }
  | { kind: "truncate" }
  | { kind: "slow"; ms: number }
  | { kind: "late"; ms: number }
  /** Passes the request on, but answers with what `rewrite` makes of the server's answer. */
  | { kind: "rewrite"; rewrite: (status: number, body: unknown, request: ProxiedRequest) => unknown };

export interface ProxiedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** DynamoDB's operation (`DynamoDB_20120810.PutItem`), from `x-amz-target`. */
  target: string | undefined;
  body: string;
  /** Arrival, epoch ms. */
  at: number;
  /** The fault it met, if any. */
  fault?: FaultAction["kind"];
}

export interface FaultRule {
  method?: string;
  path?: string | RegExp;
  /** DynamoDB operation name, with or without the `DynamoDB_20120810.` prefix. */
  target?: string;
  /** Further condition on the request (its body, its query). */
  when?: (request: ProxiedRequest) => boolean;
  /** How many matching requests meet the fault; default 1. `Infinity` until `clear()`. */
  times?: number;
  /** Matching requests to let through first. */
  after?: number;
  fault: FaultAction;
}

export interface FaultProxy {
  url: string;
  requests: ProxiedRequest[];
  inject(rule: FaultRule): void;
  /** Runs as each request arrives, before any fault or forwarding. */
  onRequest(hook: ((request: ProxiedRequest) => void) | undefined): void;
  clear(): void;
  close(): Promise<void>;
}

/** An error as DynamoDB answers it: HTTP 400 (500 for an internal error) with `__type`. */
export function dynamoError(type: string, message = `simulated ${type}`): FaultAction {
  const status = type === "InternalServerError" || type === "ServiceUnavailable" ? 500 : 400;
  return {
    kind: "answer",
    status,
    headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-errortype": type },
    body: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message },
  };
}

/** DynamoDB taking none of a batch: every item back in `UnprocessedItems`, nothing written. */
export const dynamoUnprocessed: FaultAction = {
  kind: "answer",
  status: 200,
  headers: { "content-type": "application/x-amz-json-1.0" },
  body: undefined,
};

function matches(rule: FaultRule, request: ProxiedRequest): boolean {
  if (rule.method && rule.method.toUpperCase() !== request.method) return false;
  if (rule.target && !request.target?.endsWith(rule.target)) return false;
  if (rule.path !== undefined) {
    if (typeof rule.path === "string" ? rule.path !== request.path : !rule.path.test(request.path))
      return false;
  }
  return !rule.when || rule.when(request);
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const origin = new URL(upstream);
  const requests: ProxiedRequest[] = [];
  const rules: (FaultRule & { left: number; skip: number })[] = [];
  const sockets = new Set<Socket>();
  let hook: ((request: ProxiedRequest) => void) | undefined;

  function take(request: ProxiedRequest): FaultAction | undefined {
    for (const rule of rules) {
      if (rule.left <= 0 || !matches(rule, request)) continue;
      if (rule.skip > 0) {
        rule.skip--;
        continue;
      }
      rule.left--;
      return rule.fault;
    }
    return undefined;
  }

  function forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const out = httpRequest(
        {
          host: origin.hostname,
          port: origin.port,
          method: req.method,
          path: req.url ?? "/",
          headers: { ...req.headers, host: origin.host },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on("error", reject);
        },
      );
      out.on("error", reject);
      out.end(body);
    });
  }

  function send(res: ServerResponse, status: number, headers: IncomingHttpHeaders, body: Buffer): void {
    if (res.destroyed) return;
    const {
      "content-length": _length,
      "transfer-encoding": _encoding,
      connection: _connection,
      ...rest
    } = headers;
    res.writeHead(status, { ...rest, "content-length": String(body.length) });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? "/", "http://proxy");
    const target = req.headers["x-amz-target"];
    const request: ProxiedRequest = {
      method: (req.method ?? "GET").toUpperCase(),
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      target: typeof target === "string" ? target : undefined,
      body: raw.toString("utf8"),
      at: Date.now(),
    };
    requests.push(request);
    hook?.(request);
    const fault = take(request);
    if (fault) request.fault = fault.kind;
    switch (fault?.kind) {
      case "answer": {
        const body =
          fault === dynamoUnprocessed
            ? { UnprocessedItems: (JSON.parse(request.body) as { RequestItems: unknown }).RequestItems }
            : fault.body;
        const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
        send(res, fault.status, { "content-type": "application/json", ...fault.headers }, Buffer.from(text));
        return;
      }
      case "hang":
        return; // never answered: the client's timeout (or the run's end) is all that ends it
      case "reset":
        req.socket.destroy();
        return;
      case "slow":
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        break;
      default:
        break;
    }
    const answer = await forward(req, raw);
    if (fault?.kind === "late") await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === "truncate") {
      if (res.destroyed) return;
      const { "content-length": _length, ...rest } = answer.headers;
      res.writeHead(answer.status, { ...rest, "content-length": String(answer.body.length) });
      res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
      res.socket?.destroy();
      return;
    }
    if (fault?.kind === "rewrite") {
      const parsed: unknown = answer.body.length ? JSON.parse(answer.body.toString("utf8")) : undefined;
      const body = Buffer.from(JSON.stringify(fault.rewrite(answer.status, parsed, request)));
      send(res, answer.status, answer.headers, body);
      return;
    }
    send(res, answer.status, answer.headers, answer.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(502);
        res.end();
      } else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await listenLoopback(server);
  const base = `http://127.0.0.1:${port}`;
  return {
    // The upstream's own path (Slack's `/api/`) stays: a request to the proxy is passed on as it came.
    url: `${base}${origin.pathname === "/" ? "" : origin.pathname}`,
    requests,
    inject(rule) {
      rules.push({ ...rule, left: rule.times ?? 1, skip: rule.after ?? 0 });
    },
    onRequest(next) {
      hook = next;
    },
    clear() {
      rules.length = 0;
      hook = undefined;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    },
  };
}
