/**
 * A loopback Slack simulator that speaks the real wire protocols, so `@slack/web-api`'s `WebClient` can be pointed
 * at it with `slackApiUrl: sim.url`, and so an app's interactivity endpoint can be driven the way Slack drives it.
 *
 * Web API methods: `chat.postMessage` (with `metadata`), `chat.update`, `chat.postEphemeral`,
 * `conversations.history` (newest first, `oldest`, `limit`, `cursor`, metadata only with `include_all_metadata`),
 * `conversations.open`, `views.open`, `files.getUploadURLExternal` + the upload URL + `files.completeUploadExternal`
 * (so `WebClient.filesUploadV2` works end to end), `users.info`, `users.lookupByEmail`, `usergroups.users.list`,
 * `auth.test`, `api.test`. Anything else answers `unknown_method`.
 *
 * Interactivity: `click` sends a signed `block_actions` payload for a button of a recorded message, issuing a
 * `trigger_id` (valid 3 s, once, for `views.open`) and a `response_url` (5 uses in 30 minutes); `submit` sends a
 * signed `view_submission` for a view opened through `views.open`; `deliver` replays recorded bytes.
 *
 * Faults: `failNext` (rate limit with Retry-After, HTTP 5xx, or an `ok:false` platform error, optionally for one
 * method only), `delayNext` (a late answer) and `setDown` (every request answers HTTP 503 until switched back).
 */
import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type {
  ActionsBlock,
  AnyBlock,
  Button,
  InputBlock,
  Option,
  PlainTextElement,
  PlainTextOption,
  SectionBlock,
  StaticSelect,
  View,
} from "@slack/types";
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
  /** When set, only calls of this Web API method consume the failure; other calls pass it by. */
  method?: string;
}

export interface SlackSimUser {
  id: string;
  name: string;
  email?: string;
  realName?: string;
}

/** A message as the sim stores it (and as `conversations.history` returns it). */
export type SimMessage = Record<string, unknown> & { ts: string; text: string; blocks?: AnyBlock[] };

export interface SimMessageUpdate {
  channel: string;
  ts: string;
  via: "chat.update" | "response_url";
  before: { text: string; blocks?: AnyBlock[] };
  after: { text: string; blocks?: AnyBlock[] };
  at: number;
}

export interface SimEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks?: AnyBlock[];
  /** The `message_ts` answered. */
  ts: string;
  threadTs?: string;
  via: "chat.postEphemeral" | "response_url";
  at: number;
}

export interface SimView {
  /** `V…`, unique per sim. */
  id: string;
  type: string;
  callback_id: string;
  private_metadata: string;
  title?: PlainTextElement;
  submit?: PlainTextElement;
  close?: PlainTextElement;
  /** The blocks as stored: missing `block_id`s and `action_id`s are filled in, as Slack does. */
  blocks: AnyBlock[];
  external_id?: string;
  hash: string;
  /** The user whose interaction issued the trigger that opened the view. */
  openedBy: { id: string; name: string };
  triggerId: string;
  openedAt: number;
  previousViewId: string | null;
  rootViewId: string;
  /** Set when a `view_submission` was acknowledged with an empty 200 (or `response_action: "clear"`). */
  closed: boolean;
}

export interface SimFile {
  id: string;
  filename: string;
  title: string;
  channel?: string;
  threadTs?: string;
  initialComment?: string;
  /** The uploaded bytes as UTF-8 text. */
  content: string;
  bytes: Buffer;
  /** The `length` declared to `files.getUploadURLExternal`. */
  declaredLength: number;
  /** The ts of the file-share message posted to `channel`, when shared. */
  ts?: string;
}

export interface SimUpload {
  fileId: string;
  contentType: string;
  bytes: Buffer;
  at: number;
}

export interface SimResponse {
  /** The response_url's id (its last path segment). */
  id: string;
  body: Record<string, unknown>;
  at: number;
  clickId?: string;
}

