import type { RevokeReport, SweepReport } from "./report";
import { plural } from "./text";
import type { Alert, AlertKind, Revocation } from "./types";

/** A Slack message as Block Kit data. Building it is pure; the Slack adapter only sends it. */
export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

/** Lines shown per section before "and N more": one message per org per sweep, never a flood. */
const MAX_LINES = 15;
/** Slack refuses section text over 3,000 characters. */
const MAX_SECTION_CHARS = 2900;

const SECTIONS: { kinds: AlertKind[]; title: string }[] = [
  { kinds: ["held"], title: ":raised_hand: Held (not revoked)" },
  { kinds: ["expired-awaiting-renewal"], title: ":hourglass: Expired, awaiting renewal" },
  { kinds: ["expiring"], title: ":alarm_clock: Expiring soon" },
  { kinds: ["unregistered"], title: ":grey_question: Not in the ledger" },
  { kinds: ["permission-drift"], title: ":warning: Permissions beyond approval" },
  { kinds: ["no-expiry", "over-lifetime"], title: ":infinity: No expiry or too long a lifetime" },
  { kinds: ["unused"], title: ":zzz: Unused" },
  { kinds: ["request-waiting"], title: ":inbox_tray: Requests waiting for review" },
];

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function who(owner: string, slack: string): string {
  const id = slack.trim();
  return /^[UW][A-Z0-9]{2,}$/.test(id) ? `<@${id}>` : escapeMrkdwn(owner);
}

function section(title: string, lines: string[]): Record<string, unknown> {
  const shown = lines.slice(0, MAX_LINES);
  const more = lines.length - shown.length;
  let text = `*${title}* (${lines.length})\n${shown.join("\n")}${more > 0 ? `\n…and ${more} more` : ""}`;
  if (text.length > MAX_SECTION_CHARS) text = `${text.slice(0, MAX_SECTION_CHARS)}…`;
  return { type: "section", text: { type: "mrkdwn", text } };
}

function tokenLine(t: { tokenName: string; owner: string; slack?: string }, detail: string): string {
  return `• \`${escapeMrkdwn(t.tokenName)}\` of ${who(t.owner, t.slack ?? "")}: ${escapeMrkdwn(detail)}`;
}

/**
 * The nightly digest of one org: revoked tokens with reasons, then each kind of alert, then errors.
 * `null` when there is nothing new to say, so a quiet night sends nothing.
 */
export function buildDigest(
  report: SweepReport,
  revoked: readonly (Revocation & { slack?: string })[],
  alerts: readonly Alert[],
): SlackMessage | null {
  if (revoked.length === 0 && alerts.length === 0 && report.errors.length === 0) return null;
  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: `patrol · ${report.org}`.slice(0, 150) } },
  ];
  const late = alerts.filter((a) => a.kind === "revoked");
  const revokedLines = [
    ...revoked.map((r) => tokenLine(r, `${r.reason}: ${r.detail}`)),
    ...late.map((a) => tokenLine(a, `${a.detail} (notice delayed)`)),
  ];
  if (revokedLines.length > 0) blocks.push(section(":no_entry: Revoked", revokedLines));
  for (const { kinds, title } of SECTIONS) {
    const lines = alerts
      .filter((a) => kinds.includes(a.kind))
      .sort((a, b) => (a.daysLeft ?? 0) - (b.daysLeft ?? 0))
      .map((a) =>
        tokenLine(a, a.daysLeft !== undefined ? `${plural(a.daysLeft, "day")} left, ${a.detail}` : a.detail),
      );
    if (lines.length > 0) blocks.push(section(title, lines));
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
  return { text, blocks };
}

/** The message Slack gets at once after an on-demand revocation: who asked, why, what was cut off, what failed. */
export function buildRevokeMessage(report: RevokeReport): SlackMessage {
  const blocks: Record<string, unknown>[] = [
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
  const blocks: Record<string, unknown>[] = [
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
