import type { SlackMessage } from "../core/digest";
import { messageOf } from "./log";
import type { Notifier } from "./ports";

/** What a report says of Slack, and the failures it lists. */
interface TellsSlack {
  slack: { sent: boolean; skipped?: string; error?: string };
  /** Any report's errors: this pushes only a `slack` one. */
  errors: { stage: string; message: string }[];
}

/**
 * Slack last, after the work: never before it and never instead of it. A failure to post is reported (the
 * work stands: `regardless` says what was done anyway), never thrown.
 */
export async function tellSlackLast(
  notifier: Notifier | undefined,
  report: TellsSlack,
  message: () => SlackMessage,
  regardless: string,
): Promise<void> {
  if (!notifier) {
    report.slack.skipped = "Slack is not configured";
    return;
  }
  try {
    await notifier.post(message());
    report.slack.sent = true;
  } catch (error) {
    report.slack.error = messageOf(error);
    report.errors.push({ stage: "slack", message: `${messageOf(error)}; ${regardless}` });
  }
}
