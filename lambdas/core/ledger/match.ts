import type { LedgerEntry } from "../types";
import { isClassicEntry } from "./ids";
import { isLive } from "./lifecycle";

/**
 * Which entry a token is: the one matcher of the ledger, used by the sweep, revoke, import, review and the
 * register commands.
 *
 * A token is matched by its token id; failing that, by owner (any case: GitHub logins are
 * case-insensitive) and token name (exactly, as GitHub keeps it), among entries that do not yet know their
 * token id. When several entries fit, one tie-break decides, the same everywhere (`preferred`): a live entry
 * before a revoked or gone one, then the lowest entry id. (Nothing that a write changes: a match made
 * tonight is the match made tomorrow.)
 */

/** How a command names one entry: its id, its token id, or owner and token name. */
export type EntryRef = { entryId: string } | { tokenId: number } | { owner: string; tokenName: string };

export class EntryNotFoundError extends Error {
  override name = "EntryNotFoundError";
}

export class AmbiguousEntryError extends Error {
  override name = "AmbiguousEntryError";
}

/** The tie-break: negative when `a` is the better match. */
export function preferred(a: LedgerEntry, b: LedgerEntry): number {
  const live = Number(isLive(b.status)) - Number(isLive(a.status));
  if (live !== 0) return live;
  return a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0;
}

export function nameKey(owner: string, tokenName: string): string {
  return `${owner.toLowerCase()}\n${tokenName}`;
}

export function describeRef(ref: EntryRef): string {
  if ("entryId" in ref) return `entry ${ref.entryId}`;
  if ("tokenId" in ref) return `token id ${ref.tokenId}`;
  return `${ref.owner}/${ref.tokenName}`;
}

/** Most keys hold one entry: it is kept as itself, a list only when a key has several. */
type Slot = LedgerEntry | LedgerEntry[];

export class LedgerIndex {
  private readonly byId = new Map<string, LedgerEntry>();
  private readonly byTokenId = new Map<number, Slot>();
  private readonly byName = new Map<string, Slot>();

  constructor(entries: Iterable<LedgerEntry>) {
    for (const entry of entries) this.add(entry);
  }

  /** Indexes an entry (a new one, or a new version of one: the old version is forgotten). */
  add(entry: LedgerEntry): void {
    const old = this.byId.get(entry.entryId);
    if (old) {
      remove(this.byTokenId, old.tokenId, old);
      remove(this.byName, nameKey(old.owner, old.tokenName), old);
    }
    this.byId.set(entry.entryId, entry);
    if (entry.tokenId !== null) push(this.byTokenId, entry.tokenId, entry);
    // A classic PAT's entry is never a fine-grained token's, whatever their names.
    if (!isClassicEntry(entry.entryId)) push(this.byName, nameKey(entry.owner, entry.tokenName), entry);
  }

  get(entryId: string): LedgerEntry | undefined {
    return this.byId.get(entryId);
  }

  /** The entry that holds this token id, by the tie-break. */
  withTokenId(tokenId: number): LedgerEntry | undefined {
    return best(this.byTokenId.get(tokenId));
  }

  /** Every entry of this owner and token name, best first. */
  withName(owner: string, tokenName: string): LedgerEntry[] {
    return list(this.byName.get(nameKey(owner, tokenName))).sort(preferred);
  }

  /**
   * The entry a token is: by token id, else by owner and name among entries whose token id does not say
   * otherwise (one side does not know it yet). The sweep's renewal, which hands an expired token's
   * registration to its successor, builds on this.
   */
  match(token: { tokenId: number | null; owner: string; tokenName: string }): LedgerEntry | undefined {
    const byId = token.tokenId === null ? undefined : this.withTokenId(token.tokenId);
    return (
      byId ??
      this.withName(token.owner, token.tokenName).find((e) => e.tokenId === null || token.tokenId === null)
    );
  }

  /**
   * The one entry a command names. A name with history (a revoked token and its successor) means the live
   * one; two live entries of one name are ambiguous and must be named by entry id.
   */
  find(ref: EntryRef): LedgerEntry {
    const candidates =
      "entryId" in ref
        ? [this.byId.get(ref.entryId)].filter((e) => e !== undefined)
        : "tokenId" in ref
          ? list(this.byTokenId.get(ref.tokenId)).sort(preferred)
          : this.withName(ref.owner, ref.tokenName);
    const [first] = candidates;
    if (!first) throw new EntryNotFoundError(`no ledger entry for ${describeRef(ref)}`);
    const live = candidates.filter((e) => isLive(e.status));
    if (live.length > 1 || (live.length === 0 && candidates.length > 1 && "owner" in ref)) {
      throw new AmbiguousEntryError(
        `${describeRef(ref)} matches ${candidates.length} entries (${candidates.map((e) => e.entryId).join(", ")}): name one by its entry id`,
      );
    }
    return first;
  }

  /** Every entry, in the order indexed. */
  all(): IterableIterator<LedgerEntry> {
    return this.byId.values();
  }
}

/** A slot's entries, as a new list. */
function list(slot: Slot | undefined): LedgerEntry[] {
  return slot === undefined ? [] : Array.isArray(slot) ? [...slot] : [slot];
}

function best(slot: Slot | undefined): LedgerEntry | undefined {
  if (!Array.isArray(slot)) return slot;
  return slot.length === 0 ? undefined : slot.reduce((a, b) => (preferred(a, b) <= 0 ? a : b));
}

function push<K>(map: Map<K, Slot>, key: K, entry: LedgerEntry): void {
  const slot = map.get(key);
  if (slot === undefined) map.set(key, entry);
  else if (Array.isArray(slot)) slot.push(entry);
  else map.set(key, [slot, entry]);
}

function remove<K>(map: Map<K, Slot>, key: K | null, entry: LedgerEntry): void {
  if (key === null) return;
  const slot = map.get(key);
  if (slot === entry) map.delete(key);
  else if (Array.isArray(slot) && slot.includes(entry))
    map.set(
      key,
      slot.filter((e) => e !== entry),
    );
}
