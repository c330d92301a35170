import type { KnownBlock } from "@slack/types";
import { stringify } from "csv-stringify/sync";
import { SLACK_MEMBER } from "./ledger/fields";
import type { RevokeReport, SweepReport } from "./report";
import { accessSummary, actionsBlock, actionsFor, githubWebUrl, orgTokensUrl } from "./slack-console";
import { plural } from "./text";
import type { Alert, AlertKind, PermissionMap, RepositorySelection, Revocation } from "./types";

/** A Slack message as Block Kit data. Building it is pure; the Slack adapter only sends it. */
export interface SlackMessage {
  text: string;
  /** Typed by `@slack/types` (type-only), so a block patrol builds cannot drift from Slack's shapes. */
  blocks: KnownBlock[];
}

/** Lines shown per text section (revoked, errors) before "and N more". */
const MAX_LINES = 15;
/** Slack refuses section text over 3,000 characters. */
const MAX_SECTION_CHARS = 2900;
/**
 * Items shown with their buttons: two blocks each (the item and its actions), within Slack's 50 blocks a
 * message with room for the header, the section titles and the footer. The rest go in the attached list.
 */
const MAX_ITEMS = 18;
const MAX_ITEMS_PER_SECTION = 6;

const SECTIONS: { kinds: AlertKind[]; title: string }[] = [
  { kinds: ["held"], title: ":raised_hand: Held (not revoked)" },
  { kinds: ["expired-awaiting-renewal"], title: ":hourglass: Expired, awaiting renewal" },
  { kinds: ["expiring"], title: ":alarm_clock: Expiring soon" },
  { kinds: ["unregistered"], title: ":grey_question: Not in the ledger" },
  { kinds: ["permission-drift"], title: ":warning: Permissions beyond approval" },
  { kinds: ["no-expiry", "over-lifetime"], title: ":infinity: No expiry or too long a lifetime" },
  { kinds: ["unused"], title: ":zzz: Unused" },
  { kinds: ["request-waiting"], title: ":inbox_tray: Requests waiting for review" },
  { kinds: ["request-decided"], title: ":robot_face: Requests decided by the approval rules" },
  { kinds: ["classic"], title: ":old_key: Classic PATs (SAML SSO authorizations)" },
];

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function who(owner: string, slack: string): string {
  const id = slack.trim();
  return SLACK_MEMBER.test(id) ? `<@${id}>` : escapeMrkdwn(owner);
}

function section(title: string, lines: string[]): KnownBlock {
  const shown = lines.slice(0, MAX_LINES);
  const more = lines.length - shown.length;
  let text = `*${title}* (${lines.length})\n${shown.join("\n")}${more > 0 ? `\n…and ${more} more` : ""}`;
  if (text.length > MAX_SECTION_CHARS) text = `${text.slice(0, MAX_SECTION_CHARS)}…`;
  return { type: "section", text: { type: "mrkdwn", text } };
}

function tokenLine(t: { tokenName: string; owner: string; slack?: string }, detail: string): string {
  return `• \`${escapeMrkdwn(t.tokenName)}\` of ${who(t.owner, t.slack ?? "")}: ${escapeMrkdwn(detail)}`;
}

/** What the digest shows of an item beyond the alert: the grant (or request) as GitHub lists it. */
export interface ItemDetail {
  patId: number | null;
  requestId: number | null;
  permissions: PermissionMap;
  repositorySelection: RepositorySelection | null;
  repositoryCount: number | null;
  grantedAt: string | null;
  lastUsedAt: string | null;
}

export interface DigestContext {
  /** GitHub's web address (github.com, or an Enterprise Server's), for the links. */
  webUrl: string;
  details: (alert: Alert) => ItemDetail | undefined;
}

/** A digest and what it shows: only the shown items count as delivered, unless the full list is attached. */
export interface Digest extends SlackMessage {
  shown: Alert[];
  /** Items cut for room: listed in the CSV attached to the message's thread. */
  overflow: Alert[];
}

const DAY_MS = 86_400_000;

/** "today", "yesterday", "3 days ago", for a past instant; a date past a month. */
export function ago(iso: string | null, now: Date): string {
  if (!iso) return "never";
  const days = Math.floor((now.getTime() - Date.parse(iso)) / DAY_MS);
  if (Number.isNaN(days)) return "unknown";
  if (days <= 0) return "today";
  if (days === 1) return "yesterday";
  return days <= 31 ? `${days} days ago` : iso.slice(0, 10);
}