export interface RawInteraction {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface InteractionResult {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** Wall time from sending the request to having read the whole answer. */
  ms: number;
  raw: RawInteraction;
  /** The JSON payload sent (after `tamper: "body"`, the altered one). */
  payload: Record<string, unknown>;
  /** For `click`: the id `responses` entries of this click's response_url carry. */
  clickId?: string;
}

export type Tamper = "signature" | "missing-timestamp" | "missing-signature" | "body";

export interface ClickOptions {
  /** The app's interactivity URL. */
  url: string;
  signingSecret: string;
  /** The button's text, e.g. "Revoke now". */
  label: string;
  user: { id: string; name: string };
  /** Default: the newest recorded message that has a button with that label. */
  messageTs?: string;
  /** Default: that message's channel. */
  channel?: string;
  /** When several buttons share a label, pick by block_id. */
  blockId?: string;
  /** Adds `x-slack-retry-num` and `x-slack-retry-reason: http_timeout`. */
  retryNum?: number;
  /** The request timestamp to sign (default now): for replay/skew tests. */
  at?: Date;
  tamper?: Tamper;
}

export interface SubmitOptions {
  url: string;
  signingSecret: string;
  viewId: string;
  user: { id: string; name: string };
  /** Keyed by action_id (or by block_id): the text, date, user id, option value, or comma-separated ids. */
  values: Record<string, string>;
  at?: Date;
  tamper?: Tamper;
}

// ---- Interaction payload shapes (what Slack POSTs to the interactivity URL) ----

export interface SlackPayloadUser {
  id: string;
  username: string;
  name: string;
  team_id: string;
}

export interface SlackPayloadTeam {
  id: string;
  domain: string;
}

export interface ButtonAction {
  action_id: string;
  block_id: string;
  value?: string;
  type: "button";
  /** Unix seconds with 6 decimals. */
  action_ts: string;
  text: PlainTextElement;
  style?: Button["style"];
}

/** A view's collected state, as `state.values[block_id][action_id]`. */
export type ViewStateValue =
  | {
      type: "plain_text_input" | "number_input" | "email_text_input" | "url_text_input";
      value: string | null;
    }
  | { type: "datepicker"; selected_date: string | null }
  | { type: "timepicker"; selected_time: string | null }
  | { type: "users_select"; selected_user: string | null }
  | { type: "multi_users_select"; selected_users: string[] }
  | { type: "static_select"; selected_option: PlainTextOption | null }
  | { type: "radio_buttons"; selected_option: Option | null }
  | { type: "multi_static_select" | "checkboxes"; selected_options: Option[] }
  | { type: "conversations_select"; selected_conversation: string | null }
  | { type: "channels_select"; selected_channel: string | null }
  | { type: string; value: string | null };

export interface ViewState {
  values: Record<string, Record<string, ViewStateValue>>;
}

export interface BlockActionsPayload {
  type: "block_actions";
  user: SlackPayloadUser;
  api_app_id: string;
  /** The legacy verification token (deprecated; apps must check the signature instead). */
  token: string;
  container: { type: "message"; message_ts: string; channel_id: string; is_ephemeral: boolean };
  trigger_id: string;
  team: SlackPayloadTeam;
  enterprise: null;
  is_enterprise_install: boolean;
  channel: { id: string; name: string };
  message: {
    type: "message";
    user: string;
    ts: string;
    text: string;
    blocks: AnyBlock[];
    bot_id: string;
    app_id: string;
    team: string;
    thread_ts?: string;
    attachments?: unknown[];
  };
  state: ViewState;
  response_url: string;
  actions: ButtonAction[];
}

export interface ViewSubmissionPayload {
  type: "view_submission";
  team: SlackPayloadTeam;
  user: SlackPayloadUser;
  api_app_id: string;
  token: string;
  trigger_id: string;
  view: {
    id: string;
    team_id: string;
    type: "modal";
    callback_id: string;
    private_metadata: string;
    blocks: AnyBlock[];
    title: PlainTextElement;
    close: PlainTextElement | null;
    submit: PlainTextElement | null;
    hash: string;
    state: ViewState;
    clear_on_close: boolean;
    notify_on_close: boolean;
    previous_view_id: string | null;
    root_view_id: string;
    app_id: string;
    external_id: string;
    app_installed_team_id: string;
    bot_id: string;
  };
  response_urls: { block_id: string; action_id: string; channel_id: string; response_url: string }[];
  is_enterprise_install: boolean;
  enterprise: null;
}

export interface SlackSim {
  /** Base for WebClient's `slackApiUrl`, ending in "/api/". */
  url: string;
  /** Successful and failed Web API calls, in order (uploads and response_url posts are not Web API calls). */
  calls: SlackCall[];
  /** Only `chat.postMessage` calls that were answered ok. */
  posts(): SlackCall[];
  /** Current messages of a channel, oldest first; without a channel, of every channel. */
  messages(channel?: string): SimMessage[];
  /** The messages of the bot's DM with one user (opened by `conversations.open`), oldest first. */
  dmsTo(userId: string): SimMessage[];
  /** Every in-place change of a message (chat.update, or a response_url with `replace_original`). */
  updates: SimMessageUpdate[];
  ephemerals: SimEphemeral[];
  views: SimView[];
  files: SimFile[];
  /** Bytes POSTed to upload URLs. */
  uploads: SimUpload[];
  /** Accepted posts to response_urls. */
  responses: SimResponse[];
  /** Every interaction sent by click/submit/deliver, in order. */
  interactions: InteractionResult[];
  /** The next `n` calls fail as described (a `ratelimited` error answers HTTP 429 with Retry-After). */
  failNext(n: number, how: SlackFailure): void;
  /** The next call of `method` is answered only after `ms` (its effect happens on arrival). */
  delayNext(method: string, ms: number): void;
  /** While down, every request answers HTTP 503 (an outage). */
  setDown(down: boolean): void;
  /** Adds a user to the directory (`users.info`, `users.lookupByEmail`). */
  addUser(user: SlackSimUser): void;
  /** Defines a user group (`usergroups.users.list`). */
  addUserGroup(id: string, userIds: string[]): void;
  /** Clicks a button of a recorded message: POSTs a signed block_actions payload to `url`. */
  click(options: ClickOptions): Promise<InteractionResult>;
  /** Submits a view opened with `views.open`: POSTs a signed view_submission payload to `url`. */
  submit(options: SubmitOptions): Promise<InteractionResult>;
  /** Re-sends exactly the same bytes and headers (a replay), to `options.url` if given. */
  deliver(raw: RawInteraction, options?: { url?: string }): Promise<InteractionResult>;
  close(): Promise<void>;
}

export interface SlackSimOptions {
  /** Tokens accepted as valid; default `["xoxb-test-token"]`. */
  validTokens?: string[];
  /** The clock for trigger_id (3 s) and response_url (30 min) expiry; default `Date.now`. */
  clock?: () => number;
  /** Channel names for payloads' `channel.name`; default "directmessage" for D… ids, else the id lower-cased. */
  channelNames?: Record<string, string>;
}

export const SIM_TEAM_ID = "T0SIMTEAM";
export const SIM_TEAM_DOMAIN = "patrol-sim";
export const SIM_USER_ID = "U0SIMBOT";
export const SIM_BOT_ID = "B0SIMBOT";
export const SIM_APP_ID = "A0SIMAPP";
/** The legacy verification token sent in payloads' `token` field. */
export const SIM_VERIFICATION_TOKEN = "simVerificationToken0000";
/** How long a trigger_id can open a view. */
export const TRIGGER_TTL_MS = 3000;
/** A response_url's limits. */
export const RESPONSE_URL_MAX_USES = 5;
export const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;

/** Form fields that WebClient JSON-stringifies; decoded back into objects in `SlackCall.args`. */
const JSON_FIELDS = ["blocks", "attachments", "metadata", "view", "files"] as const;

/** Methods Slack answers without a token. */
const NO_AUTH_METHODS = new Set(["api.test"]);

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

interface Trigger {
  id: string;
  issuedAt: number;
  user: { id: string; name: string };
  used: boolean;
}

interface ResponseUrl {
  id: string;
  clickId: string;
  channel: string;
  messageTs: string;
  user: string;
  createdAt: number;
  uses: number;
}

interface PendingFile {
  id: string;
  filename: string;
  length: number;
  bytes?: Buffer;
}

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`, as Slack signs requests. */
export function slackSignature(signingSecret: string, timestamp: number | string, body: string): string {
  return `v0=${createHmac("sha256", signingSecret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
}

export async function startSlackSim(opts: SlackSimOptions = {}): Promise<SlackSim> {
  const validTokens = new Set(opts.validTokens ?? ["xoxb-test-token"]);
  const clock = opts.clock ?? Date.now;
  const calls: SlackCall[] = [];
  const failures: SlackFailure[] = [];
  const delays = new Map<string, number[]>();
  let down = false;
  let seq = 0;
  let idSeq = 0;
  /** Every message posted, per channel, oldest first. */
  const channels = new Map<string, SimMessage[]>();
  const tsBase = Math.floor(Date.now() / 1000);
  const updates: SimMessageUpdate[] = [];
  const ephemerals: SimEphemeral[] = [];
  const views: SimView[] = [];
  const files: SimFile[] = [];
  const uploads: SimUpload[] = [];
  const responses: SimResponse[] = [];
  const interactions: InteractionResult[] = [];
  const users = new Map<string, SlackSimUser>();
  const userGroups = new Map<string, string[]>();
  const dms = new Map<string, string>();
  const triggers = new Map<string, Trigger>();
  const responseUrls = new Map<string, ResponseUrl>();
  const pendingFiles = new Map<string, PendingFile>();
  const timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  let origin = "";

  function nextTs(): string {
    seq += 1;
    return `${tsBase + seq}.${String(seq).padStart(6, "0")}`;
  }

  function nextId(prefix: string): string {
    idSeq += 1;
    return `${prefix}0SIM${String(idSeq).padStart(6, "0")}`;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          timers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      timers.add(entry);
    });
  }

