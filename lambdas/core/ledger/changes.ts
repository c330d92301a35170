import { isDeepStrictEqual } from "node:util";
import type { EntryWrite, Grant, LedgerEntry, LedgerEvent, PatRequest, Status } from "../types";
import { formatPermissions } from "./access";
import { maxLength, newEntry } from "./fields";
import { entryIdForToken } from "./ids";
import { assertTransition, missingForRegistration, type Writer } from "./lifecycle";
import { LedgerIndex } from "./match";

export interface ChangeContext {
  /** The org's canonical login (lower case): the ledger's partition. */
  org: string;
  now: Date;
  /** Who the ledger records: a person, `patrol-sweep`, `slack:U123 (jane)`… */
  actor: string;
  /** Which kind of writer the actor is: the lifecycle says which status changes each may make. */
  writer: Writer;
  runId: string | null;
}

/** Fields that are bookkeeping, not content: left out of an event's list of changes. */
const BOOKKEEPING = new Set<keyof LedgerEntry>(["version", "updatedAt", "updatedBy"]);

/** The content fields in which two versions of an entry differ (bookkeeping aside). */
export function changedFields(before: LedgerEntry, after: LedgerEntry): (keyof LedgerEntry)[] {
  return (Object.keys(after) as (keyof LedgerEntry)[]).filter(
    (field) => !BOOKKEEPING.has(field) && !isDeepStrictEqual(before[field], after[field]),
  );
}

/**
 * Accumulates changes to ledger entries in memory, each with its event, and turns them into conditional
 * writes: one per touched entry, guarded by the version it was read at. Every status change is checked
 * against the lifecycle. Pure.
 */
export class LedgerChanges {
  /** Entry id → entry as it now stands, in the ledger's order (created ones last). */
  private readonly entries = new Map<string, LedgerEntry>();
  private readonly touched = new Map<string, { expectedVersion: number | null; events: LedgerEvent[] }>();
  /** The matcher over the entries as they now stand. */
  readonly index: LedgerIndex;

  constructor(
    entries: Iterable<LedgerEntry>,
    private readonly ctx: ChangeContext,
  ) {
    // Should the ledger hold an entry id twice, the later wins, in the earlier one's place.
    for (const entry of entries) this.entries.set(entry.entryId, entry);
    this.index = new LedgerIndex(this.entries.values());
  }

  get(entryId: string): LedgerEntry | undefined {
    return this.entries.get(entryId);
  }

  /** The entry, which must exist. */
  existing(entryId: string): LedgerEntry {
    const entry = this.entries.get(entryId);
    if (!entry) throw new Error(`no ledger entry ${entryId}`);
    return entry;
  }

  /** `base`, or `base-2`, `base-3`… when an entry already holds that id. */
  freeId(base: string): string {
    let id = base;
    for (let n = 2; this.entries.has(id); n++) id = `${base}-${n}`;
    return id;
  }

  /** Every entry as it now stands, in the ledger's order. */
  all(): LedgerEntry[] {
    return [...this.entries.values()];
  }

  create(entry: LedgerEntry, action: string, reason: string): LedgerEntry {
    if (this.entries.has(entry.entryId)) throw new Error(`ledger entry ${entry.entryId} already exists`);
    assertTransition(entry.entryId, null, entry.status, this.ctx.writer);
    const created = {
      ...entry,
      org: this.ctx.org,
      version: 1,
      updatedAt: this.ctx.now.toISOString(),
      updatedBy: this.ctx.actor,
    };
    this.put(created);
    this.touched.set(created.entryId, { expectedVersion: null, events: [] });
    this.record(created, action, reason, { status: [null, created.status] });
    return created;
  }

