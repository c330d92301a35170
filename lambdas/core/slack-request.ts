/**
 * An interactivity request as Slack sends it: verified on the raw body before anything is read (v0 HMAC-
 * SHA256 of `v0:<timestamp>:<body>` with the signing secret, compared in constant time, the timestamp
 * within 5 minutes), then its form-encoded `payload` parsed into the few shapes patrol acts on.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import { headerOf as header } from "./http";
import { type FieldName, parseFieldText, REASON_MAX } from "./ledger/fields";
import type { EntryFields } from "./ledger-ops";
import {
  type ActionName,
  actionNameOf,
  MODAL_CALLBACK,
  type ModalContext,
  parseButtonValue,
  parseModalContext,
  submittedValue,
} from "./slack-console";

/** Slack's own replay window: a request older (or newer) than this is refused. */
export const MAX_SKEW_SECONDS = 5 * 60;
/** Far above any interaction payload Slack sends; a larger body is refused before it is hashed. */
export const MAX_BODY_BYTES = 256 * 1024;

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Whether Slack signed this body, now. The reasons name what failed, never the secret or a signature. */
export function verifySlackSignature(
  signingSecret: string,
  headers: Record<string, string | undefined>,
  rawBody: Buffer,
  now: Date,
): Verdict {
  const timestamp = header(headers, "x-slack-request-timestamp");
  const signature = header(headers, "x-slack-signature");
  if (!timestamp) return { ok: false, reason: "no X-Slack-Request-Timestamp header" };
  if (!signature) return { ok: false, reason: "no X-Slack-Signature header" };
  if (!/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: "X-Slack-Request-Timestamp is not a number" };
  const skew = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (skew > MAX_SKEW_SECONDS) {
    return { ok: false, reason: `the request is ${Math.round(skew)} s from now (at most 300 s): a replay?` };
  }
  const expected = Buffer.from(
    `v0=${createHmac("sha256", signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest("hex")}`,
  );
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "the signature does not match the body" };
  }
  return { ok: true };
}

const UserSchema = z.object({
  id: z.string().min(1),
  username: z.string().optional(),
  name: z.string().optional(),
});

const BlockActionsSchema = z.object({
  type: z.literal("block_actions"),
  user: UserSchema,
  trigger_id: z.string().optional(),
  response_url: z.string().url().optional(),
  container: z.object({ message_ts: z.string().optional(), channel_id: z.string().optional() }).optional(),
  channel: z.object({ id: z.string() }).optional(),
  message: z
    .object({ ts: z.string(), text: z.string().optional(), blocks: z.array(z.unknown()).optional() })
    .optional(),
  actions: z
    .array(z.object({ action_id: z.string(), block_id: z.string(), value: z.string().optional() }))
    .min(1),
});

const ViewSubmissionSchema = z.object({
  type: z.literal("view_submission"),
  user: UserSchema,
  view: z.object({
    id: z.string(),
    callback_id: z.string().optional(),
    private_metadata: z.string().optional(),
    state: z.object({ values: z.record(z.string(), z.unknown()) }),
  }),
});

export interface SlackUser {
  id: string;
  name: string;
}

/** A button press, with only the ids the button carried and where it was. */
export interface Click {
  type: "click";
  action: ActionName;
  org: string;
  entryId: string;
  user: SlackUser;
  channel: string;
  messageTs: string;
  blockId: string;
  triggerId: string | null;
  responseUrl: string | null;
  message: { text: string; blocks: unknown[] };
}

/** A modal's submission: what the person wrote, and what it acts on. */
export interface Submission {
  type: "submission";
  viewId: string;
  user: SlackUser;
  context: ModalContext;
  fields: { purpose: string; risks: string; approver: string; neededUntil: string; reason: string };
}

export type Interaction = Click | Submission | { type: "ignored"; why: string };

export class InteractionError extends Error {
  override name = "InteractionError";
}

