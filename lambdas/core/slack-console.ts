/**
 * Slack as patrol's console: the buttons a digest item carries, who may press them, what a press names
 * (only ids: the worker reloads the entry and decides on what the ledger says then), the modals that
 * collect what an action needs, and how a message shows what was done. Pure: the handlers and the Slack
 * adapter only carry these shapes.
 */
import type { ActionsBlock, Button, ContextBlock, KnownBlock, View } from "@slack/types";
import * as z from "zod";
import { formatPermissions } from "./ledger/access";
import { SLACK_MEMBER } from "./ledger/fields";
import type { AlertKind, PermissionMap, RepositorySelection } from "./types";

/** Who may do what, by the kind of change an action makes. */
export const ACTION_KINDS = ["revoke", "review", "register", "retire"] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

interface ActionSpec {
  label: string;
  kind: ActionKind;
  /** Opens a modal to collect what the action needs; the submission is what acts. */
  modal?: boolean;
  /** Destructive: Slack asks "are you sure?" first. */
  danger?: boolean;
}

/** Every button patrol puts on a message: its action id is `patrol.<name>`. */
export const ACTIONS = {
  renewing: { label: "Renewing", kind: "register" },
  retire: { label: "Not needed", kind: "retire" },
  revoke: { label: "Revoke now", kind: "revoke", danger: true },
  register: { label: "Register…", kind: "register", modal: true },
  approve: { label: "Approve…", kind: "review", modal: true },
  deny: { label: "Deny…", kind: "review", modal: true },
  flag: { label: "Flag compromised", kind: "revoke", danger: true },
} as const satisfies Record<string, ActionSpec>;
export type ActionName = keyof typeof ACTIONS;

const ACTION_PREFIX = "patrol.";

export function actionId(name: ActionName): string {
  return `${ACTION_PREFIX}${name}`;
}

export function actionNameOf(id: string): ActionName | null {
  const name = id.startsWith(ACTION_PREFIX) ? id.slice(ACTION_PREFIX.length) : "";
  return Object.hasOwn(ACTIONS, name) ? (name as ActionName) : null;
}

/** The buttons an item gets, by what it needs. */
export function actionsFor(kind: AlertKind): ActionName[] {
  switch (kind) {
    case "expiring":
    case "expired-awaiting-renewal":
      return ["renewing", "retire", "revoke", "flag"];
    case "unregistered":
      return ["register", "revoke", "flag"];
    case "request-waiting":
      return ["approve", "deny"];
    case "revoked":
    case "request-decided":
    // A classic PAT is revoked by the sweep (flag or retire it with the CLI): no Slack action acts on one yet.
    case "classic":
      return [];
    default:
      return ["retire", "revoke", "flag"];
  }
}

/** What a button carries: the org and the entry, nothing the worker should trust beyond naming them. */
export const ButtonValueSchema = z
  .object({
    org: z.string().min(1).max(100),
    entryId: z.string().min(1).max(200),
  })
  .strict();
export type ButtonValue = z.output<typeof ButtonValueSchema>;

export function buttonValue(value: ButtonValue): string {
  return JSON.stringify(value);
}

