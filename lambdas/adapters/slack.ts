import { type KnownBlock, WebClient } from "@slack/web-api";
import type { Notifier } from "../app/ports";

export class SlackError extends Error {
  override name = "SlackError";
}

export interface SlackOptions {
  token: string;
  channel: string;
  /** Slack's API base (`SLACK_API_URL`), e.g. a simulator's; defaults to Slack's own. */
  apiUrl?: string;
  /** Retries after a failure or a 429; kept small so an outage cannot hold a Lambda for long. */
  retries?: number;
}

/** Sends Block Kit messages with `@slack/web-api`. The token is in the client, never in a message or error. */
export function makeSlackNotifier(options: SlackOptions): Notifier {
  const client = new WebClient(options.token, {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    retryConfig: { retries: options.retries ?? 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
    rejectRateLimitedCalls: false,
    timeout: 10_000,
  });
  return {
    async post(message) {
      try {
        await client.chat.postMessage({
          channel: options.channel,
          text: message.text,
          blocks: message.blocks as unknown as KnownBlock[],
        });
      } catch (error) {
        const data = (error as { data?: { error?: string } }).data;
        const detail = data?.error ?? (error instanceof Error ? error.message : String(error));
        throw new SlackError(`posting to Slack channel ${options.channel} failed: ${detail}`);
      }
    },
  };
}
