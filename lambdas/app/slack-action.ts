import type { KnownBlock } from "@slack/types";
import * as z from "zod";
import { mayTransition } from "../core/ledger/lifecycle";
import { type EntryFields, LedgerOpError, registerEntry, setStatus, updateEntry } from "../core/ledger-ops";
import type { Policy } from "../core/policy";
import {
  ACTIONS,
  type ActionName,
  type Approvers,
  githubWebUrl,
  ModalContextSchema,
  markActed,
  mayAct,
  notAllowed,
  renewalUrl,
  slackActor,
} from "../core/slack-console";
import { type Click, readSubmission, type SlackUser, type Submission } from "../core/slack-request";
import type { LedgerEntry } from "../core/types";
import { type Actor, changeEntry, reviewRequest } from "./keep-register";
import { messageOf } from "./log";
import type { GrantSource, Ledger, PostedMessage, SlackConsole } from "./ports";
import { runRevoke } from "./run-revoke";

/**
 * A Slack action carried out: who may, whether the button still means something (the entry is reloaded
 * and its lifecycle checked: a stale button says so instead of acting), the change through the same use
 * cases as the CLI's, and the message updated to show who did what.
 */

export interface SlackActionDeps {
  github: GrantSource;
  ledger: Ledger;
  slackConsole: SlackConsole;
  approvers: Approvers;
  policy: Policy;
  githubApiUrl?: string | undefined;
}

/** The work the endpoint hands the worker: a click or a submission, and the key that makes it happen once. */
export interface SlackWork {
  dedupeKey: string;
  work: Click | Submission;
}

const User = z.object({ id: z.string().min(1), name: z.string() });
const ClickSchema = z.object({
  type: z.literal("click"),
  action: z.enum(Object.keys(ACTIONS) as [ActionName, ...ActionName[]]),
  org: z.string().min(1),
  entryId: z.string().min(1),
  user: User,
  channel: z.string().min(1),
  messageTs: z.string().min(1),
  blockId: z.string().min(1),
  triggerId: z.string().nullable(),
  responseUrl: z.string().nullable(),
  message: z.object({ text: z.string(), blocks: z.array(z.unknown()) }),
});
const SubmissionSchema = z.object({
  type: z.literal("submission"),
  viewId: z.string().min(1),
  user: User,
  // The modal's own context, as the endpoint parsed it from private_metadata.
  context: ModalContextSchema,
  fields: z.object({
    purpose: z.string(),
    risks: z.string(),
    approver: z.string(),
    neededUntil: z.string(),
    reason: z.string(),
  }),
});
export const SlackWorkSchema = z.object({
  dedupeKey: z.string().min(1),
  work: z.discriminatedUnion("type", [ClickSchema, SubmissionSchema]),
});

export class InvalidSlackWorkError extends Error {
  override name = "InvalidSlackWorkError";
}

export function parseSlackWork(event: unknown): SlackWork {
  const parsed = SlackWorkSchema.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidSlackWorkError(
      `invalid Slack work: ${issue?.path.join(".") || "(event)"}: ${issue?.message}`,
    );
  }
  return parsed.data as SlackWork;
}

export type ActionOutcome =
  | { outcome: "done"; line: string }
  | { outcome: "not-allowed" | "stale" | "failed"; message: string };

interface Target {
  action: ActionName;
  org: string;
  entryId: string;
  user: SlackUser;
  where: PostedMessage & { blockId: string };
}

function targetOf(work: Click | Submission): Target {
  // A click names what it acts on itself; a submission, through its modal's context: the same fields.
  const on = work.type === "click" ? work : work.context;
  return {
    action: on.action,
    org: on.org,
    entryId: on.entryId,
    user: work.user,
    where: { channel: on.channel, ts: on.messageTs, blockId: on.blockId },
  };
}

/** `2026-12-01 14:02 UTC`: when something was done, as the messages say it. */
const minuteUtc = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;

/** Whether the token's access is already cut off: revoked, gone, or revoked on demand (flagged, so it stays so). */
function cutOff(entry: LedgerEntry): string | null {
  const when = (iso: string | null) => (iso ? `, ${minuteUtc(iso)}` : "");
  if (
    entry.revokedAt &&
    (entry.status === "revoked" || entry.status === "gone" || entry.status === "flagged")
  ) {
    return `${entry.tokenName} is already revoked (by ${entry.revokedBy}${when(entry.revokedAt)})`;
  }
  if (entry.status === "revoked" || entry.status === "gone")
    return `${entry.tokenName} is already ${entry.status}`;
  return null;
}

