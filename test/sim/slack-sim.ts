/**
 * A loopback Slack Web API simulator that speaks the real wire protocol, so `@slack/web-api`'s `WebClient`
 * can be pointed at it with `slackApiUrl: sim.url`.
 *
 * Supported methods: `chat.postMessage` (with `metadata`), `conversations.history` (newest first, `oldest`,
 * `limit`, `cursor`, metadata only with `include_all_metadata`), `auth.test`, `api.test`. Anything else
 * answers `unknown_method`.
 * Faults: `failNext` (rate limit with Retry-After, HTTP 5xx, or an `ok:false` platform error) and `setDown`
 * (every call answers HTTP 503 until switched back).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, listenLoopback, readBody, sendJson } from "./http-util";

export interface SlackCall {
  method: string;
  token: string | null;
  args: Record<string, unknown>;
  at: number;
  /** HTTP status the sim answered with. */
  status: number;
  /** Whether the answer was HTTP 200 with `ok: true`. */
  ok: boolean;
  /** The Slack error code (or `http_<status>`) when `ok` is false. */
  error?: string;
}

export interface SlackFailure {
  status?: number;
  error?: string;
  retryAfterSeconds?: number;
}

export interface SlackSim {
  /** Base for WebClient's `slackApiUrl`, ending in "/api/". */
  url: string;
  /** Successful and failed calls, in order. */
  calls: SlackCall[];
  /** Only `chat.postMessage` calls that were answered ok. */
  posts(): SlackCall[];
  /** The next `n` calls fail as described (a `ratelimited` error answers HTTP 429 with Retry-After). */
  failNext(n: number, how: SlackFailure): void;
  /** While down, every call answers HTTP 503 (an outage). */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export interface SlackSimOptions {
  /** Tokens accepted as valid; default `["xoxb-test-token"]`. */
  validTokens?: string[];
}

export const SIM_TEAM_ID = "T0SIMTEAM";
export const SIM_USER_ID = "U0SIMBOT";
export const SIM_BOT_ID = "B0SIMBOT";

/** Form fields that WebClient JSON-stringifies; decoded back into objects in `SlackCall.args`. */
const JSON_FIELDS = ["blocks", "attachments", "metadata"] as const;

/** Methods Slack answers without a token. */
const NO_AUTH_METHODS = new Set(["api.test"]);

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

export async function startSlackSim(opts: SlackSimOptions = {}): Promise<SlackSim> {
  const validTokens = new Set(opts.validTokens ?? ["xoxb-test-token"]);
  const calls: SlackCall[] = [];
  const failures: SlackFailure[] = [];
  let down = false;
  let seq = 0;
  /** Every message posted, per channel, oldest first. */
  const channels = new Map<string, Record<string, unknown>[]>();
  const tsBase = Math.floor(Date.now() / 1000);

  function nextTs(): string {
    seq += 1;
    return `${tsBase + seq}.${String(seq).padStart(6, "0")}`;
  }

  function failureReply(how: SlackFailure): Reply {
    if (how.error === "ratelimited" || how.status === 429) {
      return {
        status: 429,
        body: { ok: false, error: "ratelimited" },
        headers: { "retry-after": String(how.retryAfterSeconds ?? 1) },
      };
    }
    if (how.status !== undefined && how.status !== 200) {
      return { status: how.status, body: { ok: false, error: how.error ?? "internal_error" } };
    }
    return { status: 200, body: { ok: false, error: how.error ?? "internal_error" } };
  }

  function dispatch(method: string, token: string | null, args: Record<string, unknown>): Reply {
    if (!NO_AUTH_METHODS.has(method)) {
      if (token === null || token === "") return { status: 200, body: { ok: false, error: "not_authed" } };
      if (!validTokens.has(token)) return { status: 200, body: { ok: false, error: "invalid_auth" } };
    }
    switch (method) {
      case "api.test":
        return { status: 200, body: { ok: true, args } };
      case "auth.test":
        return {
          status: 200,
          body: {
            ok: true,
            url: "https://patrol-sim.slack.com/",
            team: "Patrol Sim",
            user: "patrol",
            team_id: SIM_TEAM_ID,
            user_id: SIM_USER_ID,
            bot_id: SIM_BOT_ID,
            is_enterprise_install: false,
          },
        };
      case "chat.postMessage":
        return postMessage(args);
      case "conversations.history":
        return history(args);
      default:
        return { status: 200, body: { ok: false, error: "unknown_method" } };
    }
  }

  function postMessage(args: Record<string, unknown>): Reply {
    const channel = args.channel;
    if (typeof channel !== "string" || channel === "") {
      return { status: 200, body: { ok: false, error: "channel_not_found" } };
    }
    const text = typeof args.text === "string" ? args.text : undefined;
    const hasBlocks = Array.isArray(args.blocks) && args.blocks.length > 0;
    const hasAttachments = Array.isArray(args.attachments) && args.attachments.length > 0;
    if ((text === undefined || text === "") && !hasBlocks && !hasAttachments) {
      return { status: 200, body: { ok: false, error: "no_text" } };
    }
    if (args.blocks !== undefined && !Array.isArray(args.blocks)) {
      return { status: 200, body: { ok: false, error: "invalid_blocks" } };
    }
    const ts = nextTs();
    const message: Record<string, unknown> = {
      type: "message",
      subtype: "bot_message",
      text: text ?? "",
      user: SIM_USER_ID,
      bot_id: SIM_BOT_ID,
      team: SIM_TEAM_ID,
      ts,
    };
    if (args.blocks !== undefined) message.blocks = args.blocks;
    if (args.attachments !== undefined) message.attachments = args.attachments;
    if (args.metadata !== undefined) message.metadata = args.metadata;
    if (typeof args.thread_ts === "string") message.thread_ts = args.thread_ts;
    channels.set(channel, [...(channels.get(channel) ?? []), message]);
    return { status: 200, body: { ok: true, channel, ts, message } };
  }

  function history(args: Record<string, unknown>): Reply {
    const channel = typeof args.channel === "string" ? args.channel : "";
    if (!channels.has(channel) && channel === "") {
      return { status: 200, body: { ok: false, error: "channel_not_found" } };
    }
    const oldest = Number(args.oldest ?? 0);
    const limit = Math.min(Math.max(Number(args.limit ?? 100) || 100, 1), 999);
    const withMetadata = args.include_all_metadata === true || args.include_all_metadata === "true";
    const newestFirst = [...(channels.get(channel) ?? [])]
      .reverse()
      .filter((m) => Number(m.ts) > oldest)
      .map(({ metadata, ...m }) => (withMetadata && metadata !== undefined ? { ...m, metadata } : m));
    const start = Number(typeof args.cursor === "string" && args.cursor ? args.cursor : 0);
    const page = newestFirst.slice(start, start + limit);
    const more = start + limit < newestFirst.length;
    return {
      status: 200,
      body: {
        ok: true,
        messages: page,
        has_more: more,
        response_metadata: { next_cursor: more ? String(start + limit) : "" },
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const raw = await readBody(req);
    if (!url.pathname.startsWith("/api/") || url.pathname.length <= "/api/".length) {
      sendJson(res, 404, { ok: false, error: "not_found" });
      return;
    }
    const method = decodeURIComponent(url.pathname.slice("/api/".length));
    const { token: bodyToken, ...args } = await parseArgs(req, raw, url);
    const token = extractToken(req, bodyToken);

    let reply: Reply;
    if (down) {
      reply = { status: 503, body: { ok: false, error: "service_unavailable" } };
    } else {
      const failure = failures.shift();
      reply = failure ? failureReply(failure) : dispatch(method, token, args);
    }

    const body = reply.body as { ok?: unknown; error?: unknown };
    const ok = reply.status === 200 && body.ok === true;
    const call: SlackCall = { method, token, args, at: Date.now(), status: reply.status, ok };
    if (!ok) call.error = typeof body.error === "string" ? body.error : `http_${reply.status}`;
    calls.push(call);
    sendJson(res, reply.status, reply.body, reply.headers);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: "sim_error", detail: String(err) });
      else res.destroy();
    });
  });
  const port = await listenLoopback(server);

  return {
    url: `http://127.0.0.1:${port}/api/`,
    calls,
    posts: () => calls.filter((c) => c.method === "chat.postMessage" && c.ok),
    failNext(n, how) {
      for (let i = 0; i < n; i++) failures.push({ ...how });
    },
    setDown(value) {
      down = value;
    },
    close: () => closeServer(server),
  };
}

