import { type ChangeContext, changedFields, LedgerChanges } from "./ledger/changes";
import { newEntry } from "./ledger/fields";
import { entryIdForName, entryIdForToken } from "./ledger/ids";
import { isLive, mayTransition } from "./ledger/lifecycle";
import { IMPORTABLE_STATUSES, type LedgerRecord } from "./ledger-csv";
import { LedgerOpError } from "./ledger-ops";
import type { EntryWrite, LedgerEntry } from "./types";

export type ImportAction = "added" | "updated" | "unchanged";

export interface ImportOutcome {
  row: number;
  action: ImportAction;
  entryId: string;
  tokenName: string;
  owner: string;
  /** Fields that changed, or why something in the row was not applied. */
  detail: string;
}

/**
 * The spreadsheet's rows into the ledger, each matched by the ledger's matcher (token id, else owner and
 * name). A row's status applies where the lifecycle lets an import make that change; an unregistered token
 * whose row gives a purpose and an approver is adopted. Pure and idempotent: importing the same rows twice
 * changes nothing the second time.
 */
export function planImport(
  records: readonly LedgerRecord[],
  ledger: readonly LedgerEntry[],
  ctx: ChangeContext,
  source: string,
): { writes: EntryWrite[]; outcomes: ImportOutcome[] } {
  const changes = new LedgerChanges(ledger, ctx);
  const outcomes: ImportOutcome[] = [];
  for (const record of records) {
    const why = `imported from ${source}, row ${record.row}`;
    const found = changes.index.match(record);
    if (record.tokenId === null) {
      // A row that names a token only by owner and name must name one token: with two live entries of
      // that name (a token and its renewal) it could change the wrong one.
      const live = changes.index.withName(record.owner, record.tokenName).filter((e) => isLive(e.status));
      if (live.length > 1) {
        throw new LedgerOpError(
          `row ${record.row}: ${record.owner}/${record.tokenName} matches ${live.length} entries (${live.map((e) => e.entryId).join(", ")}); add the token_id to say which`,
        );
      }
    }
    if (!found) {
      const base =
        record.tokenId !== null
          ? entryIdForToken(record.tokenId)
          : entryIdForName(record.owner, record.tokenName);
      const entry = changes.create(
        newEntry({
          ...record.audit,
          ...record.fields,
          org: ctx.org,
          entryId: changes.freeId(record.audit.entryId ?? base),
          tokenName: record.tokenName,
          owner: record.owner,
          status: record.status ?? "active",
        }),
        "registered",
        why,
      );
      outcomes.push({
        row: record.row,
        action: "added",
        entryId: entry.entryId,
        tokenName: entry.tokenName,
        owner: entry.owner,
        detail: `status ${entry.status}`,
      });
      continue;
    }
    const notes: string[] = [];
    const patch: Partial<LedgerEntry> = { ...record.fields };
    const wanted = record.status;
    if (wanted !== null && wanted !== found.status) {
      // A spreadsheet never brings back a token patrol saw revoked or gone, and never unflags one; an
      // unregistered token becomes active only by its registration (purpose and approver), below.
      const adopting = found.status === "unregistered" && wanted === "active";
      if (
        !adopting &&
        isLive(found.status) &&
        IMPORTABLE_STATUSES.includes(wanted) &&
        mayTransition(found.status, wanted, ctx.writer)
      ) {
        patch.status = wanted;
      } else if (!adopting) {
        notes.push(`status stays ${found.status} (the row says ${wanted})`);
      }
    }
    const before = changes.existing(found.entryId);
    changes.update(found.entryId, patch, "imported", why);
    const after = changes.adoptIfComplete(found.entryId, why);
    if (after.status === "unregistered" && wanted === "active") {
      notes.push(
        "status stays unregistered (the row says active; registering it needs its purpose and approver)",
      );
    }
    const changed = changedFields(before, after);
    outcomes.push({
      row: record.row,
      action: changed.length > 0 ? "updated" : "unchanged",
      entryId: found.entryId,
      tokenName: after.tokenName,
      owner: after.owner,
      detail: [changed.length > 0 ? `changed ${changed.join(", ")}` : "", ...notes]
        .filter(Boolean)
        .join("; "),
    });
  }
  return { writes: changes.writes(), outcomes };
}