/** Why a button no longer means what it said, from the entry as it stands now; null when it still does. */
export function staleReason(action: ActionName, entry: LedgerEntry): string | null {
  // The entry's last writer, which need not be who made the change the button ran into: said as such.
  const by = entry.updatedBy
    ? ` (last changed by ${entry.updatedBy}${entry.updatedAt ? `, ${minuteUtc(entry.updatedAt)}` : ""})`
    : "";
  const ended = cutOff(entry);
  switch (action) {
    case "revoke":
    case "flag":
      return ended;
    case "retire":
      if (ended) return ended;
      if (entry.status === "retired") return `${entry.tokenName} is already marked not needed${by}`;
      return mayTransition(entry.status, "retired", "slack")
        ? null
        : `${entry.tokenName} is ${entry.status}${by}`;
    case "renewing":
      if (ended) return ended;
      if (entry.status === "flagged") return `${entry.tokenName} is flagged as compromised${by}`;
      return entry.renew ? `${entry.tokenName} is already marked as being renewed${by}` : null;
    case "register":
      return entry.status === "unregistered"
        ? null
        : (ended ?? `${entry.tokenName} is already ${entry.status}${by}`);
    case "approve":
    case "deny":
      return entry.status === "requested" && entry.requestId !== null
        ? null
        : `the request for ${entry.tokenName} was already reviewed: the entry is ${entry.status}${by}`;
  }
}

/**
 * Carries out one click or submission. Never throws for what a person did: a refusal, a stale button or a
 * failure is told to the clicker (ephemeral when a response URL is at hand) and returned.
 */
export async function carryOut(
  deps: SlackActionDeps,
  work: Click | Submission,
  now: Date,
  runId: string,
): Promise<ActionOutcome> {
  const target = targetOf(work);
  const spec = ACTIONS[target.action];
  const tell = async (text: string) => {
    if (work.type === "click" && work.responseUrl) {
      await deps.slackConsole.respond(work.responseUrl, text).catch(() => undefined);
    } else {
      await deps.slackConsole.dm(target.user.id, { text, blocks: [] }).catch(() => undefined);
    }
  };

  const allowed = await mayAct(deps.approvers, spec.kind, target.user.id, (group) =>
    deps.slackConsole.membersOf(group),
  ).catch(() => false);
  if (!allowed) {
    const message = notAllowed(target.action);
    await tell(message);
    return { outcome: "not-allowed", message };
  }

  // The entry as it stands now (a consistent read of it alone): the button was pressed on what it was then.
  const [entry] = await deps.ledger.read(target.org, [target.entryId]);
  const stale = entry
    ? staleReason(target.action, entry)
    : `entry ${target.entryId} is not in the ledger of ${target.org}`;
  if (stale || !entry) {
    const message = `Nothing done: ${stale ?? "no entry"}.`;
    await tell(message);
    return { outcome: "stale", message };
  }

  const by = slackActor(target.user);
  const actor: Actor = { org: target.org, by, writer: "slack", runId, now };
  let line: string;
  try {
    line = await act(deps, work, target, entry, actor, now, tell);
  } catch (error) {
    const message = `“${spec.label}” failed: ${messageOf(error)}`;
    await tell(message);
    return { outcome: "failed", message };
  }
  const done = `${line} · <@${target.user.id}> · ${minuteUtc(now.toISOString())}`;
  await updateMessage(deps, work, target, done).catch(async (error: unknown) => {
    await tell(`Done, but the message could not be updated: ${messageOf(error)}`);
  });
  return { outcome: "done", line: done };
}

