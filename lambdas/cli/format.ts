import type { LeakedReport } from "../app/revoke-leaked";
import { formatPermissions } from "../core/ledger/access";
import { formatField } from "../core/ledger/fields";
import type { ImportOutcome } from "../core/ledger-import";
import type { LedgerSummary } from "../core/ledger-ops";
import type { RevokeReport, SweepReport } from "../core/report";
import type { RuleVerdict } from "../core/request-rules";
import { plural } from "../core/text";
import type { LedgerEntry, LedgerEvent, PatRequest } from "../core/types";

/** At a terminal, long lists stop after this many rows; `--json` always has them all. */
const MAX_ROWS = 25;

function capped<T>(items: readonly T[]): { shown: readonly T[]; more: string[] } {
  const shown = items.slice(0, MAX_ROWS);
  const hidden = items.length - shown.length;
  return { shown, more: hidden > 0 ? [`  … and ${hidden} more (--json lists them all)`] : [] };
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map(
      (r) =>
        `  ${r
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd()}`,
    )
    .join("\n");
}

/** The sweep report as an operator reads it at a terminal. */
export function formatSweepReport(report: SweepReport): string {
  const out: string[] = [];
  const flags = [
    report.dryRun ? "dry run: nothing was changed" : "",
    report.mode === "report" ? "report mode" : "",
  ]
    .filter(Boolean)
    .join(", ");
  out.push(`patrol sweep · ${report.org} · ${report.now}${flags ? ` (${flags})` : ""}`);
  if (report.skipped) return `${out.join("\n")}\nskipped: ${report.skipped}\n`;
  out.push(
    `${plural(report.scanned, "token")} scanned, ${plural(report.requests, "pending request")}, ${plural(report.ledger.entries, "ledger entry", "ledger entries")}`,
  );
  if (report.listing.found > 0) {
    out.push(`${plural(report.listing.found, "grant")} the listing missed found by token id and judged`);
  }
  if (report.stopped) out.push(`stopped early: ${report.stopped}`);
  out.push("");
  const verb = report.dryRun ? "Would revoke" : "Revoked";
  out.push(`${verb} (${report.revoked.length})`);
  if (report.revoked.length > 0) {
    out.push(
      table([
        ["TOKEN", "OWNER", "REASON", "WHY"],
        ...report.revoked.map((r) => [r.tokenName, r.owner, r.reason, r.detail]),
      ]),
    );
  }
  if (report.held.length > 0) {
    out.push("", `Held (${report.held.length})`);
    out.push(
      table([
        ["TOKEN", "OWNER", "REASON", "HELD BY"],
        ...report.held.map((h) => [h.tokenName, h.owner, h.reason, h.heldBy]),
      ]),
    );
  }
  out.push("", `New alerts (${report.alerts.length})`);
  if (report.alerts.length > 0) {
    out.push(
      table([
        ["KIND", "TOKEN", "OWNER", "DETAIL"],
        ...report.alerts.map((a) => [
          a.kind,
          a.tokenName,
          a.owner,
          a.daysLeft !== undefined ? `${plural(a.daysLeft, "day")} left · ${a.detail}` : a.detail,
        ]),
      ]),
    );
  }
  if (report.errors.length > 0) {
    out.push("", `Errors (${report.errors.length})`);
    for (const e of report.errors) out.push(`  ${e.stage}: ${e.message}`);
  }
  out.push("");
  const classic = report.classic;
  if (classic) {
    out.push(
      classic.visible
        ? `Classic PATs: ${plural(classic.scanned ?? 0, "SSO authorization")} listed, ${classic.revoked?.length ?? 0} ${report.dryRun ? "would be revoked" : "revoked"}${classic.held ? `, ${classic.held} held` : ""}`
        : `Classic PATs: not visible here (${classic.note ?? "no SAML SSO"})`,
    );
  }
  out.push(
    report.slack.sent
      ? `Slack: digest sent${report.slack.ownersTold ? `, ${plural(report.slack.ownersTold, "owner")} told by DM` : ""}`
      : `Slack: not sent (${report.slack.error ?? report.slack.skipped ?? "nothing to send"})`,
  );
  out.push(
    // Entries written counts each entry once, however many of the sweep's steps changed it.
    `Ledger: ${plural(report.ledger.written, "entry", "entries")} changed${report.ledger.conflicts ? `, ${plural(report.ledger.conflicts, "conflict")} re-read` : ""}`,
  );
  return `${out.join("\n")}\n`;
}

