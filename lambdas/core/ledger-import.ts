import { type ChangeContext, LedgerChanges, newEntry } from "./changes";
import type { LedgerRecord } from "./ledger-csv";
import type { EntryWrite, LedgerEntry, Status } from "./types";

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

/** Ledger field → the CSV column that carries it. */
const COLUMN_OF = {
  tokenName: "token_name",
  owner: "owner",
  purpose: "purpose",
  scope: "scope",
  permissions: "permissions",
  createdAt: "created_at",
  risks: "risks",
  approvedBy: "approved_by",
  expiresAt: "expires_at",
  neededUntil: "needed_until",
  renew: "renew",
  slack: "slack",
  notes: "notes",
  tokenId: "token_id",
} as const satisfies Partial<Record<keyof LedgerEntry, string>>;

/** Statuses patrol sets from what it sees on GitHub; a spreadsheet does not bring a token back from them. */
const OBSERVED: ReadonlySet<Status> = new Set(["revoked", "gone"]);

function registeredId(record: LedgerRecord): string {
  return record.tokenId !== null
    ? `token-${record.tokenId}`
    : `name-${record.owner.toLowerCase()}-${record.tokenName.replace(/[^A-Za-z0-9._-]+/g, "_")}`;
}

/**
 * The spreadsheet's rows into the ledger: matched by token id, else by owner (any case) and token name.
 * Pure and idempotent: importing the same rows twice changes nothing the second time.
 */
export function planImport(
  records: readonly LedgerRecord[],
  ledger: readonly LedgerEntry[],
  ctx: ChangeContext,
  source: string,
): { writes: EntryWrite[]; outcomes: ImportOutcome[] } {
  const changes = new LedgerChanges(ledger, ctx);
  const byTokenId = new Map<number, LedgerEntry>();
  const byName = new Map<string, LedgerEntry>();
  for (const entry of ledger) {
    if (entry.tokenId !== null) byTokenId.set(entry.tokenId, entry);
    const key = `${entry.owner.toLowerCase()}\n${entry.tokenName}`;
    // Prefer the live entry when a name has history.
    if (!byName.has(key) || !OBSERVED.has(entry.status)) byName.set(key, entry);
  }
  const outcomes: ImportOutcome[] = [];
  for (const record of records) {
    const found =
      (record.tokenId !== null ? byTokenId.get(record.tokenId) : undefined) ??
      [byName.get(`${record.owner.toLowerCase()}\n${record.tokenName}`)].find(
        (e) => e !== undefined && (record.tokenId === null || e.tokenId === null),
      );
    const all: Partial<LedgerEntry> = {
      tokenName: record.tokenName,
      owner: record.owner,
      purpose: record.purpose,
      scope: record.scope,
      permissions: record.permissions,
      createdAt: record.createdAt,
      risks: record.risks,
      approvedBy: record.approvedBy,
      expiresAt: record.expiresAt,
      neededUntil: record.neededUntil,
      renew: record.renew,
      slack: record.slack,
      notes: record.notes,
      ...(record.tokenId !== null ? { tokenId: record.tokenId } : {}),
    };
    // A column the file does not have says nothing: its field is left as the ledger has it.
    const present = new Set<string>(record.columns ?? Object.keys(COLUMN_OF));
    const fields = Object.fromEntries(
      Object.entries(all).filter(([field]) =>
        present.has(COLUMN_OF[field as keyof typeof COLUMN_OF] ?? field),
      ),
    ) as Partial<LedgerEntry>;
    const why = `imported from ${source}, row ${record.row}`;
    if (!found) {
      const { entryId: auditId, ...audit } = record.audit ?? {};
      const entry = changes.create(
        newEntry({
          ...fields,
          ...Object.fromEntries(Object.entries(audit).filter(([, v]) => v !== null)),
          org: ctx.org,
          entryId: changes.freeId(auditId ?? registeredId(record)),
          tokenName: record.tokenName,
          owner: record.owner,
          status: record.status,
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
    const patch: Partial<LedgerEntry> = { ...fields };
    // The row's status applies unless patrol has since seen the token revoked or gone; an unregistered
    // token listed as active in the spreadsheet becomes registered.
    if (present.has("status") && record.status !== found.status) {
      if (OBSERVED.has(found.status) || OBSERVED.has(record.status)) {
        notes.push(`status stays ${found.status} (the row says ${record.status})`);
      } else if (found.status === "flagged") {
        // A compromised token is never unflagged by a spreadsheet: that takes a person, on purpose.
        notes.push(`status stays flagged (the row says ${record.status})`);
      } else {
        patch.status = record.status;
      }
    }
    const before = changes.get(found.entryId);
    const after = changes.update(found.entryId, patch, "imported", why);
    const changed = Object.keys(patch).filter(
      (k) =>
        JSON.stringify(before?.[k as keyof LedgerEntry]) !== JSON.stringify(after[k as keyof LedgerEntry]),
    );
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