function itemText(
  alert: Alert,
  detail: ItemDetail | undefined,
  org: string,
  context: DigestContext,
  now: Date,
) {
  const what =
    alert.daysLeft !== undefined ? `${plural(alert.daysLeft, "day")} left, ${alert.detail}` : alert.detail;
  const first = `*${escapeMrkdwn(alert.tokenName)}* of ${who(alert.owner, alert.slack)}: ${escapeMrkdwn(what)}`;
  const facts: string[] = [];
  if (detail) {
    facts.push(
      escapeMrkdwn(accessSummary(detail.permissions, detail.repositorySelection, detail.repositoryCount)),
    );
    if (detail.requestId !== null) facts.push(`request ${detail.requestId}`);
    else {
      if (detail.grantedAt) facts.push(`granted ${ago(detail.grantedAt, now)}`);
      facts.push(detail.lastUsedAt ? `last used ${ago(detail.lastUsedAt, now)}` : "never used");
    }
    if (detail.patId !== null) facts.push(`grant ${detail.patId}`);
  }
  if (alert.tokenId !== null) facts.push(`token ${alert.tokenId}`);
  const requests = alert.kind === "request-waiting";
  facts.push(
    `<${orgTokensUrl(context.webUrl, org, requests)}|${requests ? "review on GitHub" : "on GitHub"}>`,
  );
  return `${first}\n${facts.join(" · ")}`.slice(0, MAX_SECTION_CHARS);
}

/** Block ids are unique in a message: the item's alert key is. */
export function itemBlockId(alert: Pick<Alert, "key" | "entryId">): string {
  return `item:${alert.entryId}:${alert.key}`.slice(0, 255);
}

/**
 * The nightly digest of one org: revoked tokens with reasons, then each kind of alert as items a team can
 * act on (what is wrong, the access, granted and last used, the ids, a link, the buttons), then errors.
 * `null` when there is nothing new to say, so a quiet night sends nothing.
 */
export function buildDigest(
  report: SweepReport,
  revoked: readonly (Revocation & { slack?: string })[],
  alerts: readonly Alert[],
  context: DigestContext = { webUrl: githubWebUrl(undefined), details: () => undefined },
): Digest | null {
  if (revoked.length === 0 && alerts.length === 0 && report.errors.length === 0) return null;
  const now = new Date(report.now);
  const blocks: KnownBlock[] = [
    { type: "header", text: { type: "plain_text", text: `patrol · ${report.org}`.slice(0, 150) } },
  ];
  const late = alerts.filter((a) => a.kind === "revoked");
  const revokedLines = [
    ...revoked.map((r) => tokenLine(r, `${r.reason}: ${r.detail}`)),
    ...late.map((a) => tokenLine(a, `${a.detail} (notice delayed)`)),
  ];
  // Late notices are lines of the revoked section: delivered with it, shown or not.
  const shown: Alert[] = [...late];
  const overflow: Alert[] = [];
  if (revokedLines.length > 0) blocks.push(section(":no_entry: Revoked", revokedLines));
  let room = MAX_ITEMS;
  for (const { kinds, title } of SECTIONS) {
    const items = alerts
      .filter((a) => kinds.includes(a.kind))
      .sort((a, b) => (a.daysLeft ?? 0) - (b.daysLeft ?? 0));
    if (items.length === 0) continue;
    const visible = items.slice(0, Math.min(room, MAX_ITEMS_PER_SECTION));
    const cut = items.slice(visible.length);
    room -= visible.length;
    shown.push(...visible);
    overflow.push(...cut);
    const more = cut.length > 0 ? ` — ${visible.length} shown, the full list is attached in the thread` : "";
    blocks.push({ type: "section", text: { type: "mrkdwn", text: `*${title}* (${items.length})${more}` } });
    for (const alert of visible) {
      const blockId = itemBlockId(alert);
      blocks.push({
        type: "section",
        text: { type: "mrkdwn", text: itemText(alert, context.details(alert), report.org, context, now) },
      });
      const names = actionsFor(alert.kind);
      if (names.length > 0)
        blocks.push(actionsBlock(blockId, names, { org: report.org, entryId: alert.entryId }));
    }
  }
  if (report.errors.length > 0) {
    blocks.push(
      section(
        ":x: Errors",
        report.errors.map((e) => `• ${e.stage}: ${escapeMrkdwn(e.message)}`),
      ),
    );
  }
  const mode = report.mode === "report" ? " · report mode: nothing is revoked" : "";
  blocks.push({
    type: "context",
    elements: [{ type: "mrkdwn", text: `${report.scanned} tokens scanned · run ${report.runId}${mode}` }],
  });
  const text = `patrol · ${report.org}: ${revokedLines.length} revoked, ${alerts.length - late.length} alerts, ${report.errors.length} errors`;
  return { text, blocks, shown, overflow };
}

