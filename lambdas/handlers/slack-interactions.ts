import { Logger } from "@aws-lambda-powertools/logger";
import type { KnownBlock } from "@slack/types";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { type Budget, runBudget } from "../app/budget";
import { messageOf } from "../app/log";
import type { SlackConsole } from "../app/ports";
import { secretOrValue } from "../app/secrets";
import type { SlackWork } from "../app/slack-action";
import { ConfigError, parseApproversEnv, parseEnv } from "../config";
import {
  ACTIONS,
  type Approvers,
  type ModalContext,
  mayAct,
  modalView,
  notAllowed,
} from "../core/slack-console";
import {
  type Click,
  InteractionError,
  MAX_BODY_BYTES,
  parseInteraction,
  readSubmission,
  verifySlackSignature,
} from "../core/slack-request";

import { type Answer, answer, rawBody } from "./function-url";

const logger = new Logger({ serviceName: "patrol" });

/** Slack waits 3 s for the answer; what the endpoint does itself ends well inside that. */
export const ACK_BUDGET_MS = 2_500;

export interface InteractionsDeps {
  signingSecret: string;
  approvers: Approvers;
  /** Bound to one request's budget. */
  slackConsole: (budget: Budget) => SlackConsole;
  /** Hands the work to the worker, asynchronously. */
  dispatch: (work: SlackWork) => Promise<void>;
}

type Result = Answer;

/**
 * Slack's interactivity endpoint (a Lambda Function URL). The signature is checked on the raw body before
 * anything is parsed; then a click is handed to the worker (or, for a button that opens a modal, the modal
 * is opened: its trigger lasts 3 s), a submission is checked and handed on, and Slack gets its 200 within
 * its 3 seconds. Nothing here changes the ledger or GitHub: the worker does, once per click.
 */
export function makeInteractionsHandler(
  getDeps: () => Promise<InteractionsDeps>,
  clock: () => Date = () => new Date(),
) {
  return async (event: APIGatewayProxyEventV2, context?: Context): Promise<Result> => {
    if (context) logger.addContext(context);
    const raw = rawBody(event);
    if (raw.length > MAX_BODY_BYTES) return answer(413, `body over ${MAX_BODY_BYTES} bytes`);
    const deps = await getDeps();
    const verdict = verifySlackSignature(deps.signingSecret, event.headers ?? {}, raw, clock());
    if (!verdict.ok) {
      logger.warn("refused an unsigned or stale Slack request", { reason: verdict.reason });
      return answer(401, `refused: ${verdict.reason}`);
    }
    let interaction: ReturnType<typeof parseInteraction>;
    try {
      interaction = parseInteraction(raw);
    } catch (error) {
      if (!(error instanceof InteractionError)) throw error;
      logger.warn("refused a malformed Slack interaction", { reason: error.message });
      return answer(400, error.message);
    }
    if (interaction.type === "ignored") return answer(200);
    // Slack's 3 s, not Lambda's timeout, bounds what the endpoint does itself.
    const budget = runBudget(
      Math.min(ACK_BUDGET_MS, (context?.getRemainingTimeInMillis() ?? ACK_BUDGET_MS) - 200),
    );
    // The work (authorizing, opening a modal, handing on) ends a third early: should it fail or hang, the
    // rest of Slack's 3 s is left to tell the clicker so through the click's response_url.
    const slack = deps.slackConsole(budget.work);
    let handingOn = false;
    try {
      const retry = event.headers?.["x-slack-retry-num"];
      logger.info("Slack interaction", {
        type: interaction.type,
        user: interaction.user.id,
        ...(retry ? { slackRetry: retry } : {}),
      });
      if (interaction.type === "submission") {
        const { errors } = readSubmission(interaction);
        if (Object.keys(errors).length > 0)
          return answer(200, JSON.stringify({ response_action: "errors", errors }), true);
        handingOn = true;
        await deps.dispatch({
          dedupeKey: `submit:${interaction.viewId}:${interaction.user.id}`,
          work: interaction,
        });
        return answer(200);
      }
      const spec = ACTIONS[interaction.action];
      if ("modal" in spec && spec.modal) {
        await openModal(deps, slack, interaction);
        return answer(200);
      }
      handingOn = true;
      await deps.dispatch({
        dedupeKey: `click:${interaction.channel}:${interaction.messageTs}:${interaction.blockId}:${interaction.action}:${interaction.user.id}`,
        work: interaction,
      });
      return answer(200);
    } catch (error) {
      logger.error("a Slack interaction could not be handed on", { error: messageOf(error) });
      if (interaction.type === "click" && interaction.responseUrl) {
        await deps
          .slackConsole(budget)
          .respond(
            interaction.responseUrl,
            // A hand-off that timed out may still have reached the worker: only a modal's failure is sure.
            handingOn
              ? `patrol could not hand that on: ${messageOf(error)}. Try again: however often a click arrives, it is carried out once.`
              : `patrol could not act on that: ${messageOf(error)}. Nothing was changed; try again.`,
          )
          .catch(() => undefined);
      }
      return answer(200);
    } finally {
      budget.end();
    }
  };
}