  function takeFailure(method: string): SlackFailure | undefined {
    const index = failures.findIndex((f) => f.method === undefined || f.method === method);
    return index === -1 ? undefined : failures.splice(index, 1)[0];
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

  const ok = (body: Record<string, unknown>): Reply => ({ status: 200, body: { ok: true, ...body } });
  const fail = (error: string): Reply => ({ status: 200, body: { ok: false, error } });

  function dispatch(method: string, token: string | null, args: Record<string, unknown>): Reply {
    if (!NO_AUTH_METHODS.has(method)) {
      if (token === null || token === "") return fail("not_authed");
      if (!validTokens.has(token)) return fail("invalid_auth");
    }
    switch (method) {
      case "api.test":
        return { status: 200, body: { ok: true, args } };
      case "auth.test":
        return {
          status: 200,
          body: {
            ok: true,
            url: `https://${SIM_TEAM_DOMAIN}.slack.com/`,
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
      case "chat.update":
        return chatUpdate(args);
      case "chat.postEphemeral":
        return postEphemeral(args);
      case "conversations.history":
        return history(args);
      case "conversations.open":
        return conversationsOpen(args);
      case "views.open":
        return viewsOpen(args);
      case "files.getUploadURLExternal":
        return getUploadUrl(args);
      case "files.completeUploadExternal":
        return completeUpload(args);
      case "users.info":
        return usersInfo(args);
      case "users.lookupByEmail":
        return lookupByEmail(args);
      case "usergroups.users.list":
        return userGroupUsers(args);
      default:
        return fail("unknown_method");
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
    const message: SimMessage = {
      type: "message",
      subtype: "bot_message",
      text: text ?? "",
      user: SIM_USER_ID,
      bot_id: SIM_BOT_ID,
      team: SIM_TEAM_ID,
      ts,
    };
    if (args.blocks !== undefined) message.blocks = args.blocks as AnyBlock[];
    if (args.attachments !== undefined) message.attachments = args.attachments;
    if (args.metadata !== undefined) message.metadata = args.metadata;
    if (typeof args.thread_ts === "string") message.thread_ts = args.thread_ts;
    channels.set(channel, [...(channels.get(channel) ?? []), message]);
    return { status: 200, body: { ok: true, channel, ts, message } };
  }

  function findMessage(channel: string, ts: string): SimMessage | undefined {
    return channels.get(channel)?.find((m) => m.ts === ts);
  }

  /** Replaces text and/or blocks of a stored message, recording the change. */
  function replaceMessage(
    channel: string,
    message: SimMessage,
    next: { text: string; blocks?: AnyBlock[] },
    via: SimMessageUpdate["via"],
  ): void {
    const before = {
      text: message.text,
      ...(message.blocks !== undefined ? { blocks: message.blocks } : {}),
    };
    message.text = next.text;
    if (next.blocks === undefined || next.blocks.length === 0) delete message.blocks;
    else message.blocks = next.blocks;
    const after = { text: message.text, ...(message.blocks !== undefined ? { blocks: message.blocks } : {}) };
    updates.push({ channel, ts: message.ts, via, before, after, at: Date.now() });
  }

  function chatUpdate(args: Record<string, unknown>): Reply {
    const channel = typeof args.channel === "string" ? args.channel : "";
    const ts = typeof args.ts === "string" ? args.ts : "";
    if (channel === "") return fail("channel_not_found");
    const message = findMessage(channel, ts);
    if (!message) return fail("message_not_found");
    if (args.blocks !== undefined && !Array.isArray(args.blocks)) return fail("invalid_blocks");
    const text = typeof args.text === "string" ? args.text : undefined;
    const blocks = args.blocks as AnyBlock[] | undefined;
    if ((text === undefined || text === "") && (blocks === undefined || blocks.length === 0)) {
      if (args.attachments === undefined) return fail("no_text");
    }
    // As Slack documents: an omitted `blocks` keeps the previous blocks, an empty array removes them.
    const nextBlocks = blocks ?? message.blocks;
    replaceMessage(
      channel,
      message,
      { text: text ?? message.text, ...(nextBlocks !== undefined ? { blocks: nextBlocks } : {}) },
      "chat.update",
    );
    if (args.attachments !== undefined) message.attachments = args.attachments;
    const { metadata: _metadata, ...shown } = message;
    return ok({ channel, ts, text: message.text, message: shown });
  }

  function postEphemeral(args: Record<string, unknown>): Reply {
    const channel = typeof args.channel === "string" ? args.channel : "";
    const user = typeof args.user === "string" ? args.user : "";
    if (channel === "") return fail("channel_not_found");
    if (user === "") return fail("user_not_in_channel");
    const text = typeof args.text === "string" ? args.text : "";
    if (args.blocks !== undefined && !Array.isArray(args.blocks)) return fail("invalid_blocks");
    const blocks = args.blocks as AnyBlock[] | undefined;
    if (text === "" && (blocks === undefined || blocks.length === 0)) return fail("no_text");
    const ts = nextTs();
    ephemerals.push({
      channel,
      user,
      text,
      ...(blocks !== undefined ? { blocks } : {}),
      ts,
      ...(typeof args.thread_ts === "string" ? { threadTs: args.thread_ts } : {}),
      via: "chat.postEphemeral",
      at: Date.now(),
    });
    return ok({ message_ts: ts });
  }

  function history(args: Record<string, unknown>): Reply {
    const channel = typeof args.channel === "string" ? args.channel : "";
    if (!channels.has(channel) && channel === "") {
      return { status: 200, body: { ok: false, error: "channel_not_found" } };
    }
    const oldest = Number(args.oldest ?? 0);
    // `latest` bounds the other end; `inclusive` takes messages at exactly oldest or latest, as Slack does.
    const latest = args.latest === undefined ? Number.POSITIVE_INFINITY : Number(args.latest);
    const inclusive = args.inclusive === true || args.inclusive === "true" || args.inclusive === "1";
    const limit = Math.min(Math.max(Number(args.limit ?? 100) || 100, 1), 999);
    const withMetadata = args.include_all_metadata === true || args.include_all_metadata === "true";
    const newestFirst = [...(channels.get(channel) ?? [])]
      .reverse()
      .filter((m) =>
        inclusive
          ? Number(m.ts) >= oldest && Number(m.ts) <= latest
          : Number(m.ts) > oldest && Number(m.ts) < latest,
      )
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

  function conversationsOpen(args: Record<string, unknown>): Reply {
    const list = typeof args.users === "string" ? args.users : "";
    const ids = [
      ...new Set(
        list
          .split(",")
          .map((u) => u.trim())
          .filter((u) => u !== ""),
      ),
    ].sort();
    if (ids.length === 0) {
      if (typeof args.channel === "string" && args.channel !== "") {
        return ok({ no_op: true, already_open: true, channel: { id: args.channel } });
      }
      return fail("users_list_not_supplied");
    }
    if (ids.length > 8) return fail("too_many_users");
    const key = ids.join(",");
    const existing = dms.get(key);
    if (existing) return ok({ no_op: true, already_open: true, channel: { id: existing } });
    const id = nextId(ids.length === 1 ? "D" : "G");
    dms.set(key, id);
    return ok({ channel: { id } });
  }

  function viewsOpen(args: Record<string, unknown>): Reply {
    const triggerId = typeof args.trigger_id === "string" ? args.trigger_id : "";
    const view = args.view;
    if (view === null || typeof view !== "object" || Array.isArray(view)) return fail("invalid_arguments");
    const v = view as Partial<View> & Record<string, unknown>;
    if (v.type !== "modal" || !Array.isArray(v.blocks)) return fail("invalid_arguments");
    if (typeof v.title !== "object" || v.title === null) return fail("invalid_arguments");
    const trigger = triggers.get(triggerId);
    if (!trigger) return fail("invalid_trigger_id");
    if (trigger.used || clock() - trigger.issuedAt > TRIGGER_TTL_MS) return fail("expired_trigger_id");
    trigger.used = true;
    const id = nextId("V");
    const record: SimView = {
      id,
      type: v.type,
      callback_id: typeof v.callback_id === "string" ? v.callback_id : "",
      private_metadata: typeof v.private_metadata === "string" ? v.private_metadata : "",
      title: v.title,
      ...(v.submit ? { submit: v.submit } : {}),
      ...(v.close ? { close: v.close } : {}),
      blocks: withGeneratedIds(v.blocks, id),
      ...(typeof v.external_id === "string" ? { external_id: v.external_id } : {}),
      hash: viewHash(),
      openedBy: trigger.user,
      triggerId,
      openedAt: clock(),
      previousViewId: null,
      rootViewId: id,
      closed: false,
    };
    views.push(record);
    return ok({ view: { ...v, ...viewJson(record), state: { values: {} } } });
  }

  function viewHash(): string {
    return `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString("hex")}`;
  }

  function viewJson(view: SimView): Omit<ViewSubmissionPayload["view"], "state" | "type"> & { type: string } {
    return {
      id: view.id,
      team_id: SIM_TEAM_ID,
      type: view.type,
      callback_id: view.callback_id,
      private_metadata: view.private_metadata,
      blocks: view.blocks,
      title: view.title ?? { type: "plain_text", text: "" },
      close: view.close ?? null,
      submit: view.submit ?? null,
      hash: view.hash,
      clear_on_close: false,
      notify_on_close: false,
      previous_view_id: view.previousViewId,
      root_view_id: view.rootViewId,
      app_id: SIM_APP_ID,
      external_id: view.external_id ?? "",
      app_installed_team_id: SIM_TEAM_ID,
      bot_id: SIM_BOT_ID,
    };
  }

  function getUploadUrl(args: Record<string, unknown>): Reply {
    const filename = typeof args.filename === "string" ? args.filename : "";
    const length = Number(args.length);
    if (filename === "" || !Number.isInteger(length) || length <= 0) return fail("invalid_arguments");
    const id = nextId("F");
    pendingFiles.set(id, { id, filename, length });
    return ok({ upload_url: `${origin}/upload/${id}`, file_id: id });
  }

  function completeUpload(args: Record<string, unknown>): Reply {
    const list = args.files;
    if (!Array.isArray(list) || list.length === 0) return fail("invalid_arguments");
    const entries: { id: string; title?: string }[] = [];
    for (const entry of list) {
      const id = entry !== null && typeof entry === "object" ? (entry as { id?: unknown }).id : undefined;
      if (typeof id !== "string") return fail("invalid_arguments");
      const title = (entry as { title?: unknown }).title;
      entries.push({ id, ...(typeof title === "string" ? { title } : {}) });
    }
    for (const { id } of entries) {
      if (pendingFiles.get(id)?.bytes === undefined) return fail("file_not_found");
    }
    const channel =
      typeof args.channel_id === "string" && args.channel_id !== "" ? args.channel_id : undefined;
    const threadTs = typeof args.thread_ts === "string" && args.thread_ts !== "" ? args.thread_ts : undefined;
    const initialComment = typeof args.initial_comment === "string" ? args.initial_comment : undefined;
    const done: SimFile[] = [];
    for (const { id, title } of entries) {
      const pending = pendingFiles.get(id) as PendingFile & { bytes: Buffer };
      pendingFiles.delete(id);
      done.push({
        id,
        filename: pending.filename,
        title: title ?? pending.filename,
        ...(channel !== undefined ? { channel } : {}),
        ...(threadTs !== undefined ? { threadTs } : {}),
        ...(initialComment !== undefined ? { initialComment } : {}),
        content: pending.bytes.toString("utf8"),
        bytes: pending.bytes,
        declaredLength: pending.length,
      });
    }
    if (channel !== undefined) {
      // Sharing posts one message carrying the files (and the initial comment) to the channel or thread.
      const ts = nextTs();
      const message: SimMessage = {
        type: "message",
        text: initialComment ?? "",
        user: SIM_USER_ID,
        bot_id: SIM_BOT_ID,
        team: SIM_TEAM_ID,
        ts,
        upload: true,
        files: done.map((f) => ({ id: f.id, name: f.filename, title: f.title, size: f.bytes.length })),
      };
      if (threadTs !== undefined) message.thread_ts = threadTs;
      channels.set(channel, [...(channels.get(channel) ?? []), message]);
      for (const f of done) f.ts = ts;
    }
    files.push(...done);
    return ok({ files: done.map((f) => ({ id: f.id, title: f.title, name: f.filename })) });
  }

  function userJson(user: SlackSimUser): Record<string, unknown> {
    const realName = user.realName ?? user.name;
    return {
      id: user.id,
      team_id: SIM_TEAM_ID,
      name: user.name,
      deleted: false,
      real_name: realName,
      is_bot: false,
      profile: {
        real_name: realName,
        display_name: user.name,
        ...(user.email !== undefined ? { email: user.email } : {}),
      },
    };
  }

  function usersInfo(args: Record<string, unknown>): Reply {
    const user = users.get(typeof args.user === "string" ? args.user : "");
    return user ? ok({ user: userJson(user) }) : fail("user_not_found");
  }

  function lookupByEmail(args: Record<string, unknown>): Reply {
    const email = typeof args.email === "string" ? args.email.trim().toLowerCase() : "";
    if (email === "") return fail("invalid_arguments");
    const user = [...users.values()].find((u) => u.email?.toLowerCase() === email);
    return user ? ok({ user: userJson(user) }) : fail("users_not_found");
  }

  function userGroupUsers(args: Record<string, unknown>): Reply {
    const members = userGroups.get(typeof args.usergroup === "string" ? args.usergroup : "");
    return members ? ok({ users: [...members] }) : fail("no_such_subteam");
  }

  // ---- Upload URLs and response_urls ----

  async function handleUpload(req: IncomingMessage, res: ServerResponse, id: string, raw: Buffer) {
    const pending = pendingFiles.get(id);
    if (req.method !== "POST" || !pending) {
      sendText(res, 404, "Not Found");
      return;
    }
    const contentType = (req.headers["content-type"] ?? "").toLowerCase();
    let bytes = raw;
    if (contentType.startsWith("multipart/form-data")) {
      const form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
      // WebClient sends the bytes as a file part named "body"; take the first file part, else the first field.
      const entries = [...form.values()];
      const part = entries.find((v) => typeof v !== "string") ?? entries[0];
      if (part === undefined) bytes = Buffer.alloc(0);
      else if (typeof part === "string") bytes = Buffer.from(part);
      else bytes = Buffer.from(await part.arrayBuffer());
    }
    pending.bytes = bytes;
    uploads.push({ fileId: id, contentType, bytes, at: Date.now() });
    sendText(res, 200, `OK - ${bytes.length}`);
  }

  function handleResponseUrl(res: ServerResponse, id: string, raw: Buffer): void {
    const entry = responseUrls.get(id);
    if (!entry) {
      sendJson(res, 404, { ok: false, error: "invalid_url" });
      return;
    }
    if (clock() - entry.createdAt > RESPONSE_URL_TTL_MS) {
      sendJson(res, 404, { ok: false, error: "expired_url" });
      return;
    }
    if (entry.uses >= RESPONSE_URL_MAX_USES) {
      sendJson(res, 404, { ok: false, error: "used_too_many_times" });
      return;
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw.toString("utf8"));
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
        throw new Error("not an object");
      body = parsed as Record<string, unknown>;
    } catch {
      sendJson(res, 400, { ok: false, error: "invalid_payload" });
      return;
    }
    const text = typeof body.text === "string" ? body.text : "";
    const blocks = Array.isArray(body.blocks) ? (body.blocks as AnyBlock[]) : undefined;
    const isTrue = (v: unknown) => v === true || v === "true";
    if (!isTrue(body.delete_original) && text === "" && (blocks === undefined || blocks.length === 0)) {
      sendJson(res, 400, { ok: false, error: "no_text" });
      return;
    }
    entry.uses += 1;
    responses.push({ id, body, at: Date.now(), clickId: entry.clickId });
    const list = channels.get(entry.channel) ?? [];
    const message = list.find((m) => m.ts === entry.messageTs);
    if (isTrue(body.delete_original)) {
      if (message)
        channels.set(
          entry.channel,
          list.filter((m) => m !== message),
        );
    } else if (isTrue(body.replace_original)) {
      // A replacement is a whole new message: blocks not sent are gone.
      if (message)
        replaceMessage(entry.channel, message, { text, ...(blocks ? { blocks } : {}) }, "response_url");
    } else if (body.response_type === "in_channel") {
      postMessage({ channel: entry.channel, text, ...(blocks ? { blocks } : {}) });
    } else {
      ephemerals.push({
        channel: entry.channel,
        user: entry.user,
        text,
        ...(blocks ? { blocks } : {}),
        ts: nextTs(),
        via: "response_url",
        at: Date.now(),
      });
    }
    sendJson(res, 200, { ok: true });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const raw = await readBody(req);
    const upload = /^\/upload\/([^/]+)$/.exec(url.pathname);
    const response = /^\/response\/([^/]+)$/.exec(url.pathname);
    if ((upload || response) && down) {
      sendJson(res, 503, { ok: false, error: "service_unavailable" });
      return;
    }
    if (upload?.[1]) {
      await handleUpload(req, res, decodeURIComponent(upload[1]), raw);
      return;
    }
    if (response?.[1]) {
      handleResponseUrl(res, decodeURIComponent(response[1]), raw);
      return;
    }
    if (!url.pathname.startsWith("/api/") || url.pathname.length <= "/api/".length) {
      sendJson(res, 404, { ok: false, error: "not_found" });
      return;
    }
    const method = decodeURIComponent(url.pathname.slice("/api/".length));
    const { token: bodyToken, ...args } = await parseArgs(req, raw, url);
    const token = extractToken(req, bodyToken);
    const arrived = Date.now();

    let reply: Reply;
    if (down) {
      reply = { status: 503, body: { ok: false, error: "service_unavailable" } };
    } else {
      const failure = takeFailure(method);
      reply = failure ? failureReply(failure) : dispatch(method, token, args);
    }

    const body = reply.body as { ok?: unknown; error?: unknown };
    const ok = reply.status === 200 && body.ok === true;
    const call: SlackCall = { method, token, args, at: arrived, status: reply.status, ok };
    if (!ok) call.error = typeof body.error === "string" ? body.error : `http_${reply.status}`;
    calls.push(call);
    const delay = delays.get(method)?.shift();
    if (delay !== undefined && delay > 0) await sleep(delay);
    if (res.destroyed) return;
    sendJson(res, reply.status, reply.body, reply.headers);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: "sim_error", detail: String(err) });
      else res.destroy();
    });
  });
  const port = await listenLoopback(server);
  origin = `http://127.0.0.1:${port}`;

  // ---- Interactions (Slack → app) ----

  function issueTrigger(user: { id: string; name: string }): string {
    const id = `${Math.floor(Date.now() / 1000)}${String(triggers.size + 1).padStart(3, "0")}.${
      100_000_000 + triggers.size
    }.${randomBytes(16).toString("hex")}`;
    triggers.set(id, { id, issuedAt: clock(), user: { ...user }, used: false });
    return id;
  }

  function payloadUser(user: { id: string; name: string }): SlackPayloadUser {
    return { id: user.id, username: user.name, name: user.name, team_id: SIM_TEAM_ID };
  }

  function channelName(id: string): string {
    return opts.channelNames?.[id] ?? (id.startsWith("D") ? "directmessage" : id.toLowerCase());
  }

  function findButtonTarget(options: ClickOptions): {
    channel: string;
    message: SimMessage;
    blocks: AnyBlock[];
    button: FoundButton;
  } {
    const candidates: { channel: string; message: SimMessage }[] = [];
    for (const [channel, list] of channels) {
      if (options.channel !== undefined && channel !== options.channel) continue;
      for (const message of list) {
        if (options.messageTs === undefined || message.ts === options.messageTs)
          candidates.push({ channel, message });
      }
    }
    candidates.sort((a, b) => compareTs(b.message.ts, a.message.ts));
    const seen = new Set<string>();
    for (const { channel, message } of candidates) {
      const blocks = withGeneratedIds(message.blocks ?? [], message.ts);
      const buttons = buttonsIn(blocks);
      for (const b of buttons) seen.add(describeButton(b));
      const button = buttons.find(
        (b) =>
          b.button.text.text === options.label &&
          (options.blockId === undefined || b.blockId === options.blockId),
      );
      if (button) return { channel, message, blocks, button };
    }
    const where =
      options.messageTs !== undefined
        ? `message ${options.messageTs}${options.channel ? ` in ${options.channel}` : ""}`
        : options.channel !== undefined
          ? `channel ${options.channel}`
          : "any recorded message";
    if (candidates.length === 0) {
      throw new Error(`click: no recorded message matches (${where})`);
    }
    const wanted = `"${options.label}"${options.blockId !== undefined ? ` in block ${options.blockId}` : ""}`;
    const labels = [...seen];
    throw new Error(
      `click: no button ${wanted} in ${where}; buttons there: ${labels.length ? labels.join(", ") : "(none)"}`,
    );
  }

  async function send(
    url: string,
    signingSecret: string,
    payload: BlockActionsPayload | ViewSubmissionPayload,
    options: { at?: Date; tamper?: Tamper; retryNum?: number },
  ): Promise<InteractionResult> {
    const encode = (p: unknown) => new URLSearchParams({ payload: JSON.stringify(p) }).toString();
    const signedBody = encode(payload);
    const timestamp = Math.floor((options.at?.getTime() ?? Date.now()) / 1000);
    const secret = options.tamper === "signature" ? `${signingSecret}-wrong` : signingSecret;
    const headers: Record<string, string> = {
      "content-type": "application/x-www-form-urlencoded",
      "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
      accept: "application/json,*/*",
      "x-slack-request-timestamp": String(timestamp),
      "x-slack-signature": slackSignature(secret, timestamp, signedBody),
    };
    if (options.tamper === "missing-timestamp") delete headers["x-slack-request-timestamp"];
    if (options.tamper === "missing-signature") delete headers["x-slack-signature"];
    if (options.retryNum !== undefined) {
      headers["x-slack-retry-num"] = String(options.retryNum);
      headers["x-slack-retry-reason"] = "http_timeout";
    }
    let body = signedBody;
    if (options.tamper === "body") {
      // Changed after signing: someone rewrote who clicked.
      const altered = JSON.parse(JSON.stringify(payload)) as { user: SlackPayloadUser };
      altered.user.id = "U0TAMPERED";
      body = encode(altered);
    }
    return deliver({ url, headers, body });
  }

  async function deliver(raw: RawInteraction, options: { url?: string } = {}): Promise<InteractionResult> {
    const target = { url: options.url ?? raw.url, headers: { ...raw.headers }, body: raw.body };
    const started = performance.now();
    const res = await fetch(target.url, { method: "POST", headers: target.headers, body: target.body });
    const text = await res.text();
    const ms = performance.now() - started;
    let payload: Record<string, unknown> = {};
    try {
      const json = new URLSearchParams(target.body).get("payload");
      if (json !== null) payload = JSON.parse(json) as Record<string, unknown>;
    } catch {
      payload = {};
    }
    const result: InteractionResult = {
      status: res.status,
      body: text,
      headers: Object.fromEntries(res.headers.entries()),
      ms,
      raw: target,
      payload,
    };
    interactions.push(result);
    return result;
  }

  async function click(options: ClickOptions): Promise<InteractionResult> {
    const { channel, message, blocks, button } = findButtonTarget(options);
    const triggerId = issueTrigger(options.user);
    const clickId = `click-${interactions.length + 1}-${randomBytes(3).toString("hex")}`;
    const responseId = randomBytes(12).toString("hex");
    responseUrls.set(responseId, {
      id: responseId,
      clickId,
      channel,
      messageTs: message.ts,
      user: options.user.id,
      createdAt: clock(),
      uses: 0,
    });
    const actionTs = ((options.at?.getTime() ?? Date.now()) / 1000).toFixed(6);
    const action: ButtonAction = {
      action_id: button.actionId,
      block_id: button.blockId,
      ...(button.button.value !== undefined ? { value: button.button.value } : {}),
      type: "button",
      action_ts: actionTs,
      text: { type: "plain_text", text: button.button.text.text, emoji: button.button.text.emoji ?? true },
      ...(button.button.style !== undefined ? { style: button.button.style } : {}),
    };
    const payload: BlockActionsPayload = {
      type: "block_actions",
      user: payloadUser(options.user),
      api_app_id: SIM_APP_ID,
      token: SIM_VERIFICATION_TOKEN,
      container: { type: "message", message_ts: message.ts, channel_id: channel, is_ephemeral: false },
      trigger_id: triggerId,
      team: { id: SIM_TEAM_ID, domain: SIM_TEAM_DOMAIN },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: channel, name: channelName(channel) },
      message: {
        type: "message",
        user: typeof message.user === "string" ? message.user : SIM_USER_ID,
        ts: message.ts,
        text: message.text,
        blocks,
        bot_id: typeof message.bot_id === "string" ? message.bot_id : SIM_BOT_ID,
        app_id: SIM_APP_ID,
        team: SIM_TEAM_ID,
        ...(typeof message.thread_ts === "string" ? { thread_ts: message.thread_ts } : {}),
        ...(Array.isArray(message.attachments) ? { attachments: message.attachments } : {}),
      },
      state: { values: {} },
      response_url: `${origin}/response/${responseId}`,
      actions: [action],
    };
    const result = await send(options.url, options.signingSecret, payload, options);
    result.clickId = clickId;
    return result;
  }

  async function submit(options: SubmitOptions): Promise<InteractionResult> {
    const view = views.find((v) => v.id === options.viewId);
    if (!view)
      throw new Error(`submit: no view ${options.viewId}; views: ${views.map((v) => v.id).join(", ")}`);
    if (view.closed) throw new Error(`submit: view ${view.id} is closed`);
    const state = viewState(view.blocks, options.values);
    const base = viewJson(view);
    const payload: ViewSubmissionPayload = {
      type: "view_submission",
      team: { id: SIM_TEAM_ID, domain: SIM_TEAM_DOMAIN },
      user: payloadUser(options.user),
      api_app_id: SIM_APP_ID,
      token: SIM_VERIFICATION_TOKEN,
      trigger_id: issueTrigger(options.user),
      view: { ...base, type: "modal", state },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    const result = await send(options.url, options.signingSecret, payload, options);
    if (result.status === 200) applyResponseAction(view, result.body);
    return result;
  }

  /** What Slack does with the answer to a view_submission. */
  function applyResponseAction(view: SimView, body: string): void {
    if (body.trim() === "") {
      view.closed = true;
      return;
    }
    let answer: { response_action?: unknown; view?: unknown };
    try {
      answer = JSON.parse(body) as typeof answer;
    } catch {
      return; // Slack shows the user an error and keeps the view open.
    }
    const next = answer.view as (Partial<View> & Record<string, unknown>) | undefined;
    switch (answer.response_action) {
      case "errors":
        return;
      case "clear":
        for (const v of views) if (v.rootViewId === view.rootViewId) v.closed = true;
        return;
      case "update":
        if (next && Array.isArray(next.blocks)) {
          view.blocks = withGeneratedIds(next.blocks, view.id);
          if (next.type === "modal" && next.title) view.title = next.title;
          if (typeof next.callback_id === "string") view.callback_id = next.callback_id;
          if (typeof next.private_metadata === "string") view.private_metadata = next.private_metadata;
          view.hash = viewHash();
        }
        return;
      case "push":
        if (next && Array.isArray(next.blocks)) {
          const id = nextId("V");
          views.push({
            id,
            type: typeof next.type === "string" ? next.type : "modal",
            callback_id: typeof next.callback_id === "string" ? next.callback_id : "",
            private_metadata: typeof next.private_metadata === "string" ? next.private_metadata : "",
            ...(next.type === "modal" && next.title ? { title: next.title } : {}),
            blocks: withGeneratedIds(next.blocks, id),
            hash: viewHash(),
            openedBy: view.openedBy,
            triggerId: "",
            openedAt: clock(),
            previousViewId: view.id,
            rootViewId: view.rootViewId,
            closed: false,
          });
        }
        return;
      default:
        view.closed = true;
    }
  }

  return {
    url: `${origin}/api/`,
    calls,
    posts: () => calls.filter((c) => c.method === "chat.postMessage" && c.ok),
    messages(channel) {
      if (channel !== undefined) return [...(channels.get(channel) ?? [])];
      return [...channels.values()].flat().sort((a, b) => compareTs(a.ts, b.ts));
    },
    dmsTo(userId) {
      const channel = dms.get(userId);
      return channel ? [...(channels.get(channel) ?? [])] : [];
    },
    updates,
    ephemerals,
    views,
    files,
    uploads,
    responses,
    interactions,
    failNext(n, how) {
      for (let i = 0; i < n; i++) failures.push({ ...how });
    },
    delayNext(method, ms) {
      delays.set(method, [...(delays.get(method) ?? []), ms]);
    },
    setDown(value) {
      down = value;
    },
    addUser(user) {
      users.set(user.id, { ...user });
    },
    addUserGroup(id, userIds) {
      userGroups.set(id, [...userIds]);
    },
    click,
    submit,
    deliver,
    close: async () => {
      for (const entry of timers) {
        clearTimeout(entry.timer);
        entry.resolve();
      }
      timers.clear();
      await closeServer(server);
    },
  };
}