/**
 * A new request, as it arrives (a webhook): the same item a digest shows for a request (who, what access,
 * the link to GitHub's review page) with its Approve… / Deny… buttons, under a header of its own.
 */
export function requestCard(
  alert: Alert,
  detail: ItemDetail | undefined,
  org: string,
  context: DigestContext,
  now: Date,
  /**
   * A rule decided it: the card says so, by which rule and why, in place of the buttons. In report mode
   * (`applied: false`) the buttons stay, under what the rule would have decided.
   */
  decided?: { decision: "approve" | "deny"; reason: string; rule: { name: string }; applied: boolean },
): SlackMessage {
  const buttons = actionsBlock(itemBlockId(alert), actionsFor(alert.kind), { org, entryId: alert.entryId });
  const verdict = decided
    ? decided.applied
      ? `${decided.decision === "approve" ? ":white_check_mark: *Approved*" : ":no_entry_sign: *Denied*"} by rule \`${escapeMrkdwn(decided.rule.name)}\``
      : `:eyes: Rule \`${escapeMrkdwn(decided.rule.name)}\` would ${decided.decision} it (report mode: you decide)`
    : "";
  const ruling: KnownBlock[] = decided
    ? [
        {
          type: "context",
          elements: [
            {
              type: "mrkdwn",
              text: `${verdict}: ${escapeMrkdwn(decided.reason)}`.slice(0, MAX_SECTION_CHARS),
            },
          ],
        },
      ]
    : [];
  const outcome: KnownBlock[] = decided?.applied ? ruling : [buttons, ...ruling];
  const ruled =
    decided?.applied === true
      ? ` (${decided.decision === "approve" ? "approved" : "denied"} by rule ${decided.rule.name})`
      : "";
  return {
    text: `patrol · ${org}: ${alert.owner} requests access for ${alert.tokenName}${ruled}`,
    blocks: [
      {
        type: "header",
        text: { type: "plain_text", text: `patrol · ${org}: a token request`.slice(0, 150) },
      },
      { type: "section", text: { type: "mrkdwn", text: itemText(alert, detail, org, context, now) } },
      ...outcome,
    ],
  };
}

/**
 * An owner's own expiry warning, sent by DM: what runs out and when, and how to renew it. The channel's
 * digest stays the team's view (with the buttons); this one only tells.
 */
export function ownerNotice(
  alert: Alert,
  org: string,
  links: { renew: string; tokens: string },
): SlackMessage {
  const name = escapeMrkdwn(alert.tokenName);
  const expired = alert.kind === "expired-awaiting-renewal";
  const when =
    alert.daysLeft !== undefined
      ? `${alert.daysLeft <= 1 ? "expires within a day" : `expires in ${alert.daysLeft} days`} (${escapeMrkdwn(alert.detail)})`
      : escapeMrkdwn(alert.detail);
  const next = expired
    ? `The ledger says it is being renewed: <${links.renew}|create its replacement> (same name, org and permissions) and register the new token with the team.`
    : `Still needed? <${links.renew}|Create its replacement> (same name, org and permissions) and register it with the team. Not needed? Nothing to do: patrol revokes it once it expires.`;
  return {
    text: `patrol · ${org}: your token ${alert.tokenName} ${expired ? "has expired" : when}`,
    blocks: [
      {
        type: "section",
        text: {
          type: "mrkdwn",
          text: `:${expired ? "hourglass" : "alarm_clock"}: Your token *${name}* for *${escapeMrkdwn(org)}* ${when}.\n${next}`.slice(
            0,
            MAX_SECTION_CHARS,
          ),
        },
      },
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            text: `patrol · once per warning · <${links.tokens}|your tokens on GitHub> · token ${alert.tokenId ?? "unknown"}`,
          },
        ],
      },
    ],
  };
}

/** The full list of a cut digest, as the CSV attached to its thread. */
export function overflowCsv(
  alerts: readonly Alert[],
  details: (alert: Alert) => ItemDetail | undefined,
): string {
  const rows = alerts.map((a) => {
    const d = details(a);
    return [
      a.kind,
      a.tokenName,
      a.owner,
      a.tokenId ?? "",
      d?.patId ?? "",
      d?.requestId ?? "",
      a.daysLeft ?? "",
      a.detail,
      d ? accessSummary(d.permissions, d.repositorySelection, d.repositoryCount) : "",
      d?.grantedAt ?? "",
      d?.lastUsedAt ?? "",
    ];
  });
  return stringify(rows, {
    header: true,
    columns: [
      "kind",
      "token_name",
      "owner",
      "token_id",
      "grant_id",
      "request_id",
      "days_left",
      "detail",
      "access",
      "granted_at",
      "last_used_at",
    ],
  });
}