function extractToken(req: IncomingMessage, bodyToken: unknown): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === "string") {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m?.[1]) return m[1];
  }
  // Slack also accepts the token as a form field.
  return typeof bodyToken === "string" ? bodyToken : null;
}

async function parseArgs(req: IncomingMessage, raw: Buffer, url: URL): Promise<Record<string, unknown>> {
  const contentType = (req.headers["content-type"] ?? "").toLowerCase();
  const args: Record<string, unknown> = {};
  for (const [k, v] of url.searchParams) args[k] = v;

  if (contentType.startsWith("application/json")) {
    const text = raw.toString("utf8");
    if (text.trim() !== "") {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed))
          Object.assign(args, parsed);
      } catch {
        // Slack answers invalid JSON with an error; keep the args empty and let validation complain.
      }
    }
  } else if (contentType.startsWith("multipart/form-data")) {
    const form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
    for (const [k, v] of form) args[k] = typeof v === "string" ? v : `<file ${v.name}>`;
  } else {
    for (const [k, v] of new URLSearchParams(raw.toString("utf8"))) args[k] = v;
  }

  for (const field of JSON_FIELDS) {
    const value = args[field];
    if (typeof value === "string") {
      try {
        args[field] = JSON.parse(value);
      } catch {
        // Leave undecodable values as the raw string; postMessage rejects them as invalid_blocks.
      }
    }
  }
  return args;
}