/** The form-encoded body's `payload`, parsed: a click or a submission patrol knows, or ignored. */
export function parseInteraction(rawBody: Buffer): Interaction {
  const payloadText = new URLSearchParams(rawBody.toString("utf8")).get("payload");
  if (payloadText === null)
    throw new InteractionError("the body has no payload field (expected Slack's form-encoded payload=…)");
  let json: unknown;
  try {
    json = JSON.parse(payloadText);
  } catch {
    throw new InteractionError("the payload is not JSON");
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (type === "block_actions") return parseClick(json);
  if (type === "view_submission") return parseSubmission(json);
  return { type: "ignored", why: `interaction type ${String(type)} is not one patrol acts on` };
}

function userOf(user: z.output<typeof UserSchema>): SlackUser {
  return { id: user.id, name: user.name ?? user.username ?? "" };
}

function parseClick(json: unknown): Interaction {
  const parsed = BlockActionsSchema.safeParse(json);
  if (!parsed.success)
    throw new InteractionError(`a block_actions payload without ${parsed.error.issues[0]?.path.join(".")}`);
  const p = parsed.data;
  const [action] = p.actions;
  const name = action ? actionNameOf(action.action_id) : null;
  if (!action || !name) return { type: "ignored", why: `action ${action?.action_id} is not patrol's` };
  const value = parseButtonValue(action.value ?? "");
  if (!value) throw new InteractionError(`the ${action.action_id} button carries no org and entry`);
  const channel = p.container?.channel_id ?? p.channel?.id;
  const messageTs = p.container?.message_ts ?? p.message?.ts;
  if (!channel || !messageTs) throw new InteractionError("the click names no channel or message");
  return {
    type: "click",
    action: name,
    ...value,
    user: userOf(p.user),
    channel,
    messageTs,
    blockId: action.block_id,
    triggerId: p.trigger_id ?? null,
    responseUrl: p.response_url ?? null,
    message: { text: p.message?.text ?? "", blocks: p.message?.blocks ?? [] },
  };
}

function parseSubmission(json: unknown): Interaction {
  const parsed = ViewSubmissionSchema.safeParse(json);
  if (!parsed.success)
    throw new InteractionError(`a view_submission payload without ${parsed.error.issues[0]?.path.join(".")}`);
  const { view, user } = parsed.data;
  if (view.callback_id !== MODAL_CALLBACK)
    return { type: "ignored", why: `view ${view.callback_id} is not patrol's` };
  const context = parseModalContext(view.private_metadata);
  if (!context) throw new InteractionError("the modal's private_metadata does not say what it acts on");
  const values = view.state.values;
  return {
    type: "submission",
    viewId: view.id,
    user: userOf(user),
    context,
    fields: {
      purpose: submittedValue(values, "purpose"),
      risks: submittedValue(values, "risks"),
      approver: submittedValue(values, "approver"),
      neededUntil: submittedValue(values, "needed_until"),
      reason: submittedValue(values, "reason"),
    },
  };
}

/** The modal's inputs that are ledger fields, by input block: read by the fields' own text forms. */
const FIELD_INPUTS = [
  ["purpose", "purpose"],
  ["risks", "risks"],
  ["needed_until", "neededUntil"],
] as const satisfies readonly (readonly [string, FieldName])[];

/**
 * A submission read as the ledger reads any text (`parseFieldText`: the same limits and date forms as the
 * CSV and the CLI), with what it lacks or gets wrong by input block, as Slack shows errors on the modal
 * itself. The runbook: an approval needs its purpose and risks; a registration its purpose and approver; a
 * denial its reason.
 */
export function readSubmission(submission: Submission): {
  fields: EntryFields;
  errors: Record<string, string>;
} {
  const { action } = submission.context;
  const { fields: given } = submission;
  const errors: Record<string, string> = {};
  const fields: Record<string, unknown> = {};
  for (const [block, field] of FIELD_INPUTS) {
    const text = given[field];
    if (!text) continue;
    const parsed = parseFieldText(field, text);
    if (parsed.ok) fields[field] = parsed.value;
    else errors[block] = `This ${parsed.error}.`;
  }
  if (action !== "deny" && !given.purpose)
    errors.purpose = "Say what the token is for: the runbook asks for it.";
  if (action === "approve" && !given.risks)
    errors.risks = "Say what could go wrong: an approval needs its risks.";
  if (action === "register" && !given.approver) errors.approver = "Name who approves it.";
  if (action === "deny" && !given.reason)
    errors.reason = "Say why: GitHub shows the reason to the requester.";
  if (given.reason.length > REASON_MAX) errors.reason = `At most ${REASON_MAX} characters.`;
  return { fields: fields as EntryFields, errors };
}
