import type { ChangeContext } from "../core/ledger/changes";
import type { Writer } from "../core/ledger/lifecycle";
import type { LedgerRecord } from "../core/ledger-csv";
import { type ImportOutcome, planImport } from "../core/ledger-import";
import { completeReview, type EntryFields, LedgerOpError, planReview } from "../core/ledger-ops";
import type { EntryWrite, LedgerEntry, LedgerEvent } from "../core/types";
import { commit } from "./commit";
import type { GrantSource, Ledger } from "./ports";

/**
 * Keeping the register: the use cases behind `patrol ledger …` (and, coming, Slack's buttons), each as its
 * steps. Every change is decided on the entries as read and written conditional on their versions; a
 * conflict is re-read and decided again (lambdas/app/commit.ts).
 */

export class LedgerConflictError extends Error {
  override name = "LedgerConflictError";
}

export interface Actor {
  org: string;
  by: string;
  writer: Writer;
  runId: string;
  now: Date;
}

function contextOf(actor: Actor): ChangeContext {
  return { org: actor.org, now: actor.now, actor: actor.by, writer: actor.writer, runId: actor.runId };
}

export interface Changed {
  entry: LedgerEntry;
  history: LedgerEvent[];
}

/**
 * One change to one entry: load, decide (pure), write; another writer's change in between is re-read
 * and the change decided again on top of it.
 */
export async function changeEntry(
  ledger: Ledger,
  actor: Actor,
  apply: (entries: LedgerEntry[], ctx: ChangeContext) => { entry: LedgerEntry; writes: EntryWrite[] },
): Promise<Changed> {
  const view = new Map((await ledger.load(actor.org)).map((e) => [e.entryId, e]));
  const committed = await commit(ledger, actor.org, view, (current) => {
    const decided = apply([...current.values()], contextOf(actor));
    return { writes: decided.writes, result: decided.entry };
  });
  const [unresolved] = committed.unresolved;
  if (unresolved) throw new LedgerConflictError(`${unresolved.message}; try again`);
  const entry = view.get(committed.result.entryId) ?? committed.result;
  return { entry, history: await ledger.history(actor.org, entry.entryId) };
}

/** The spreadsheet into the ledger, all rows or none (a row that cannot be written fails the import). */
export async function importRecords(
  ledger: Ledger,
  actor: Actor,
  records: readonly LedgerRecord[],
  options: { source: string; dryRun: boolean },
): Promise<ImportOutcome[]> {
  const view = new Map((await ledger.load(actor.org)).map((e) => [e.entryId, e]));
  const ctx = contextOf(actor);
  if (options.dryRun) return planImport(records, [...view.values()], ctx, options.source).outcomes;
  const committed = await commit(ledger, actor.org, view, (current) => {
    const plan = planImport(records, [...current.values()], ctx, options.source);
    return { writes: plan.writes, result: plan.outcomes };
  });
  const [unresolved] = committed.unresolved;
  if (unresolved) throw new LedgerConflictError(`${unresolved.message}; import again to finish`);
  return committed.result;
}

export interface ReviewRequest {
  requestId: number;
  decision: "approve" | "deny";
  fields: EntryFields;
  /** A denial's reason is shown to the requester by GitHub. */
  reason: string;
  /**
   * What GitHub is told with the decision (and shows the requester): by default a denial's reason and
   * nothing with an approval; a rule's decision always says why.
   */
  githubReason?: string;
}

/**
 * A review of a pending request: the reviewer's fields and the intent go to the ledger first, then GitHub
 * is told, then the decision is recorded. A crash between leaves a state the next sweep finishes (an
 * approved grant turns the entry active; a denied request's entry goes).
 */
export async function reviewRequest(
  deps: { github: GrantSource; ledger: Ledger },
  actor: Actor,
  review: ReviewRequest,
): Promise<Changed> {
  const { github, ledger } = deps;
  const [entries, requests] = await Promise.all([ledger.load(actor.org), github.listRequests(actor.org)]);
  const request = requests.find((r) => r.requestId === review.requestId);
  if (!request) {
    throw new LedgerOpError(
      `request ${review.requestId} is not pending in ${actor.org} (already reviewed, withdrawn, or never made)`,
    );
  }
  const ctx = contextOf(actor);
  const note = review.reason || `${review.decision} by ${actor.by}`;
  const view = new Map(entries.map((e) => [e.entryId, e]));
  const intent = await commit(ledger, actor.org, view, (current) => {
    const plan = planReview([...current.values()], request, review.decision, review.fields, note, ctx);
    return { writes: plan.writes, result: plan.entry.entryId };
  });
  if (intent.unresolved[0]) throw new LedgerConflictError(`${intent.unresolved[0].message}; try again`);
  const told = review.githubReason ?? (review.decision === "deny" ? review.reason : undefined);
  await github.reviewRequest(actor.org, review.requestId, review.decision, told || undefined);
  const entryId = intent.result;
  const done = await commit(ledger, actor.org, view, (current) => ({
    writes: completeReview([...current.values()], entryId, review.decision, review.reason, ctx),
    result: null,
  }));
  if (done.unresolved[0]) {
    throw new LedgerConflictError(
      `GitHub has the decision, but the ledger could not record it: ${done.unresolved[0].message}; the next sweep records it`,
    );
  }
  const entry = view.get(entryId);
  if (!entry) throw new Error(`entry ${entryId} vanished from the ledger`);
  return { entry, history: await ledger.history(actor.org, entryId) };
}
