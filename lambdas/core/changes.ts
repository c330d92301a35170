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
 *
 * Entries are kept in a list, in the ledger's order (created ones last), and each keeps its place in it when
 * updated: a caller that holds a place (`placeOf`) reads the entry as it now stands with `at`, an array
 * read, where a lookup by id would hash a string (the sweep does this for every token).
 */
export class LedgerChanges {
  private readonly entries: LedgerEntry[];
  /** Entry id → place in `entries`. */
  private readonly places = new Map<string, number>();
  private readonly touched = new Map<string, { expectedVersion: number | null; events: LedgerEvent[] }>();

  constructor(
    entries: Iterable<LedgerEntry>,
    private readonly ctx: ChangeContext,
  ) {
    this.entries = [...entries];
    this.entries.forEach((entry, place) => {
      this.places.set(entry.entryId, place);
    });
    if (this.places.size < this.entries.length) this.entries = this.withoutRepeatedIds();
  }

  /** Should the ledger hold an entry id twice, the later entry wins, in the earlier one's place. */
  private withoutRepeatedIds(): LedgerEntry[] {
    const unique: LedgerEntry[] = [];
    this.places.clear();
    for (const entry of this.entries) {
      const place = this.places.get(entry.entryId);
      if (place === undefined) {
        this.places.set(entry.entryId, unique.length);
        unique.push(entry);
      } else unique[place] = entry;
    }
    return unique;
  }

  get(entryId: string): LedgerEntry | undefined {
    const place = this.places.get(entryId);
    return place === undefined ? undefined : this.entries[place];
  }

  /** Where the entry is kept: its place never changes, so `at(place)` always reads the entry as it stands. */
  placeOf(entryId: string): number | undefined {
    return this.places.get(entryId);
  }

  /** The entry at `place` (from `placeOf`, or below `count`) as it now stands. */
  at(place: number): LedgerEntry {
    const entry = this.entries[place];
    if (!entry) throw new Error(`no ledger entry at place ${place}`);
    return entry;
  }

  /** The place of an entry that must exist. */
  private existing(entryId: string): number {
    const place = this.places.get(entryId);
    if (place === undefined) throw new Error(`no ledger entry ${entryId}`);
    return place;
  }

  /** How many entries there are, created ones included: places run from 0 to `count - 1`. */
  get count(): number {
    return this.entries.length;
  }

  /** `base`, or `base-2`, `base-3`… when an entry already holds that id. */
  freeId(base: string): string {
    let id = base;
    for (let n = 2; this.places.has(id); n++) id = `${base}-${n}`;
    return id;
  }

  /** Every entry as it now stands, in the ledger's order. Updating an entry while iterating is safe. */
  all(): IterableIterator<LedgerEntry> {
    return this.entries.values();
  }

  create(entry: LedgerEntry, action: string, reason: string): LedgerEntry {
    if (this.places.has(entry.entryId)) throw new Error(`ledger entry ${entry.entryId} already exists`);
    const created = {
      ...entry,
      version: 1,
      updatedAt: this.ctx.now.toISOString(),
      updatedBy: this.ctx.actor,
    };
    this.places.set(created.entryId, this.entries.length);
    this.entries.push(created);
    this.touched.set(created.entryId, { expectedVersion: null, events: [] });
    this.record(created.entryId, action, reason, { status: [null, created.status] });
    return created;
  }

  /** Applies `patch` if it changes anything, with an event saying what and why. Returns the entry. */
  update(entryId: string, patch: Partial<LedgerEntry>, action: string, reason: string): LedgerEntry {
    const place = this.existing(entryId);
    const before = this.at(place);
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
    this.entries[place] = after;
    this.record(entryId, action, reason, changes);
    return after;
  }

  /** Records an event that changes no field (a failed attempt, say), so the trail stays complete. */
  note(entryId: string, action: string, reason: string): void {
    const place = this.existing(entryId);
    const before = this.at(place);
    if (!this.touched.has(entryId)) {
      this.touched.set(entryId, { expectedVersion: before.version, events: [] });
      this.entries[place] = { ...before, version: before.version + 1 };
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
      version: this.get(entryId)?.version ?? 0,
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
      const entry = this.get(entryId);
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