export function formatImport(outcomes: readonly ImportOutcome[], dryRun: boolean): string {
  const count = (action: string) => outcomes.filter((o) => o.action === action).length;
  const lines = outcomes.map(
    (o) => `  row ${o.row}: ${o.action} ${o.owner}/${o.tokenName}${o.detail ? ` (${o.detail})` : ""}`,
  );
  const summary = `${count("added")} added, ${count("updated")} updated, ${count("unchanged")} unchanged${dryRun ? " (dry run: nothing written)" : ""}`;
  return `${[...lines, summary].join("\n")}\n`;
}

export function formatRevokeReport(report: RevokeReport): string {
  const out: string[] = [];
  out.push(
    `patrol revoke · ${report.org} · ${report.selector}${report.dryRun ? " (dry run: nothing was changed)" : ""}`,
  );
  out.push(`asked by ${report.requestedBy}: ${report.reason}`, "");
  out.push(`${report.dryRun ? "Would revoke" : "Revoked"} (${report.revoked.length})`);
  if (report.revoked.length > 0) {
    const { shown, more } = capped(report.revoked);
    out.push(
      table([
        ["TOKEN", "OWNER", "GRANT", "TOKEN ID"],
        ...shown.map((r) => [r.tokenName, r.owner, String(r.patId), String(r.tokenId)]),
      ]),
      ...more,
    );
  }
  if (report.failed.length > 0) {
    out.push("", `FAILED (${report.failed.length}): revoke these by hand in the org's settings now`);
    out.push(
      table([
        ["TOKEN", "OWNER", "GRANT", "ERROR"],
        ...report.failed.map((f) => [f.tokenName, f.owner, String(f.patId), f.error]),
      ]),
    );
  }
  if (report.alreadyGone.length > 0) {
    out.push("", `Already cut off (${report.alreadyGone.length})`);
    const { shown, more } = capped(report.alreadyGone);
    for (const g of shown) {
      out.push(
        `  ${g.tokenName ?? (g.patId !== undefined ? `grant ${g.patId}` : `token ${g.tokenId}`)}${g.owner ? ` of ${g.owner}` : ""}: ${g.note}`,
      );
    }
    out.push(...more);
  }
  if (report.classic.checked || report.classic.note) {
    out.push(
      "",
      report.classic.checked
        ? `Classic PAT SSO authorizations removed: ${report.classic.revoked.length}`
        : `Classic PATs: ${report.classic.note}`,
    );
    for (const f of report.classic.failed)
      out.push(`  FAILED credential ${f.credentialId} of ${f.login}: ${f.error}`);
  }
  for (const e of report.errors) out.push(`Error (${e.stage}): ${e.message}`);
  out.push(
    "",
    report.slack.sent
      ? "Slack: told"
      : `Slack: not told (${report.slack.error ?? report.slack.skipped ?? "not configured"})`,
  );
  out.push(report.summary);
  return `${out.join("\n")}\n`;
}

/** One entry as `ledger show` prints it: every field, then its whole history, oldest first. */
export function formatEntry(entry: LedgerEntry, history: readonly LedgerEvent[]): string {
  const field = (name: string, value: unknown) =>
    `  ${name.padEnd(14)} ${value === null || value === "" || value === undefined ? "—" : String(value)}`;
  const out = [
    `${entry.owner}/${entry.tokenName} · ${entry.status} · entry ${entry.entryId} (version ${entry.version})`,
    field("token id", entry.tokenId),
    field("grant id", entry.patId),
    field("request id", entry.requestId),
    field("purpose", entry.purpose),
    field("scope", formatField("scope", entry.scope)),
    field("permissions", formatField("permissions", entry.permissions)),
    field("risks", entry.risks),
    field("approved by", entry.approvedBy),
    field("created", entry.createdAt),
    field("expires", entry.expiresAt),
    field("needed until", entry.neededUntil),
    field("renew", entry.renew ? "yes" : "no"),
    field("slack", entry.slack),
    field("notes", entry.notes),
  ];
  if (entry.revokedAt)
    out.push(
      field(
        "revoked",
        `${entry.revokedAt} by ${entry.revokedBy}: ${entry.revokedReason}${entry.revokedDetail ? ` (${entry.revokedDetail})` : ""}`,
      ),
    );
  if (entry.pendingRevocation)
    out.push(field("revoking", `${entry.pendingRevocation.reason}: ${entry.pendingRevocation.detail}`));
  out.push("", `History (${history.length})`);
  for (const ev of [...history].sort((a, b) => a.version - b.version || a.at.localeCompare(b.at))) {
    const changed = Object.keys(ev.changes);
    out.push(
      `  ${ev.at}  v${ev.version}  ${ev.action.padEnd(16)} ${ev.actor}: ${ev.reason}${changed.length ? ` [${changed.join(", ")}]` : ""}`,
    );
  }
  return `${out.join("\n")}\n`;
}

