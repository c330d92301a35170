import type { EntryWrite, LedgerEntry } from "../core/types";
import type { Ledger } from "./ports";

/**
 * How every writer changes the ledger: decide on the entries as read, write each change conditional on the
 * version read, and where another writer got there first, re-read that entry and decide again on what it
 * now says. No write is ever made on a version the writer did not read, and the other writer's change
 * (an operator's flag, a revocation, a click in Slack) survives.
 */

/** What a writer makes of the entries: the writes, and whatever else the decision says. */
export type Decide<T> = (view: ReadonlyMap<string, LedgerEntry>) => { writes: EntryWrite[]; result: T };

/** The named entries of a view, for a decision about a few of them. */
export function pick(view: ReadonlyMap<string, LedgerEntry>, entryIds: Iterable<string>): LedgerEntry[] {
  return [...new Set(entryIds)].flatMap((id) => view.get(id) ?? []);
}

export interface Committed<T> {
  /** The last decision, made on the entries as they finally stood. */
  result: T;
  /** The entries written (each once, however many attempts it took). */
  written: string[];
  /** Conflicts met on the way (each re-read and decided again). */
  conflicts: number;
  /** Entries still changing under this writer after every attempt: nothing of this decision was written to them. */
  unresolved: { entryId: string; message: string }[];
}

const ATTEMPTS = 3;

/**
 * Decides, writes, and on a conflict re-reads the conflicted entries and decides again (up to 3 times).
 * `view` is the writer's picture of the org's entries: it is kept up to date with what was written and
 * re-read, so the writer's next step decides on the truth, never on what it planned.
 */
export async function commit<T>(
  ledger: Ledger,
  org: string,
  view: Map<string, LedgerEntry>,
  decide: Decide<T>,
  /** The decision already made on `view` as it stands, when the caller has it (the sweep's plan). */
  first?: ReturnType<Decide<T>>,
): Promise<Committed<T>> {
  const done = new Set<string>();
  let conflicts = 0;
  for (let attempt = 1; ; attempt++) {
    const decision = attempt === 1 && first ? first : decide(view);
    // Decided again on the entries as they now stand, an entry already written has nothing left to change,
    // unless the re-read changed the decision about it (a cap no longer exceeded, say): that is written.
    // A write that only notes an attempt (no field changes) is not repeated for an entry already written.
    const writes = decision.writes.filter(
      (w) => !done.has(w.entry.entryId) || w.events.some((e) => Object.keys(e.changes).length > 0),
    );
    const outcome = await ledger.write(writes);
    for (const entry of outcome.written) {
      view.set(entry.entryId, entry);
      done.add(entry.entryId);
    }
    if (outcome.conflicts.length === 0) {
      return { result: decision.result, written: [...done], conflicts, unresolved: [] };
    }
    conflicts += outcome.conflicts.length;
    const ids = outcome.conflicts.map((c) => c.entryId);
    for (const fresh of await ledger.read(org, ids)) view.set(fresh.entryId, fresh);
    if (attempt === ATTEMPTS) {
      return { result: decision.result, written: [...done], conflicts, unresolved: outcome.conflicts };
    }
  }
}