async function act(
  deps: SlackActionDeps,
  work: Click | Submission,
  target: Target,
  entry: LedgerEntry,
  actor: Actor,
  now: Date,
  tell: (text: string) => Promise<void>,
): Promise<string> {
  const ref = { entryId: entry.entryId };
  const reasonFromSlack = (what: string) => `${what} from Slack by ${actor.by}`;
  switch (target.action) {
    case "retire":
      await changeEntry(deps.ledger, actor, (entries, ctx) =>
        setStatus(entries, ref, "retired", reasonFromSlack("not needed"), ctx),
      );
      return ":wastebasket: *Not needed*: the next sweep revokes it";
    case "renewing": {
      await changeEntry(deps.ledger, actor, (entries, ctx) =>
        updateEntry(entries, ref, { renew: true }, reasonFromSlack("being renewed"), ctx),
      );
      const url = renewalUrl(githubWebUrl(deps.githubApiUrl), { ...entry, org: target.org });
      await tell(
        `Marked as being renewed. Create the new token here (same name, org and permissions): ${url}`,
      );
      return ":repeat: *Renewing*: an expiry is no longer revoked; register the new token when it is made";
    }
    case "flag":
    case "revoke": {
      if (target.action === "flag") {
        await changeEntry(deps.ledger, actor, (entries, ctx) =>
          setStatus(entries, ref, "flagged", reasonFromSlack("compromised"), ctx),
        );
      }
      if (entry.tokenId === null && entry.patId === null) {
        return ":triangular_flag_on_post: *Flagged*: no grant is known yet; the next sweep revokes it";
      }
      const report = await runRevoke(
        { github: deps.github, ledger: deps.ledger },
        {
          org: target.org,
          selector:
            entry.tokenId !== null ? { tokenIds: [entry.tokenId] } : { patIds: [entry.patId as number] },
          reason: reasonFromSlack(target.action === "flag" ? "flagged compromised" : "revoked"),
          requestedBy: actor.by,
          dryRun: false,
        },
        now,
        actor.runId,
      );
      if (report.failed.length > 0 || report.errors.length > 0) {
        const why = [...report.failed.map((f) => f.error), ...report.errors.map((e) => e.message)].join("; ");
        throw new LedgerOpError(`GitHub did not revoke it: ${why}`);
      }
      const what =
        target.action === "flag"
          ? ":triangular_flag_on_post: *Flagged compromised and revoked*"
          : ":no_entry: *Revoked*";
      return report.revoked.length > 0 ? what : `${what} (it was already cut off: ${report.summary})`;
    }
    case "register": {
      const submission = work as Submission;
      const { approver } = submission.fields;
      await changeEntry(deps.ledger, actor, (entries, ctx) =>
        registerEntry(
          entries,
          { tokenName: entry.tokenName, owner: entry.owner, tokenId: entry.tokenId },
          {
            ...submittedFields(submission),
            approvedBy: approver === target.user.id ? actor.by : `slack:${approver}`,
          },
          reasonFromSlack("registered"),
          ctx,
        ),
      );
      return ":memo: *Registered*";
    }
    case "approve":
    case "deny": {
      const submission = work as Submission;
      const { purpose, risks } = submittedFields(submission);
      const decision = target.action;
      await reviewRequest(
        { github: deps.github, ledger: deps.ledger },
        { ...actor, writer: "review" },
        {
          requestId: entry.requestId as number,
          decision,
          fields: decision === "approve" ? { purpose, risks } : {},
          reason: submission.fields.reason || reasonFromSlack(decision === "approve" ? "approved" : "denied"),
        },
      );
      return decision === "approve" ? ":white_check_mark: *Approved*" : ":no_entry_sign: *Denied*";
    }
  }
}

/** A submission's ledger fields, as the endpoint checked them: refused whole if one does not read. */
function submittedFields(submission: Submission): EntryFields {
  const { fields, errors } = readSubmission(submission);
  const [problem] = Object.entries(errors);
  if (problem) throw new LedgerOpError(`${problem[0]}: ${problem[1]}`);
  return fields;
}

/** The item's buttons give way to what was done: from the click's copy of the message, or Slack's. */
async function updateMessage(deps: SlackActionDeps, work: Click | Submission, target: Target, line: string) {
  const blocks =
    work.type === "click"
      ? (work.message.blocks as KnownBlock[])
      : await deps.slackConsole.read(target.where);
  if (!blocks) return;
  const text = work.type === "click" ? work.message.text : "patrol";
  await deps.slackConsole.update(target.where, {
    text: text || "patrol",
    blocks: markActed(blocks, target.where.blockId, line),
  });
}
