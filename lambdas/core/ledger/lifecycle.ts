import type { Status } from "../types";

/**
 * The status lifecycle: which status may become which, and who may make each change. One table; every
 * write through `LedgerChanges` is checked against it, and the tests iterate it, so a new transition is one
 * line here.
 *
 * - `flagged` never clears itself: only an operator, on purpose, takes a token out of it.
 * - `gone` is a finding, not a verdict: when the grant is listed again the entry returns to judgement
 *   (to the status it had, kept in `goneFrom`).
 * - `unregistered` becomes `active` once the entry has a purpose and an approver (register, update, import).
 */

/** Who changes the ledger: the nightly sweep, a person at the CLI, an import, a review of a request, an
 * on-demand revocation, and (coming) Slack actions and GitHub webhooks. */
export const WRITERS = ["sweep", "operator", "import", "review", "revoke", "slack", "webhook"] as const;
export type Writer = (typeof WRITERS)[number];

type Row = readonly [from: Status | null, to: Status, by: readonly Writer[], why: string];

/** `null` as `from` is the entry's creation. */
export const TRANSITIONS: readonly Row[] = [
  [null, "requested", ["sweep", "review", "webhook"], "a pending request is pulled in"],
  [null, "unregistered", ["sweep", "revoke"], "a grant with no entry is discovered"],
  [null, "active", ["operator", "import", "slack"], "a token is registered"],
  [null, "active", ["sweep"], "a renewal: the new token inherits its predecessor's registration"],
  [null, "retired", ["import"], "the spreadsheet says no longer needed"],
  [null, "flagged", ["import"], "the spreadsheet says compromised"],
  [null, "revoked", ["revoke", "import"], "a classic PAT removed on demand; a patrol export restored"],
  [null, "gone", ["import"], "a patrol export restored"],
  [null, "requested", ["import"], "a patrol export restored"],
  [null, "unregistered", ["import"], "a patrol export restored"],

  ["requested", "active", ["sweep", "review", "webhook"], "the request was approved"],
  ["requested", "gone", ["sweep", "review", "webhook"], "the request was denied or withdrawn"],
  ["requested", "flagged", ["operator", "import", "revoke", "slack"], "compromised"],
  ["revoked", "flagged", ["sweep"], "requested again after a compromise"],
  ["requested", "revoked", ["sweep"], "a revocation in flight confirmed"],

  ["unregistered", "active", ["operator", "import", "slack"], "adopted: purpose and approver given"],
  ["unregistered", "retired", ["operator", "import", "slack"], "no longer needed"],
  ["unregistered", "flagged", ["operator", "import", "revoke", "slack"], "compromised"],
  ["unregistered", "revoked", ["sweep", "revoke"], "revoked"],
  ["unregistered", "gone", ["sweep"], "no longer listed"],

  ["active", "retired", ["operator", "import", "slack"], "no longer needed"],
  ["active", "flagged", ["operator", "import", "revoke", "slack"], "compromised"],
  ["active", "revoked", ["sweep"], "revoked by the sweep"],
  ["active", "gone", ["sweep"], "no longer listed"],

  ["retired", "active", ["operator", "import", "slack"], "needed again"],
  ["retired", "flagged", ["operator", "import", "revoke", "slack"], "compromised"],
  ["retired", "revoked", ["sweep"], "revoked by the sweep"],
  ["retired", "gone", ["sweep"], "no longer listed"],

  ["flagged", "active", ["operator"], "cleared by a person, on purpose"],
  ["flagged", "revoked", ["revoke"], "an unregistered token revoked on demand (its reason keeps it cut off)"],

  [
    "revoked",
    "flagged",
    ["sweep", "operator", "revoke", "slack"],
    "granted again after a compromise; flagged",
  ],
  ["revoked", "unregistered", ["sweep"], "granted access again: to be approved anew"],
  ["revoked", "requested", ["sweep", "review", "webhook"], "requested again"],

  ["gone", "active", ["sweep"], "listed again"],
  ["gone", "retired", ["sweep"], "listed again"],
  ["gone", "unregistered", ["sweep"], "listed again"],
  ["gone", "requested", ["sweep", "review", "webhook"], "listed again, or requested again"],
  ["gone", "flagged", ["sweep", "operator", "revoke", "slack"], "compromised"],
  ["gone", "revoked", ["sweep", "revoke"], "a revocation confirmed after the grant stopped being listed"],
];

const allowed = new Map<string, Set<Writer>>();
for (const [from, to, by] of TRANSITIONS) {
  const key = `${from}>${to}`;
  allowed.set(key, new Set([...(allowed.get(key) ?? []), ...by]));
}

/** Whether `writer` may move an entry from `from` (null: a new entry) to `to`. Staying put is always allowed. */
export function mayTransition(from: Status | null, to: Status, writer: Writer): boolean {
  return from === to || (allowed.get(`${from}>${to}`)?.has(writer) ?? false);
}

export class LifecycleError extends Error {
  override name = "LifecycleError";
}

export function assertTransition(entryId: string, from: Status | null, to: Status, writer: Writer): void {
  if (!mayTransition(from, to, writer)) {
    throw new LifecycleError(
      from === null
        ? `entry ${entryId} cannot be created as ${to} by ${writer}`
        : `entry ${entryId} cannot go from ${from} to ${to} (by ${writer})`,
    );
  }
}

/** Statuses whose token patrol still governs (not revoked or gone). */
export const LIVE_STATUSES: ReadonlySet<Status> = new Set([
  "requested",
  "active",
  "unregistered",
  "flagged",
  "retired",
]);

export function isLive(status: Status): boolean {
  return LIVE_STATUSES.has(status);
}

/** The registration a person completes: an unregistered entry with these becomes active. */
export function missingForRegistration(entry: { purpose: string; approvedBy: string }): string[] {
  return [entry.purpose.trim() ? "" : "purpose", entry.approvedBy.trim() ? "" : "approver"].filter(Boolean);
}

/** The runbook: a request is approved only once its purpose and risks are written down. */
export function missingForApproval(entry: { purpose: string; risks: string }): string[] {
  return [entry.purpose.trim() ? "" : "purpose", entry.risks.trim() ? "" : "risks"].filter(Boolean);
}
