/**
 * The core's vocabulary: plain data, no SDK shapes. Adapters translate GitHub's, DynamoDB's and
 * Slack's shapes into these at the edge.
 */

/** A permission level as GitHub reports it for fine-grained tokens. */
export type AccessLevel = "read" | "write" | "admin";

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

export type RevokeReason =
  | "flagged"
  | "not-needed"
  | "expired"
  | "unregistered"
  | "unused"
  | "no-expiry"
  | "over-lifetime"
  | "permission-drift"
  | "on-demand";

/** A revocation that was decided but not yet confirmed: written before the GitHub call. */
export interface PendingRevocation {
  reason: RevokeReason;
  detail: string;
  patId: number;
  at: string;
  by: string;
  runId: string;
}

/** One token's row in the ledger (one per token per org). */
export interface LedgerEntry {
  org: string;
  /** Stable identifier of the entry within the org. */
  entryId: string;
  tokenId: number | null;
  /** The grant id last seen for this token. */
  patId: number | null;
  /** The pending request id, while the token is (or was) requested. */
  requestId: number | null;
  tokenName: string;
  owner: string;
  purpose: string;
  /** Repository selection and repositories, as approved: e.g. `subset: api, web` or `all`. */
  scope: string;
  /** Permissions approved, e.g. `contents:read; issues:write` (empty: not recorded). */
  permissions: string;
  createdAt: string | null;
  expiresAt: string | null;
  approvedBy: string;
  risks: string;
  renew: boolean;
  neededUntil: string | null;
  slack: string;
  notes: string;
  status: Status;
  /** When patrol first saw the token's grant or request. */
  firstSeenAt: string | null;
  /** Alert keys already delivered → when. Keeps every alert to once per threshold. */
  alertsSent: Record<string, string>;
  pendingRevocation: PendingRevocation | null;
  revokedReason: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  /** Optimistic-concurrency version: every write is conditional on it. */
  version: number;
  updatedAt: string;
  updatedBy: string;
}

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