  /**
   * Applies `patch` if it changes anything, with an event saying what and why; a status change must be one
   * the lifecycle allows this writer. Returns the entry as it now stands.
   */
  update(entryId: string, patch: Partial<LedgerEntry>, action: string, reason: string): LedgerEntry {
    const before = this.existing(entryId);
    const full: Partial<LedgerEntry> = { ...patch };
    if (patch.status !== undefined && patch.status !== before.status) {
      assertTransition(entryId, before.status, patch.status, this.ctx.writer);
      full.goneFrom = goneFrom(before.status, patch.status);
    }
    const changes: Record<string, [unknown, unknown]> = {};
    for (const [field, value] of Object.entries(full) as [keyof LedgerEntry, unknown][]) {
      if (!BOOKKEEPING.has(field) && !isDeepStrictEqual(before[field], value)) {
        changes[field] = [before[field], value];
      }
    }
    if (Object.keys(changes).length === 0) return before;
    const after: LedgerEntry = {
      ...before,
      ...full,
      version: this.nextVersion(before),
      updatedAt: this.ctx.now.toISOString(),
      updatedBy: this.ctx.actor,
    };
    this.put(after);
    this.record(after, action, reason, changes);
    return after;
  }

  /**
   * An unregistered token whose entry now has a purpose and an approver is adopted: it becomes active. The
   * one place register, update and import complete a registration.
   */
  adoptIfComplete(entryId: string, reason: string): LedgerEntry {
    const entry = this.existing(entryId);
    if (entry.status !== "unregistered" || missingForRegistration(entry).length > 0) return entry;
    return this.update(entryId, { status: "active" }, "adopted", `registered: ${reason}`);
  }

  /** Records an event that changes no field (a failed attempt, say), so the trail stays complete. */
  note(entryId: string, action: string, reason: string): void {
    const before = this.existing(entryId);
    const after = { ...before, version: this.nextVersion(before) };
    this.put(after);
    this.record(after, action, reason, {});
  }

  /** The version an entry's write will carry: one above the version read, however many changes it gets. */
  private nextVersion(before: LedgerEntry): number {
    if (this.touched.has(before.entryId)) return before.version;
    this.touched.set(before.entryId, { expectedVersion: before.version, events: [] });
    return before.version + 1;
  }

  private put(entry: LedgerEntry): void {
    this.entries.set(entry.entryId, entry);
    this.index.add(entry);
  }

  private record(
    entry: LedgerEntry,
    action: string,
    reason: string,
    changes: Record<string, [unknown, unknown]>,
  ): void {
    this.touched.get(entry.entryId)?.events.push({
      org: this.ctx.org,
      entryId: entry.entryId,
      version: entry.version,
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
      const entry = this.entries.get(entryId);
      if (entry) writes.push({ entry, expectedVersion, events });
    }
    return writes;
  }
}

/** Going `gone` remembers the status it left, to return to if the grant is listed again. */
function goneFrom(from: Status, to: Status): Status | null {
  return to === "gone" ? from : null;
}

/** What GitHub says of a token, listed as a grant or a request, as a new entry's first facts. */
function fromGitHub(changes: LedgerChanges, token: Grant | PatRequest, now: Date) {
  return {
    org: "",
    entryId: changes.freeId(entryIdForToken(token.tokenId)),
    tokenId: token.tokenId,
    tokenName: token.tokenName,
    owner: token.owner,
    scope: { selection: token.repositorySelection, repositories: [] },
    expiresAt: token.tokenExpiresAt,
    firstSeenAt: now.toISOString(),
  };
}

/** A new entry for a grant the ledger does not know: `unregistered`, with what GitHub says of it. */
export function discoveredEntry(changes: LedgerChanges, grant: Grant, now: Date): LedgerEntry {
  return newEntry({
    ...fromGitHub(changes, grant, now),
    patId: grant.patId,
    status: "unregistered",
    notes: `seen with ${formatPermissions(grant.permissions) || "no permissions"}`,
  });
}

/** A new entry for a pending request: `requested`, the requester's stated reason as its purpose. */
export function requestedEntry(changes: LedgerChanges, request: PatRequest, now: Date): LedgerEntry {
  return newEntry({
    ...fromGitHub(changes, request, now),
    requestId: request.requestId,
    purpose: (request.reason ?? "").slice(0, maxLength("purpose")),
    permissions: request.permissions,
    createdAt: request.createdAt,
    status: "requested",
  });
}
