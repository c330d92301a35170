/**
 * The core's vocabulary: plain data, no SDK shapes. Adapters translate GitHub's, DynamoDB's and
 * Slack's shapes into these at the edge.
 */

/** A permission level as GitHub reports it for fine-grained tokens. */
export type AccessLevel = "read" | "write" | "admin";

import type { LedgerEntry } from "./ledger/fields";

/** Permissions flattened to `group.name → level`, e.g. `repository.contents → "write"`. */
export type PermissionMap = Record<string, string>;

export type RepositorySelection = "none" | "all" | "subset";

/** A fine-grained PAT that has been granted access to the organization (one row of listPatGrants). */
export interface Grant {
  /** The grant's id (GitHub's `id`, a.k.a. pat_id): what gets revoked. */
  patId: number;
  /** The token's own id: what the ledger keys a token by. */
  tokenId: number;
  tokenName: string;
  owner: string;
  repositorySelection: RepositorySelection;
  permissions: PermissionMap;
  accessGrantedAt: string;
  tokenExpired: boolean;
  tokenExpiresAt: string | null;
  tokenLastUsedAt: string | null;
}

/** A fine-grained PAT waiting for an organization owner's approval. */
export interface PatRequest {
  requestId: number;
  tokenId: number;
  tokenName: string;
  owner: string;
  reason: string | null;
  repositorySelection: RepositorySelection;
  permissions: PermissionMap;
  createdAt: string;
  tokenExpired: boolean;
  tokenExpiresAt: string | null;
}

export const STATUSES = [
  "requested",
  "active",
  "unregistered",
  "flagged",
  "retired",
  "revoked",
  "gone",
] as const;
export type Status = (typeof STATUSES)[number];

export const REVOKE_REASONS = [
  "flagged",
  "not-needed",
  "expired",
  "unregistered",
  "unused",
  "no-expiry",
  "over-lifetime",
  "permission-drift",
  "on-demand",
  "leaked",
] as const;
/** Why patrol revoked a token: the code the ledger keeps in `revokedReason`. */
export type RevokeReason = (typeof REVOKE_REASONS)[number];

export type { LedgerEntry, PendingRevocation } from "./ledger/fields";

/** An append-only audit record: what changed, when, who or what did it, and why. */
export interface LedgerEvent {
  org: string;
  entryId: string;
  /** The entry version this event's change produced. */
  version: number;
  at: string;
  actor: string;
  action: string;
  reason: string;
  runId: string | null;
  /** Fields that changed: name → [before, after]. */
  changes: Record<string, [unknown, unknown]>;
}

/** A change to one entry: the new state, the version it replaces (null when new), and its events. */
export interface EntryWrite {
  entry: LedgerEntry;
  expectedVersion: number | null;
  events: LedgerEvent[];
}

export type AlertKind =
  | "expiring"
  | "expired-awaiting-renewal"
  | "unregistered"
  | "unused"
  | "no-expiry"
  | "over-lifetime"
  | "permission-drift"
  | "request-waiting"
  | "request-decided"
  | "classic"
  | "held"
  | "revoked";

export interface Alert {
  kind: AlertKind;
  /** Remembered in the entry's `alertsSent` once delivered, so it is sent once. */
  key: string;
  entryId: string;
  tokenId: number | null;
  tokenName: string;
  owner: string;
  slack: string;
  detail: string;
  daysLeft?: number;
  reason?: RevokeReason;
}

export interface Revocation {
  entryId: string;
  patId: number;
  tokenId: number;
  tokenName: string;
  owner: string;
  reason: RevokeReason;
  detail: string;
}

export interface HeldRevocation extends Revocation {
  heldBy: "cap" | "report-mode";
}