/** The item's text above its buttons, as the modal's heading. */
function itemText(click: Click): string {
  const blocks = click.message.blocks as KnownBlock[];
  const at = blocks.findIndex((b) => b.type === "actions" && b.block_id === click.blockId);
  const before = at > 0 ? blocks[at - 1] : undefined;
  return before?.type === "section" && before.text ? (before.text.text.split("\n")[0] ?? "") : "";
}

async function openModal(deps: InteractionsDeps, slack: SlackConsole, click: Click): Promise<void> {
  const spec = ACTIONS[click.action];
  const allowed = await mayAct(deps.approvers, spec.kind, click.user.id, (group) => slack.membersOf(group));
  if (!allowed) {
    if (click.responseUrl) {
      await slack.respond(click.responseUrl, notAllowed(click.action));
    }
    return;
  }
  if (!click.triggerId) throw new InteractionError("the click carries no trigger_id to open a modal with");
  const context: ModalContext = {
    action: click.action as ModalContext["action"],
    org: click.org,
    entryId: click.entryId,
    channel: click.channel,
    messageTs: click.messageTs,
    blockId: click.blockId,
  };
  const heading = itemText(click) || `${click.entryId} in ${click.org}`;
  await slack.openView(click.triggerId, modalView(context, { heading }, click.user.id));
}

/** The endpoint's deps from the environment, once per cold start: the signing secret and the Slack token. */
export function lazyInteractionsDeps(): () => Promise<InteractionsDeps> {
  let deps: Promise<InteractionsDeps> | undefined;
  return () => {
    deps ??= build().catch((error: unknown) => {
      deps = undefined;
      throw error;
    });
    return deps;
  };
}

async function build(): Promise<InteractionsDeps> {
  const env = parseEnv(process.env);
  const approvers = parseApproversEnv(env);
  if (!env.PATROL_SLACK_WORKER) throw new ConfigError("invalid environment: PATROL_SLACK_WORKER is required");
  const [signingSecret, token] = await Promise.all([
    secretOrValue(env.SLACK_SIGNING_SECRET_ARN, env.SLACK_SIGNING_SECRET),
    secretOrValue(env.SLACK_BOT_TOKEN_SECRET_ARN, env.SLACK_BOT_TOKEN),
  ]);
  if (!signingSecret)
    throw new ConfigError(
      "invalid environment: SLACK_SIGNING_SECRET or SLACK_SIGNING_SECRET_ARN is required",
    );
  if (!token)
    throw new ConfigError("invalid environment: SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_SECRET_ARN is required");
  const [{ makeSlackConsole }, { makeAsyncInvoker }] = await Promise.all([
    import("../adapters/slack"),
    import("../adapters/lambda-invoke"),
  ]);
  const invoke = makeAsyncInvoker(env.PATROL_SLACK_WORKER);
  return {
    signingSecret: signingSecret.trim(),
    approvers,
    slackConsole: (budget) =>
      makeSlackConsole({ token: token.trim(), apiUrl: env.SLACK_API_URL, budget, timeoutMs: 2_000 }),
    dispatch: invoke,
  };
}

export const handler = makeInteractionsHandler(lazyInteractionsDeps());