export function formatLedgerSummary(summary: LedgerSummary): string {
  const out = [`Ledger of ${summary.org} · ${summary.at.slice(0, 10)} · ${summary.total} entries`, ""];
  out.push(
    table([
      ["STATUS", "COUNT"],
      ...Object.entries(summary.byStatus)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, String(v)]),
    ]),
  );
  const list = (title: string, rows: string[][]) => {
    out.push("", `${title} (${rows.length - 1})`);
    if (rows.length > 1) out.push(table(rows));
  };
  list("Expiring in the next 30 days", [
    ["TOKEN", "OWNER", "EXPIRES", "DAYS LEFT"],
    ...summary.expiringSoon.map((e) => [e.tokenName, e.owner, e.expiresAt.slice(0, 10), String(e.daysLeft)]),
  ]);
  list("Unregistered (seen on GitHub, not in the register)", [
    ["TOKEN", "OWNER", "FIRST SEEN"],
    ...summary.unregistered.map((e) => [e.tokenName, e.owner, e.firstSeenAt?.slice(0, 10) ?? "—"]),
  ]);
  list("Without a purpose or an approver", [
    ["TOKEN", "OWNER", "MISSING"],
    ...summary.missingPurposeOrApprover.map((e) => [e.tokenName, e.owner, e.missing.join(", ")]),
  ]);
  list("Requests waiting for review", [
    ["TOKEN", "OWNER", "REQUEST"],
    ...summary.pendingRequests.map((e) => [e.tokenName, e.owner, String(e.requestId ?? "—")]),
  ]);
  return `${out.join("\n")}\n`;
}

/** A leaked-value revocation: how many, their hashes (never a value), the entry flagged, what failed. */
export function formatLeakedReport(report: LeakedReport): string {
  const out = [
    `patrol revoke · ${report.org} · leaked token values`,
    `asked by ${report.requestedBy}: ${report.reason}`,
    "",
  ];
  out.push(`Revoked at GitHub (${report.revoked})`);
  for (const h of report.hashedTokens) out.push(`  hashed_token ${h}`);
  if (report.flagged)
    out.push(
      "",
      `Flagged in the ledger: ${report.flagged.owner}/${report.flagged.tokenName} (${report.flagged.entryId})`,
    );
  if (report.errors.length > 0) {
    out.push("", `Errors (${report.errors.length})`);
    for (const e of report.errors) out.push(`  ${e.stage}: ${e.message}`);
  }
  out.push(
    "",
    `Slack: ${report.slack.sent ? "told" : (report.slack.error ?? report.slack.skipped ?? "not told")}`,
    report.summary,
  );
  return `${out.join("\n")}\n`;
}

/** `patrol requests explain`: the request, each rule tried in order with what each condition found. */
export function formatExplanation(explained: {
  request: PatRequest;
  repositoryCount: number | null;
  verdicts: readonly RuleVerdict[];
}): string {
  const { request: r, repositoryCount, verdicts } = explained;
  const where =
    r.repositorySelection === "subset"
      ? `on ${repositoryCount === null ? "some" : repositoryCount} ${repositoryCount === 1 ? "repository" : "repositories"}`
      : r.repositorySelection === "all"
        ? "on every repository"
        : "on no repository";
  const lines = [
    `request ${r.requestId} · ${r.tokenName} of ${r.owner} · ${formatPermissions(r.permissions) || "no permissions"} ${where} · ${r.tokenExpiresAt ? `expires ${r.tokenExpiresAt.slice(0, 10)}` : "never expires"}`,
    `reason: ${r.reason ? `“${r.reason}”` : "(none given)"}`,
    "",
  ];
  if (verdicts.length === 0) {
    lines.push("No approval rules are configured (policy requestRules): a person decides every request.");
    return `${lines.join("\n")}\n`;
  }
  lines.push("Rules, in order (the first that matches decides):");
  for (const { rule, findings, matches } of verdicts) {
    lines.push(`  ${matches ? "✓" : "✗"} ${rule.name} (${rule.decision})`);
    for (const f of findings) lines.push(`      ${f.holds ? "✓" : "✗"} ${f.condition}: ${f.says}`);
  }
  const decided = verdicts.find((v) => v.matches);
  lines.push(
    "",
    decided
      ? `→ rule ${decided.rule.name} would ${decided.rule.decision} it.`
      : "→ no rule matches: a person decides (patrol ledger approve / deny, or the digest's buttons).",
  );
  return `${lines.join("\n")}\n`;
}
