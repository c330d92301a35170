import type { KnownBlock } from "@slack/types";
import { ErrorCode, WebClient } from "@slack/web-api";
import { type Budget, unbounded } from "../app/budget";
import { FIND_WINDOW_MS, type Notifier, type PostedMessage, type SlackConsole } from "../app/ports";

export class SlackError extends Error {
  override name = "SlackError";
  constructor(
    message: string,
    /** Whether Slack may have the message all the same (an answer was lost and not looked for). */
    readonly maybePosted = false,
  ) {
    super(message);
  }
}

export interface SlackOptions {
  token: string;
  channel: string;
  /** Slack's API base (`SLACK_API_URL`), e.g. a simulator's; defaults to Slack's own. */
  apiUrl?: string;
  /** Tries after the first, for a 429, a 5xx or a lost answer; each one only if the budget holds it. */
  retries?: number;
  /** How long one try may take (default 10 s). */
  timeoutMs?: number;
  /** The run's budget: no wait outlives it, no call starts after it. */
  budget?: Budget;
}

export const SLACK_TIMEOUT_MS = 10_000;
/** The metadata type patrol's messages carry, so that a message can be found again by its key. */
const EVENT_TYPE = "patrol_message";
/** A message is looked for within the port's window, 200 messages a page, five pages at most. */
const HISTORY_PAGES = 5;

interface SlackFailure {
  code?: string;
  data?: { error?: string };
  retryAfter?: number;
  statusCode?: number;
  original?: unknown;
}

/** Whether a failed call may have reached Slack (its answer lost, late or a 5xx): the message may be there. */
function answerLost(error: SlackFailure): boolean {
  if (error.code === ErrorCode.RequestError) return true;
  return error.code === ErrorCode.HTTPError && (error.statusCode ?? 0) >= 500;
}