// ---- Blocks ----

interface FoundButton {
  button: Button;
  blockId: string;
  actionId: string;
}

function buttonsIn(blocks: AnyBlock[]): FoundButton[] {
  const found: FoundButton[] = [];
  for (const block of blocks) {
    const blockId = block.block_id ?? "";
    if (block.type === "actions") {
      for (const element of (block as ActionsBlock).elements ?? []) {
        if (element.type === "button")
          found.push({ button: element, blockId, actionId: element.action_id ?? "" });
      }
    } else if (block.type === "section") {
      const accessory = (block as SectionBlock).accessory;
      if (accessory?.type === "button")
        found.push({ button: accessory, blockId, actionId: accessory.action_id ?? "" });
    }
  }
  return found;
}

function describeButton(b: FoundButton): string {
  return `"${b.button.text.text}" (block ${b.blockId}, action ${b.actionId})`;
}

/** A short id derived from a seed, shaped like the ones Slack generates for blocks and actions without one. */
function generatedId(seed: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const digest = createHmac("sha256", "slack-sim").update(seed).digest();
  return [...digest.subarray(0, 5)].map((b) => alphabet[b % alphabet.length]).join("");
}

/** A copy of `blocks` with missing `block_id`s and interactive elements' `action_id`s filled in, as Slack does. */
function withGeneratedIds(blocks: AnyBlock[], seed: string): AnyBlock[] {
  return (JSON.parse(JSON.stringify(blocks)) as AnyBlock[]).map((block, i) => {
    if (block.block_id === undefined) block.block_id = generatedId(`${seed}:${i}`);
    const fill = (element: { type: string; action_id?: string } | undefined, j: number) => {
      if (element && element.type !== "image" && element.action_id === undefined) {
        element.action_id = generatedId(`${seed}:${i}:${j}`);
      }
    };
    if (block.type === "actions") {
      for (const [j, e] of ((block as ActionsBlock).elements ?? []).entries()) fill(e, j);
    } else if (block.type === "section") fill((block as SectionBlock).accessory, 0);
    else if (block.type === "input") fill((block as InputBlock).element, 0);
    return block;
  });
}