/** The message Slack gets at once after an on-demand revocation: who asked, why, what was cut off, what failed. */
export function buildRevokeMessage(report: RevokeReport): SlackMessage {
  const blocks: KnownBlock[] = [
    {
      type: "header",
      text: { type: "plain_text", text: `patrol · on-demand revocation · ${report.org}`.slice(0, 150) },
    },
    {
      type: "section",
      text: {
        type: "mrkdwn",
        text: `*${escapeMrkdwn(report.requestedBy)}* asked to revoke ${escapeMrkdwn(report.selector)}\n>${escapeMrkdwn(report.reason)}`,
      },
    },
  ];
  const grants = (items: readonly { tokenName: string; owner: string }[]) =>
    items.map((g) => `• \`${escapeMrkdwn(g.tokenName)}\` of ${escapeMrkdwn(g.owner)}`);
  if (report.revoked.length > 0) blocks.push(section(":no_entry: Revoked", grants(report.revoked)));
  if (report.classic.revoked.length > 0) {
    blocks.push(
      section(
        ":no_entry: Classic PAT SSO authorizations removed",
        report.classic.revoked.map((c) => `• …${escapeMrkdwn(c.lastEight)} of ${escapeMrkdwn(c.login)}`),
      ),
    );
  }
  if (report.failed.length > 0 || report.classic.failed.length > 0 || report.errors.length > 0) {
    blocks.push(
      section(":x: Failed — act now", [
        ...report.failed.map(
          (f) => `• \`${escapeMrkdwn(f.tokenName)}\` of ${escapeMrkdwn(f.owner)}: ${escapeMrkdwn(f.error)}`,
        ),
        ...report.classic.failed.map(
          (f) =>
            `• classic credential ${f.credentialId} of ${escapeMrkdwn(f.login)}: ${escapeMrkdwn(f.error)}`,
        ),
        ...report.errors.map((e) => `• ${e.stage}: ${escapeMrkdwn(e.message)}`),
      ]),
    );
  }
  if (report.alreadyGone.length > 0) {
    blocks.push(
      section(
        ":white_check_mark: Already cut off",
        report.alreadyGone.map(
          (g) =>
            `• ${escapeMrkdwn(g.tokenName ?? `grant ${g.patId ?? ""}${g.tokenId ?? ""}`)}${g.owner ? ` of ${escapeMrkdwn(g.owner)}` : ""}: ${escapeMrkdwn(g.note)}`,
        ),
      ),
    );
  }
  blocks.push({
    type: "context",
    elements: [{ type: "mrkdwn", text: `${escapeMrkdwn(report.summary)} · run ${report.runId}` }],
  });
  return { text: `patrol · ${report.org}: ${report.summary}`, blocks };
}

/** What a leaked-value revocation did, as Slack is told it: hashes, never a value. */
export interface LeakedSummary {
  org: string;
  requestedBy: string;
  reason: string;
  revoked: number;
  hashedTokens: string[];
  flagged: { tokenName: string; owner: string } | null;
  runId: string;
}

export function buildLeakedMessage(summary: LeakedSummary): SlackMessage {
  const shown = summary.hashedTokens.slice(0, MAX_LINES).map((h) => `• \`${h}\``);
  if (summary.hashedTokens.length > MAX_LINES)
    shown.push(`• and ${summary.hashedTokens.length - MAX_LINES} more`);
  const blocks: KnownBlock[] = [
    {
      type: "header",
      text: { type: "plain_text", text: `patrol · leaked token revoked · ${summary.org}`.slice(0, 150) },
    },
    {
      type: "section",
      text: {
        type: "mrkdwn",
        text: `*${escapeMrkdwn(summary.requestedBy)}* had ${plural(summary.revoked, "leaked token value")} revoked at GitHub, everywhere\n>${escapeMrkdwn(summary.reason)}`,
      },
    },
    section(":mag: hashed_token (search GitHub's audit log with it)", shown),
  ];
  if (summary.flagged) {
    blocks.push(
      section(":triangular_flag_on_post: Flagged in the ledger", [
        `• \`${escapeMrkdwn(summary.flagged.tokenName)}\` of ${escapeMrkdwn(summary.flagged.owner)}`,
      ]),
    );
  }
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `run ${summary.runId}` }] });
  return {
    text: `patrol: ${plural(summary.revoked, "leaked token value")} revoked at GitHub (${summary.org}) by ${summary.requestedBy}`,
    blocks,
  };
}