export function parseButtonValue(text: string): ButtonValue | null {
  try {
    const parsed = ButtonValueSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The actions block of one item: one per item, its block id naming the alert (unique in a message). */
export function actionsBlock(
  blockId: string,
  names: readonly ActionName[],
  value: ButtonValue,
): ActionsBlock {
  return {
    type: "actions",
    block_id: blockId.slice(0, 255),
    elements: names.map((name): Button => {
      const spec: ActionSpec = ACTIONS[name];
      return {
        type: "button",
        action_id: actionId(name),
        text: { type: "plain_text", text: spec.label, emoji: true },
        value: buttonValue(value),
        ...(spec.danger
          ? {
              style: "danger" as const,
              confirm: {
                title: { type: "plain_text" as const, text: `${spec.label}?` },
                text: {
                  type: "mrkdwn" as const,
                  text:
                    name === "flag"
                      ? "The token is marked compromised and its access to the org is revoked at once, in every mode."
                      : "The token's access to the org is revoked at once, in every mode. Its owner will need a new token.",
                },
                confirm: { type: "plain_text" as const, text: spec.label },
                deny: { type: "plain_text" as const, text: "Cancel" },
                style: "danger" as const,
              },
            }
          : {}),
      };
    }),
  };
}

/** Replaces an item's buttons with a line saying what was done, so the message shows who did what. */
export function markActed(blocks: readonly KnownBlock[], blockId: string, text: string): KnownBlock[] {
  return blocks.map((block): KnownBlock => {
    if (block.type !== "actions" || block.block_id !== blockId) return block;
    const done: ContextBlock = {
      type: "context",
      block_id: blockId,
      elements: [{ type: "mrkdwn", text: text.slice(0, 3000) }],
    };
    return done;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Who may act

/** A Slack member (the ledger's own form of one: U…/W…) or user group (S…) id. */
const PRINCIPAL = new RegExp(`^(?:${SLACK_MEMBER.source.replace(/^\^|\$$/g, "")}|S[A-Z0-9]{2,})$`);

export const ApproversSchema = z
  .object(
    Object.fromEntries(
      ACTION_KINDS.map((kind) => [
        kind,
        z
          .array(z.string().regex(PRINCIPAL, "expected a Slack user id (U…, W…) or user group id (S…)"))
          .default([]),
      ]),
    ) as Record<ActionKind, z.ZodDefault<z.ZodArray<z.ZodString>>>,
  )
  .strict();
export type Approvers = Record<ActionKind, string[]>;

/** No one may act until PATROL_APPROVERS names them: a button nobody configured changes nothing. */
export const NO_APPROVERS: Approvers = { revoke: [], review: [], register: [], retire: [] };

export function parseApprovers(text: string | undefined): Parsed<Approvers> {
  if (text === undefined || text.trim() === "") return { ok: true, value: NO_APPROVERS };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: `PATROL_APPROVERS: expected JSON such as {"revoke": ["U123", "S456"]}` };
  }
  const parsed = ApproversSchema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data as Approvers };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `.${issue.path.join(".")}` : "";
  const known = ` (kinds: ${ACTION_KINDS.join(", ")})`;
  return {
    ok: false,
    error: `PATROL_APPROVERS${where}: ${issue?.code === "unrecognized_keys" ? `unknown kind ${issue.keys.join(", ")}${known}` : (issue?.message ?? "invalid")}`,
  };
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Whether the user may take actions of `kind`: named directly, or a member of a named user group.
 * `membersOf` is asked only for the groups, and only when the user is not named directly.
 */
export async function mayAct(
  approvers: Approvers,
  kind: ActionKind,
  userId: string,
  membersOf: (groupId: string) => Promise<readonly string[]>,
): Promise<boolean> {
  const named = approvers[kind];
  if (named.includes(userId)) return true;
  for (const group of named.filter((p) => p.startsWith("S"))) {
    if ((await membersOf(group)).includes(userId)) return true;
  }
  return false;
}

/** What someone not named for an action is told (privately): the endpoint and the worker say the same. */
export function notAllowed(name: ActionName): string {
  const spec: ActionSpec = ACTIONS[name];
  return `Not allowed: “${spec.label}” is for the ${spec.kind} approvers named in PATROL_APPROVERS. Nothing was changed.`;
}

/** The ledger's actor for a Slack user: `slack:<user id> (<name>)`. */
export function slackActor(user: { id: string; name?: string | undefined }): string {
  const name = (user.name ?? "").replace(/[()\n]/g, "").trim();
  return name ? `slack:${user.id} (${name})` : `slack:${user.id}`;
}

// ---------------------------------------------------------------------------------------------------------
// What an item shows

/** GitHub's web address for an API base: github.com, an Enterprise Server's host, or a simulator's base. */
export function githubWebUrl(apiUrl: string | undefined): string {
  if (!apiUrl) return "https://github.com";
  const base = apiUrl.replace(/\/+$/, "");
  if (/^https:\/\/api\.github\.com$/i.test(base)) return "https://github.com";
  // GitHub Enterprise Cloud with data residency: the API of SUBDOMAIN.ghe.com is api.SUBDOMAIN.ghe.com.
  const residency = /^https:\/\/api\.([a-z0-9-]+\.ghe\.com)$/i.exec(base);
  if (residency) return `https://${residency[1]}`;
  return base.replace(/\/api\/v3$/i, "");
}

/** The org's page of approved tokens, or of pending requests. */
export function orgTokensUrl(webUrl: string, org: string, requests = false): string {
  const page = requests ? "personal-access-token-requests" : "personal-access-tokens/active";
  return `${webUrl}/organizations/${encodeURIComponent(org)}/settings/${page}`;
}

/** `contents:write, metadata:read on 3 repos`: the access in a few words. */
export function accessSummary(
  permissions: PermissionMap,
  selection: RepositorySelection | null,
  repositoryCount: number | null,
): string {
  const perms = formatPermissions(permissions).replace(/; /g, ", ") || "no permissions";
  const where =
    selection === "all"
      ? " on all repos"
      : selection === "subset"
        ? repositoryCount !== null
          ? ` on ${repositoryCount} repo${repositoryCount === 1 ? "" : "s"}`
          : " on selected repos"
        : "";
  return `${perms}${where}`;
}

/**
 * GitHub's template URL for a new token like this one (since 2025-08): the owner still creates it, with
 * the same name, org and the ledger's approved permissions pre-filled, and the old one's lifetime (creation
 * to expiry, within GitHub's 1–366 days) as `expires_in`.
 */
export function renewalUrl(
  webUrl: string,
  entry: {
    tokenName: string;
    org: string;
    permissions: PermissionMap | null;
    createdAt: string | null;
    expiresAt: string | null;
  },
): string {
  const params = new URLSearchParams({ name: entry.tokenName, target_name: entry.org });
  const lifetime =
    entry.createdAt && entry.expiresAt
      ? Math.round((Date.parse(entry.expiresAt) - Date.parse(entry.createdAt)) / 86_400_000)
      : Number.NaN;
  if (lifetime > 0) params.set("expires_in", String(Math.min(366, lifetime)));
  const permissions = entry.permissions ?? {};
  for (const name of Object.keys(permissions).sort()) {
    const level = permissions[name];
    // GitHub's form takes the permission's own name: `repository.contents` is `contents`.
    if (level) params.set(name.slice(name.indexOf(".") + 1), level);
  }
  return `${webUrl}/settings/personal-access-tokens/new?${params.toString()}`;
}

// ---------------------------------------------------------------------------------------------------------
// Modals

/** What a modal's submission acts on, carried in its `private_metadata` (Slack returns it untouched). */
export const ModalContextSchema = z
  .object({
    action: z.enum(["register", "approve", "deny"]),
    org: z.string().min(1),
    entryId: z.string().min(1),
    /** Where the button was, so the message can be updated once the action is done. */
    channel: z.string().min(1),
    messageTs: z.string().min(1),
    blockId: z.string().min(1),
  })
  .strict();
export type ModalContext = z.output<typeof ModalContextSchema>;

export const MODAL_CALLBACK = "patrol.modal";

const input = (
  blockId: string,
  label: string,
  element: Record<string, unknown>,
  optional = false,
): KnownBlock =>
  ({
    type: "input",
    block_id: blockId,
    label: { type: "plain_text", text: label },
    optional,
    element: { action_id: blockId, ...element },
  }) as KnownBlock;

/** The modal a button opens: register (purpose, risks, approver, needed-until) or a review's reason. */
export function modalView(
  context: ModalContext,
  /** What the item said (mrkdwn): the token and what is wrong with it. */
  about: { heading: string; purpose?: string; risks?: string },
  clicker: string,
): View {
  const title = { register: "Register token", approve: "Approve request", deny: "Deny request" }[
    context.action
  ];
  const heading: KnownBlock = {
    type: "section",
    text: { type: "mrkdwn", text: about.heading.slice(0, 3000) },
  };
  const fields: KnownBlock[] =
    context.action === "deny"
      ? [
          input("reason", "Reason (shown to the requester)", {
            type: "plain_text_input",
            multiline: true,
            max_length: 1024,
          }),
        ]
      : [
          input("purpose", "Purpose", {
            type: "plain_text_input",
            multiline: true,
            max_length: 1000,
            ...(about.purpose ? { initial_value: about.purpose } : {}),
          }),
          input("risks", "Risks", {
            type: "plain_text_input",
            multiline: true,
            max_length: 1000,
            ...(about.risks ? { initial_value: about.risks } : {}),
          }),
          ...(context.action === "register"
            ? [
                input("approver", "Approved by", { type: "users_select", initial_user: clicker }),
                input("needed_until", "Needed until", { type: "datepicker" }, true),
              ]
            : [input("reason", "Note for the ledger", { type: "plain_text_input", max_length: 1024 }, true)]),
        ];
  return {
    type: "modal",
    callback_id: MODAL_CALLBACK,
    private_metadata: JSON.stringify(context),
    title: { type: "plain_text", text: title },
    submit: { type: "plain_text", text: context.action === "deny" ? "Deny" : "Save" },
    close: { type: "plain_text", text: "Cancel" },
    blocks: [heading, ...fields],
  };
}

/** One input's value from a submitted view's `state.values` (plain text, date or user). */
export function submittedValue(values: unknown, blockId: string): string {
  const block = (values as Record<string, Record<string, Record<string, unknown>>> | undefined)?.[blockId];
  const state = block?.[blockId];
  const value = state?.value ?? state?.selected_date ?? state?.selected_user ?? null;
  return typeof value === "string" ? value.trim() : "";
}

export function parseModalContext(text: unknown): ModalContext | null {
  if (typeof text !== "string") return null;
  try {
    const parsed = ModalContextSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
