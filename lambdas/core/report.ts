import type { Alert, AlertKind, HeldRevocation, Revocation } from "./types";

/** The sweep report: what `patrol sweep --json` prints and the sweep Lambda returns (DESIGN.md). */
export interface SweepReport {
  org: string;
  dryRun: boolean;
  mode: "enforce" | "report";
  runId: string;
  now: string;
  scanned: number;
  requests: number;
  revoked: RevokedToken[];
  alerts: ReportAlert[];
  held: (RevokedToken & { heldBy: HeldRevocation["heldBy"] })[];
  errors: ReportError[];
  /** `ownersTold`: owners told of an expiry by DM, when there were any. */
  slack: { sent: boolean; skipped?: string; error?: string; ownersTold?: number };
  ledger: { entries: number; written: number; conflicts: number };
  /**
   * How far the listing was believed: live grants the ledger knew, how many the listing missed, how many of
   * those were looked up by token id (`confirmed`) and found after all (`found`).
   */
  listing: { known: number; missing: number; confirmed: number; found: number; suspect: boolean };
  /**
   * Classic PATs (SAML SSO orgs only): whether the org shows them, and if so how many were listed,
   * which were revoked (in a dry run: would be) and how many held; if not, why (said once a night, never
   * an error).
   */
  classic?: {
    visible: boolean;
    note?: string;
    scanned?: number;
    revoked?: { credentialId: number; login: string; lastEight: string; reason: string }[];
    held?: number;
  };
  /** Why the run stopped before its end, when its budget ran out or a wait would not fit in it. */
  stopped?: string;
  /** Why the sweep did not run at all (another sweep of the org holds its lease). */
  skipped?: string;
}

/** A revocation as reports show it: the token, the grant, the reason. */
export type RevokedToken = Omit<Revocation, "entryId">;

export interface ReportAlert {
  kind: AlertKind;
  tokenId: number | null;
  tokenName: string;
  owner: string;
  detail: string;
  daysLeft?: number;
}

export interface ReportError {
  stage: "list" | "ledger" | "revoke" | "review" | "slack" | "config";
  message: string;
  patId?: number;
  entryId?: string;
}

export function toRevokedToken(r: Revocation): RevokedToken {
  return {
    patId: r.patId,
    tokenId: r.tokenId,
    tokenName: r.tokenName,
    owner: r.owner,
    reason: r.reason,
    detail: r.detail,
  };
}

export function toReportAlert(a: Alert): ReportAlert {
  return {
    kind: a.kind,
    tokenId: a.tokenId,
    tokenName: a.tokenName,
    owner: a.owner,
    detail: a.detail,
    ...(a.daysLeft !== undefined ? { daysLeft: a.daysLeft } : {}),
  };
}

/** 0 done; 1 finished with errors; 3 held by the revocation cap (DESIGN.md's exit codes). */
export function exitCodeOf(report: SweepReport): 0 | 1 | 3 {
  if (report.errors.length > 0) return 1;
  if (report.held.some((h) => h.heldBy === "cap")) return 3;
  return 0;
}

/** What an on-demand revocation did: the revoke Lambda's return value and `patrol revoke --json`. */
export interface RevokeReport {
  org: string;
  dryRun: boolean;
  selector: string;
  reason: string;
  requestedBy: string;
  runId: string;
  at: string;
  /** Grants the selector matched on GitHub. */
  matched: number;
  revoked: RevokedGrant[];
  alreadyGone: { patId?: number; tokenId?: number; tokenName?: string; owner?: string; note: string }[];
  failed: (RevokedGrant & { error: string })[];
  classic: {
    checked: boolean;
    note?: string;
    revoked: { credentialId: number; login: string; lastEight: string }[];
    failed: { credentialId: number; login: string; error: string }[];
  };
  slack: { sent: boolean; skipped?: string; error?: string };
  errors: ReportError[];
  /** One line for a person: what happened. */
  summary: string;
}

export interface RevokedGrant {
  patId: number;
  tokenId: number;
  tokenName: string;
  owner: string;
}

/** 0 done; 1 some revocation failed or a step failed (a Slack failure included, so it is seen). */
export function revokeExitCode(report: RevokeReport): 0 | 1 {
  return report.failed.length > 0 || report.classic.failed.length > 0 || report.errors.length > 0 ? 1 : 0;
}
