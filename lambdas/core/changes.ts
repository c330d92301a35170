import { formatPermissions } from "./permissions";
import type { EntryWrite, Grant, LedgerEntry, LedgerEvent, PatRequest } from "./types";

export interface ChangeContext {
  org: string;
  now: Date;
  actor: string;
  runId: string | null;
}

/** Fields that are bookkeeping, not content: left out of an event's list of changes. */
const BOOKKEEPING = new Set<keyof LedgerEntry>(["version", "updatedAt", "updatedBy"]);

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Accumulates changes to ledger entries in memory, each with its event, and turns them into
 * conditional writes: one per touched entry, guarded by the version it was read at. Pure.
 */
export class LedgerChanges {
  private readonly current = new Map<string, LedgerEntry>();
  private readonly touched = new Map<string, { expectedVersion: number | null; events: LedgerEvent[] }>();

  constructor(
    entries: Iterable<LedgerEntry>,
    private readonly ctx: ChangeContext,
  ) {
    for (const entry of entries) this.current.set(entry.entryId, entry);
  }

  get(entryId: string): LedgerEntry | undefined {
    return this.current.get(entryId);
  }

  /** `base`, or `base-2`, `base-3`… when an entry already holds that id. */
  freeId(base: string): string {
    let id = base;
    for (let n = 2; this.current.has(id); n++) id = `${base}-${n}`;
    return id;
  }

  all(): IterableIterator<LedgerEntry> {
    return this.current.values();
  }

  create(entry: LedgerEntry, action: string, reason: string): LedgerEntry {
    if (this.current.has(entry.entryId)) throw new Error(`ledger entry ${entry.entryId} already exists`);
    const created = {
      ...entry,
      version: 1,
      updatedAt: this.ctx.now.toISOString(),
      updatedBy: this.ctx.actor,
    };
    this.current.set(created.entryId, created);
    this.touched.set(created.entryId, { expectedVersion: null, events: [] });
    this.record(created.entryId, action, reason, { status: [null, created.status] });
    return created;
  }

  /** Applies `patch` if it changes anything, with an event saying what and why. Returns the entry. */
  update(entryId: string, patch: Partial<LedgerEntry>, action: string, reason: string): LedgerEntry {
    const before = this.current.get(entryId);
    if (!before) throw new Error(`no ledger entry ${entryId}`);
    const changes: Record<string, [unknown, unknown]> = {};
    for (const [field, value] of Object.entries(patch) as [keyof LedgerEntry, unknown][]) {
      if (!BOOKKEEPING.has(field) && !same(before[field], value)) changes[field] = [before[field], value];
    }
    if (Object.keys(changes).length === 0) return before;
    const after: LedgerEntry = {
      ...before,
      ...patch,
      updatedAt: this.ctx.now.toISOString(),
      updatedBy: this.ctx.actor,
    };
    if (!this.touched.has(entryId)) {
      this.touched.set(entryId, { expectedVersion: before.version, events: [] });
      after.version = before.version + 1;
    }
    this.current.set(entryId, after);
    this.record(entryId, action, reason, changes);
    return after;
  }

  /** Records an event that changes no field (a failed attempt, say), so the trail stays complete. */
  note(entryId: string, action: string, reason: string): void {
    const before = this.current.get(entryId);
    if (!before) throw new Error(`no ledger entry ${entryId}`);
    if (!this.touched.has(entryId)) {
      this.touched.set(entryId, { expectedVersion: before.version, events: [] });
      this.current.set(entryId, { ...before, version: before.version + 1 });
    }
    this.record(entryId, action, reason, {});
  }

  private record(
    entryId: string,
    action: string,
    reason: string,
    changes: Record<string, [unknown, unknown]>,
  ) {
    this.touched.get(entryId)?.events.push({
      org: this.ctx.org,
      entryId,
      version: this.current.get(entryId)?.version ?? 0,
      at: this.ctx.now.toISOString(),
      actor: this.ctx.actor,
      action,
      reason,
      runId: this.ctx.runId,
      changes,
    });
  }

  writes(): EntryWrite[] {
    const writes: EntryWrite[] = [];
    for (const [entryId, { expectedVersion, events }] of this.touched) {
      const entry = this.current.get(entryId);
      if (entry) writes.push({ entry, expectedVersion, events });
    }
    return writes;
  }
}

/**
 * Two rounds of writes as one: an entry written in both is written once, from the version the first read,
 * with both rounds' events. Saves a request per entry when the second round follows right after.
 */
export function mergeWrites(first: readonly EntryWrite[], second: readonly EntryWrite[]): EntryWrite[] {
  const merged = new Map(first.map((w) => [w.entry.entryId, w]));
  for (const w of second) {
    const earlier = merged.get(w.entry.entryId);
    if (!earlier) {
      merged.set(w.entry.entryId, w);
      continue;
    }
    const version = earlier.entry.version;
    merged.set(w.entry.entryId, {
      entry: { ...w.entry, version },
      expectedVersion: earlier.expectedVersion,
      events: [...earlier.events, ...w.events.map((e) => ({ ...e, version }))],
    });
  }
  return [...merged.values()];
}

/** A blank entry with every field present, for code that creates entries. */
export function newEntry(
  fields: Pick<LedgerEntry, "org" | "entryId" | "tokenName" | "owner" | "status"> & Partial<LedgerEntry>,
): LedgerEntry {
  return {
    tokenId: null,
    patId: null,
    requestId: null,
    purpose: "",
    scope: "",
    permissions: "",
    createdAt: null,
    expiresAt: null,
    approvedBy: "",
    risks: "",
    renew: false,
    neededUntil: null,
    slack: "",
    notes: "",
    firstSeenAt: null,
    alertsSent: {},
    pendingRevocation: null,
    revokedReason: null,
    revokedAt: null,
    revokedBy: null,
    version: 0,
    updatedAt: "",
    updatedBy: "",
    ...fields,
  };
}

/** The entry id of a token patrol knows by id. Entries registered by name keep the id they were given. */
export function entryIdForToken(tokenId: number): string {
  return `token-${tokenId}`;
}

/** A new entry for a grant the ledger does not know: `unregistered`, with what GitHub says of it. */
export function discoveredEntry(changes: LedgerChanges, org: string, grant: Grant, now: Date): LedgerEntry {
  return newEntry({
    org,
    entryId: changes.freeId(entryIdForToken(grant.tokenId)),
    tokenId: grant.tokenId,
    patId: grant.patId,
    tokenName: grant.tokenName,
    owner: grant.owner,
    scope: grant.repositorySelection,
    expiresAt: grant.tokenExpiresAt,
    status: "unregistered",
    firstSeenAt: now.toISOString(),
    notes: `seen with ${formatPermissions(grant.permissions) || "no permissions"}`,
  });
}

/** A new entry for a pending request: `requested`, the requester's stated reason as its purpose. */
export function requestedEntry(
  changes: LedgerChanges,
  org: string,
  request: PatRequest,
  now: Date,
): LedgerEntry {
  return newEntry({
    org,
    entryId: changes.freeId(entryIdForToken(request.tokenId)),
    tokenId: request.tokenId,
    requestId: request.requestId,
    tokenName: request.tokenName,
    owner: request.owner,
    purpose: request.reason ?? "",
    scope: request.repositorySelection,
    permissions: formatPermissions(request.permissions),
    createdAt: request.createdAt,
    expiresAt: request.tokenExpiresAt,
    status: "requested",
    firstSeenAt: now.toISOString(),
  });
}