function detailOf(error: unknown): string {
  const failure = error as SlackFailure;
  if (failure.data?.error) return failure.data.error;
  if (failure.code === ErrorCode.RateLimitedError)
    return `rate limited (retry after ${failure.retryAfter} s)`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The Web API client every Slack port uses: each try through `fetch` bounded by `timeoutMs` and the
 * budget, the client's own retries off (the port decides what to try again), a 429 handed back at once.
 */
function boundedClient(options: Pick<SlackOptions, "token" | "apiUrl" | "timeoutMs" | "budget">) {
  const budget = options.budget ?? unbounded();
  const fetch = budget.fetch(options.timeoutMs ?? SLACK_TIMEOUT_MS);
  const client = new WebClient(options.token, {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    fetch,
  });
  return { budget, client, fetch };
}

/**
 * Sends Block Kit messages with `@slack/web-api`. The token is in the client, never in a message or error.
 * The client's own retries are off: each try is bounded by `timeoutMs` and the budget, a 429's
 * `retry-after` is waited only when the budget holds it, and a try whose answer was lost is followed by a
 * look for the message (by its key) before it is posted again, so one digest is never two.
 */
export function makeSlackNotifier(options: SlackOptions): Notifier {
  const retries = options.retries ?? 2;
  const { budget, client } = boundedClient(options);
  const failed = (what: string, error: unknown, maybePosted = false) =>
    new SlackError(`${what} Slack channel ${options.channel} failed: ${detailOf(error)}`, maybePosted);

  async function find(key: string): Promise<PostedMessage | null> {
    let cursor: string | undefined;
    const oldest = String((Date.now() - FIND_WINDOW_MS) / 1000);
    for (let page = 0; page < HISTORY_PAGES; page++) {
      const history = await budget.race(
        client.conversations.history({
          channel: options.channel,
          oldest,
          limit: 200,
          include_all_metadata: true,
          ...(cursor ? { cursor } : {}),
        }),
      );
      const found = history.messages?.find(
        (m) =>
          m.metadata?.event_type === EVENT_TYPE &&
          (m.metadata.event_payload as Record<string, unknown> | undefined)?.key === key,
      );
      if (found?.ts) return { channel: options.channel, ts: found.ts };
      cursor = history.response_metadata?.next_cursor || undefined;
      if (!cursor) return null;
    }
    return null;
  }

  return {
    async post(message, postOptions = {}) {
      const { key } = postOptions;
      // Whether an earlier try's answer was lost and not since found missing: Slack may have the message.
      let unsure = false;
      for (let attempt = 0; ; attempt++) {
        try {
          const posted = await budget.race(
            client.chat.postMessage({
              channel: options.channel,
              text: message.text,
              blocks: message.blocks,
              ...(key ? { metadata: { event_type: EVENT_TYPE, event_payload: { key } } } : {}),
            }),
          );
          return { channel: posted.channel ?? options.channel, ts: posted.ts ?? "" };
        } catch (error) {
          const failure = error as SlackFailure;
          const lost = answerLost(failure) || (error as { name?: string }).name === "AbortError";
          if (attempt >= retries || budget.stopped) throw failed("posting to", error, unsure || lost);
          if (failure.code === ErrorCode.RateLimitedError) {
            const waitMs = (failure.retryAfter ?? 1) * 1000;
            if (!budget.fits(waitMs)) {
              throw new SlackError(
                `posting to Slack channel ${options.channel} failed: Slack asked to wait ${failure.retryAfter} s, more than the run has left (${Math.round(budget.remaining() / 1000)} s)`,
                unsure,
              );
            }
            await budget.sleep(waitMs);
            continue;
          }
          if (!lost) throw failed("posting to", error, unsure);
          // The message may have reached Slack though its answer did not reach us: look before posting again.
          unsure = true;
          if (key) {
            let there: PostedMessage | null;
            try {
              there = await find(key);
            } catch (lookError) {
              throw failed("looking for the message just posted in", lookError, true);
            }
            if (there) return there;
            unsure = false;
          }
          const backoffMs = 200 * 2 ** attempt;
          if (!budget.fits(backoffMs)) throw failed("posting to", error, unsure);
          await budget.sleep(backoffMs);
        }
      }
    },

    async find(key) {
      try {
        return await find(key);
      } catch (error) {
        throw failed("reading the history of", error);
      }
    },

    async attach(to, file) {
      try {
        await budget.race(
          client.filesUploadV2({
            channel_id: to.channel,
            thread_ts: to.ts,
            filename: file.filename,
            title: file.title,
            initial_comment: file.comment,
            file: Buffer.from(file.content, "utf8"),
          }),
        );
      } catch (error) {
        throw failed("attaching a file in", error);
      }
    },
  };
}

/**
 * The console side of Slack, for the interactivity handler and its worker: update a message, answer a
 * click through its `response_url`, open a modal, read a user group, send a DM, find a user by email.
 * Each call is one try bounded by `timeoutMs` and the budget; a 429 is waited once if the budget holds it.
 */
export function makeSlackConsole(options: Omit<SlackOptions, "channel" | "retries">): SlackConsole {
  const { budget, client, fetch } = boundedClient(options);
  async function call<T>(what: string, send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await budget.race(send());
      } catch (error) {
        const failure = error as SlackFailure;
        const waitMs = (failure.retryAfter ?? 1) * 1000;
        if (attempt === 0 && failure.code === ErrorCode.RateLimitedError && budget.fits(waitMs)) {
          await budget.sleep(waitMs);
          continue;
        }
        throw new SlackError(`${what} failed: ${detailOf(error)}`);
      }
    }
  }
  return {
    async update(to, message) {
      await call(`updating message ${to.ts} in Slack channel ${to.channel}`, () =>
        client.chat.update({ channel: to.channel, ts: to.ts, text: message.text, blocks: message.blocks }),
      );
    },
    async read(at) {
      const res = await call(`reading message ${at.ts} in Slack channel ${at.channel}`, () =>
        client.conversations.history({ channel: at.channel, latest: at.ts, inclusive: true, limit: 1 }),
      );
      const message = res.messages?.find((m) => m.ts === at.ts);
      return message ? ((message.blocks ?? []) as KnownBlock[]) : null;
    },
    async respond(responseUrl, text) {
      const response = await call("answering the click in Slack", async () => {
        const res = await fetch(responseUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            text,
            response_type: "ephemeral",
            replace_original: false,
          }),
        });
        return { status: res.status, body: await res.text() };
      });
      if (response.status !== 200) {
        throw new SlackError(
          `answering the click in Slack failed: HTTP ${response.status} ${response.body.slice(0, 200)}`,
        );
      }
    },
    async openView(triggerId, view) {
      await call("opening a modal in Slack", () => client.views.open({ trigger_id: triggerId, view }));
    },
    async membersOf(groupId) {
      const res = await call(`reading Slack user group ${groupId}`, () =>
        client.usergroups.users.list({ usergroup: groupId }),
      );
      return res.users ?? [];
    },
    async dm(userId, message) {
      const opened = await call(`opening a DM with ${userId} in Slack`, () =>
        client.conversations.open({ users: userId }),
      );
      const channel = opened.channel?.id;
      if (!channel) throw new SlackError(`opening a DM with ${userId} in Slack failed: no channel id`);
      const posted = await call(`sending a DM to ${userId} in Slack`, () =>
        client.chat.postMessage({ channel, text: message.text, blocks: message.blocks }),
      );
      return { channel, ts: posted.ts ?? "" };
    },
    async userByEmail(email) {
      try {
        const res = await budget.race(client.users.lookupByEmail({ email }));
        return res.user?.id ?? null;
      } catch (error) {
        if ((error as SlackFailure).data?.error === "users_not_found") return null;
        throw new SlackError(`looking up a Slack user by email failed: ${detailOf(error)}`);
      }
    },
  };
}