/** The `state` Slack sends with a view_submission, from the view's input blocks and the values typed. */
function viewState(blocks: AnyBlock[], given: Record<string, string>): ViewState {
  const values: ViewState["values"] = {};
  const used = new Set<string>();
  const known: string[] = [];
  for (const block of blocks) {
    if (block.type !== "input") continue;
    const input = block as InputBlock;
    const element = input.element;
    const blockId = input.block_id ?? "";
    const actionId = element.action_id ?? "";
    known.push(actionId);
    let value: string | undefined;
    if (actionId in given) {
      value = given[actionId];
      used.add(actionId);
    } else if (blockId in given) {
      value = given[blockId];
      used.add(blockId);
    }
    values[blockId] = { [actionId]: elementState(element, value) };
  }
  const unknown = Object.keys(given).filter((k) => !used.has(k));
  if (unknown.length > 0) {
    throw new Error(`submit: no input with action_id ${unknown.join(", ")}; inputs: ${known.join(", ")}`);
  }
  return { values };
}

function elementState(element: InputBlock["element"], value: string | undefined): ViewStateValue {
  const list = (v: string) =>
    v
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  switch (element.type) {
    case "plain_text_input":
    case "number_input":
    case "email_text_input":
    case "url_text_input":
      return { type: element.type, value: value ?? element.initial_value ?? null };
    case "datepicker":
      return { type: element.type, selected_date: value ?? element.initial_date ?? null };
    case "timepicker":
      return { type: element.type, selected_time: value ?? element.initial_time ?? null };
    case "users_select":
      return { type: element.type, selected_user: value ?? element.initial_user ?? null };
    case "multi_users_select":
      return {
        type: element.type,
        selected_users: value !== undefined ? list(value) : (element.initial_users ?? []),
      };
    case "conversations_select":
      return { type: element.type, selected_conversation: value ?? element.initial_conversation ?? null };
    case "channels_select":
      return { type: element.type, selected_channel: value ?? element.initial_channel ?? null };
    case "static_select": {
      if (value === undefined) return { type: element.type, selected_option: element.initial_option ?? null };
      return { type: element.type, selected_option: plainOption(findOption(staticOptions(element), value)) };
    }
    case "radio_buttons":
      if (value === undefined) return { type: element.type, selected_option: element.initial_option ?? null };
      return { type: element.type, selected_option: findOption(element.options ?? [], value) };
    case "checkboxes":
      if (value === undefined) return { type: element.type, selected_options: element.initial_options ?? [] };
      return {
        type: element.type,
        selected_options: list(value).map((v) => findOption(element.options ?? [], v)),
      };
    case "multi_static_select": {
      if (value === undefined) return { type: element.type, selected_options: element.initial_options ?? [] };
      const options = [
        ...(element.options ?? []),
        ...(element.option_groups ?? []).flatMap((g) => g.options),
      ];
      return {
        type: element.type,
        selected_options: list(value).map((v) => plainOption(findOption(options, v))),
      };
    }
    default:
      return { type: element.type, value: value ?? null };
  }
}

function staticOptions(element: StaticSelect): PlainTextOption[] {
  return [...(element.options ?? []), ...(element.option_groups ?? []).flatMap((g) => g.options)];
}

function findOption<T extends Option>(options: T[], value: string): T {
  const option = options.find((o) => o.value === value);
  if (!option) {
    throw new Error(`submit: no option "${value}"; options: ${options.map((o) => o.value).join(", ")}`);
  }
  return option;
}

function plainOption(option: PlainTextOption): PlainTextOption {
  return {
    text: { type: "plain_text", text: option.text.text, emoji: option.text.emoji ?? true },
    ...(option.value !== undefined ? { value: option.value } : {}),
  };
}

/** Orders Slack timestamps ("seconds.micros") numerically, without float rounding. */
function compareTs(a: string, b: string): number {
  const [as = "0", af = ""] = a.split(".");
  const [bs = "0", bf = ""] = b.split(".");
  const seconds = Number(as) - Number(bs);
  if (seconds !== 0) return seconds;
  return Number(af.padEnd(6, "0")) - Number(bf.padEnd(6, "0"));
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text).toString(),
  });
  res.end(text);
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
