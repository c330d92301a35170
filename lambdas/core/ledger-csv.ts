/**
 * The ledger as a CSV file: the spreadsheet the runbook kept ("Organisation PAT Records"), read and
 * written. Pure: bytes or text in, data out; no I/O. Its columns, their header spellings, the form of each
 * value and its maximum length all come from the entry's one declaration (lambdas/core/ledger/fields.ts).
 *
 * Import (`parseLedgerCsv`):
 * - UTF-8 only (a BOM is fine); a file in another encoding, or one whose columns are split by `;` or tabs,
 *   is refused with an error that says so.
 * - Real CSV (csv-parse): quoted fields, embedded delimiters, newlines and doubled quotes, CRLF, LF or CR.
 * - Headers in any order, case, spacing and punctuation, by column name or any accepted spelling ("Date of
 *   creation", "Renew?", "Expiry date", …). A heading that matches nothing refuses the file, naming the
 *   nearest column, unless it is skipped on purpose (`ignoreColumns`). Nothing is ever silently dropped.
 * - Rows are reported as a spreadsheet shows them: the header is row 1, blank rows count; when the line
 *   where a record starts differs (embedded newlines), messages say so too: `row 7 (line 9)`.
 * - Every value is checked (form and maximum length); every problem is collected and a `CsvError` lists
 *   them all: an import is all or nothing.
 *
 * Export (`ledgerCsv`): the spreadsheet's columns, then patrol's audit columns; a UTF-8 BOM, CRLF, quoting
 * where needed, and formula-like values prefixed with `'` (which import removes again).
 */
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { nearest } from "./ledger/access";
import {
  CSV_FIELDS,
  type CsvField,
  type FieldName,
  formatField,
  parseFieldText,
  quoteValue,
  splitLegacyReason,
} from "./ledger/fields";
import { nameKey } from "./ledger/match";
import { type LedgerEntry, type LedgerEvent, STATUSES, type Status } from "./types";

/** The spreadsheet's own columns, in export order. */
export const CSV_COLUMNS = CSV_FIELDS.filter((f) => !f.audit).map((f) => f.column);
/** patrol's bookkeeping, exported after the spreadsheet's columns; read back only into entries an import creates. */
export const AUDIT_COLUMNS = CSV_FIELDS.filter((f) => f.audit).map((f) => f.column);
/** The export's header. */
export const EXPORT_COLUMNS = [...CSV_COLUMNS, ...AUDIT_COLUMNS];
export const REQUIRED_COLUMNS = ["token_name", "owner"] as const;

/** Statuses a spreadsheet may give a token; patrol's own export restores the others into a new ledger. */
export const IMPORTABLE_STATUSES: readonly Status[] = ["active", "retired", "flagged"];

/** One validated row: what the spreadsheet says about one token. */
export interface LedgerRecord {
  /** Spreadsheet row: the header is row 1, so the first data row is 2; blank rows count. */
  row: number;
  tokenName: string;
  owner: string;
  tokenId: number | null;
  /** The row's status column, if the file has one. */
  status: Status | null;
  /** The values of the spreadsheet's columns the file has: an import leaves the fields of absent columns alone. */
  fields: Partial<LedgerEntry>;
  /** The values of the audit columns the file has (a patrol export): applied only to entries the import creates. */
  audit: Partial<LedgerEntry>;
}

export interface CsvProblem {
  /** Spreadsheet row (header = 1); null for problems with the file as a whole. */
  row: number | null;
  column?: string;
  /** The line of the file where the record starts (or where parsing failed), when known. */
  line?: number;
  /** Self-contained: names the row, the column, the bad value and what was expected. */
  message: string;
  /** A heading that matches no field, as the file writes it (to be left out on purpose, if meant). */
  unknownHeading?: string;
}

const MAX_SUMMARY_LINES = 50;

export class CsvError extends Error {
  override name = "CsvError";
  constructor(
    message: string,
    readonly problems: CsvProblem[],
  ) {
    super(message);
  }
}

function fail(problems: CsvProblem[]): never {
  const n = problems.length;
  const lines = [`${n} ${n === 1 ? "problem" : "problems"} in the CSV; nothing was imported`];
  for (const p of problems.slice(0, MAX_SUMMARY_LINES)) lines.push(p.message);
  if (n > MAX_SUMMARY_LINES) lines.push(`… and ${n - MAX_SUMMARY_LINES} more`);
  throw new CsvError(lines.join("\n"), problems);
}

// ---------------------------------------------------------------------------------------------------
// Formula injection

const FORMULA_START = /^'*[=+\-@\t\r]/;
const ESCAPED_FORMULA = /^'+[=+\-@\t\r]/;

/** Export: prefix a `'` so a spreadsheet shows the value as text instead of evaluating it. */
export function escapeFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** Import: undo `escapeFormula` (and a spreadsheet user's own `'=…`). */
export function unescapeFormula(value: string): string {
  return ESCAPED_FORMULA.test(value) ? value.slice(1) : value;
}

// ---------------------------------------------------------------------------------------------------
// Encoding and headers

/** Bytes → text, refusing what is not UTF-8 (a spreadsheet's "CSV" may be UTF-16 or a legacy code page). */
function decode(input: string | Uint8Array): string {
  if (typeof input === "string") return input;
  if ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff)) {
    fail([{ row: null, message: 'the file is UTF-16; save it as "CSV UTF-8" and import that' }]);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(input);
  } catch {
    fail([
      {
        row: null,
        message:
          'the file is not UTF-8 (it has bytes no UTF-8 text has, e.g. from a Windows code page); save it as "CSV UTF-8" and import that',
      },
    ]);
  }
}

/** A heading as compared: lower case, punctuation dropped, spaces, hyphens and underscores as one `_`. */
export function normalizeHeader(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]+/gu, "")
    .trim()
    .replace(/[\s_-]+/g, "_");
}

const BY_HEADING = new Map<string, CsvField>(
  CSV_FIELDS.flatMap((f) => [f.column, ...f.spellings].map((h) => [normalizeHeader(h), f] as const)),
);

// ---------------------------------------------------------------------------------------------------
// Parsing

interface RawRecord {
  fields: string[];
  row: number;
  line: number;
}

interface ParsedWithInfo {
  record: string[];
  raw: string;
}

function countLineBreaks(text: string): number {
  return text.match(/\r\n|\r|\n/g)?.length ?? 0;
}

/** Records with their spreadsheet row and starting line, blank rows included. */
function readRecords(text: string): RawRecord[] {
  let parsed: ParsedWithInfo[];
  try {
    parsed = parse(text, {
      bom: true,
      info: true,
      raw: true,
      trim: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: false,
    }) as unknown as ParsedWithInfo[];
  } catch (error) {
    const err = error as Error & { lines?: unknown };
    const line = typeof err.lines === "number" ? err.lines : undefined;
    fail([
      {
        row: null,
        ...(line === undefined ? {} : { line }),
        message: `the file is not valid CSV${line === undefined ? "" : ` (near line ${line})`}: ${err.message}`,
      },
    ]);
  }
  // csv-parse's own `info.lines` counts a CRLF inside a quoted field as two lines, so count the
  // line breaks in each record's raw text instead (the raw text ends with its record delimiter).
  let line = 1;
  return parsed.map((p, i) => {
    const record: RawRecord = { fields: p.record, row: i + 1, line };
    line += countLineBreaks(p.raw);
    return record;
  });
}

function where(rec: { row: number; line: number }, column?: string): string {
  const at = rec.line === rec.row ? `row ${rec.row}` : `row ${rec.row} (line ${rec.line})`;
  return column === undefined ? at : `${at}, column ${column}`;
}

function problem(rec: RawRecord, column: string, message: string): CsvProblem {
  return { row: rec.row, column, line: rec.line, message: `${where(rec, column)}: ${message}` };
}

export interface CsvImportOptions {
  /** Headings to skip on purpose (as written, or normalized). */
  ignoreColumns?: readonly string[];
}

/** Maps the header to fields; every heading must mean a field, or be skipped on purpose. */
function readHeader(header: RawRecord, options: CsvImportOptions): Map<number, CsvField> {
  const problems: CsvProblem[] = [];
  const ignored = new Set((options.ignoreColumns ?? []).map(normalizeHeader));
  const columns = new Map<number, CsvField>();
  const seen = new Map<string, { heading: string; position: number }>();
  const at = (column?: string) => ({ row: header.row, line: header.line, ...(column ? { column } : {}) });
  const delimiter = header.fields.length === 1 ? /[;\t|]/.exec(header.fields[0] ?? "")?.[0] : undefined;
  if (delimiter) {
    fail([
      {
        ...at(),
        message: `${where(header)}: the columns are separated by ${delimiter === "\t" ? "tabs" : `"${delimiter}"`}; patrol reads comma-separated CSV (save as "CSV UTF-8 (comma delimited)")`,
      },
    ]);
  }
  header.fields.forEach((rawHeading, position) => {
    const heading = normalizeHeader(rawHeading);
    if (heading === "" || ignored.has(heading)) return;
    const column = BY_HEADING.get(heading);
    if (!column) {
      const suggestion = nearest(heading, BY_HEADING.keys());
      const meant = suggestion ? BY_HEADING.get(suggestion)?.column : undefined;
      problems.push({
        ...at(heading),
        unknownHeading: rawHeading.trim(),
        message: `${where(header)}: column ${quoteValue(rawHeading)} (column ${position + 1}) is not a ledger field${meant ? `; did you mean ${meant}?` : ""}; the columns are ${EXPORT_COLUMNS.join(", ")}`,
      });
      return;
    }
    const earlier = seen.get(column.column);
    if (earlier !== undefined) {
      problems.push({
        ...at(column.column),
        message: `${where(header)}: duplicate column ${column.column}: headings ${quoteValue(earlier.heading)} (column ${earlier.position + 1}) and ${quoteValue(rawHeading)} (column ${position + 1}) mean the same column`,
      });
      return;
    }
    seen.set(column.column, { heading: rawHeading, position });
    columns.set(position, column);
  });
  for (const required of REQUIRED_COLUMNS) {
    if (!seen.has(required)) {
      const found = header.fields.map((f) => f.trim()).filter((f) => f !== "");
      problems.push({
        ...at(required),
        message: `${where(header)}: missing required column ${required}; found columns: ${found.length === 0 ? "(none)" : found.join(", ")}`,
      });
    }
  }
  if (problems.length > 0) fail(problems);
  return columns;
}

/**
 * Parses and validates the ledger CSV. Throws `CsvError` listing every problem found (encoding, header,
 * shape, values, lengths, duplicates) when there is any.
 */
export function parseLedgerCsv(input: string | Uint8Array, options: CsvImportOptions = {}): LedgerRecord[] {
  const records = readRecords(decode(input));
  const isBlank = (r: RawRecord) => r.fields.every((f) => f.trim() === "");
  const headerIndex = records.findIndex((r) => !isBlank(r));
  const header = records[headerIndex];
  if (header === undefined) {
    fail([
      { row: null, message: "the CSV is empty; expected a header row with at least token_name and owner" },
    ]);
  }
  const columns = readHeader(header, options);
  const isExport = [...columns.values()].some((c) => c.column === "entry_id");

  const problems: CsvProblem[] = [];
  const width = header.fields.length;
  const result: LedgerRecord[] = [];
  const byTokenId = new Map<number, number>();
  const byOwnerAndName = new Map<string, number>();

  for (const rec of records.slice(headerIndex + 1)) {
    if (isBlank(rec)) continue;
    if (rec.fields.length !== width) {
      problems.push({
        row: rec.row,
        line: rec.line,
        message: `${where(rec)}: has ${rec.fields.length} ${rec.fields.length === 1 ? "field" : "fields"} but the header has ${width}; expected one field per column (quote values that contain commas)`,
      });
      continue;
    }
    const rowProblems: CsvProblem[] = [];
    const fields: Partial<Record<FieldName, unknown>> = {};
    const audit: Partial<Record<FieldName, unknown>> = {};
    let status: Status | null = null;
    for (const [position, column] of columns) {
      const text = unescapeFormula((rec.fields[position] ?? "").trim());
      if (column.field === "status") {
        status = readStatus(text, isExport, (message) => rowProblems.push(problem(rec, "status", message)));
        continue;
      }
      if (column.exportOnly || (column.audit && text === "")) continue;
      if (text === "" && (REQUIRED_COLUMNS as readonly string[]).includes(column.column)) continue;
      const parsed = parseFieldText(column.field, text);
      if (!parsed.ok) rowProblems.push(problem(rec, column.column, `${quoteValue(text)} ${parsed.error}`));
      // An empty token id says the sheet does not know it, not that the ledger should forget it.
      else if (!(column.field === "tokenId" && parsed.value === null)) {
        (column.audit ? audit : fields)[column.field] = parsed.value;
      }
    }
    // An export from before reasons were codes has the sentence inside the reason cell.
    const reasonCell = [...columns].find(([, c]) => c.field === "revokedReason");
    const legacyReason = reasonCell ? splitLegacyReason((rec.fields[reasonCell[0]] ?? "").trim()) : null;
    if (legacyReason && audit.revokedDetail === undefined) audit.revokedDetail = legacyReason.detail;
    const tokenName = typeof fields.tokenName === "string" ? fields.tokenName : "";
    const owner = typeof fields.owner === "string" ? fields.owner : "";
    const tokenId = typeof fields.tokenId === "number" ? fields.tokenId : null;
    if (tokenName === "") rowProblems.push(problem(rec, "token_name", "is empty; expected the token's name"));
    if (owner === "" && !rowProblems.some((p) => p.column === "owner")) {
      rowProblems.push(problem(rec, "owner", "is empty; expected the owner's GitHub login"));
    }

    // Duplicates: the same token id, or (both without a token id) the same owner and token name.
    if (tokenId !== null) {
      const first = byTokenId.get(tokenId);
      if (first === undefined) byTokenId.set(tokenId, rec.row);
      else {
        rowProblems.push(
          problem(rec, "token_id", `token ${tokenId} is already in row ${first}; expected one row per token`),
        );
      }
    } else if (tokenName !== "" && owner !== "") {
      const key = nameKey(owner, tokenName);
      const first = byOwnerAndName.get(key);
      if (first === undefined) byOwnerAndName.set(key, rec.row);
      else {
        rowProblems.push(
          problem(
            rec,
            "token_name",
            `${quoteValue(tokenName)} owned by ${quoteValue(owner)} is already in row ${first}; expected one row per token (add token_id to tell them apart)`,
          ),
        );
      }
    }

    if (rowProblems.length > 0) {
      problems.push(...rowProblems);
      continue;
    }
    result.push({
      row: rec.row,
      tokenName,
      owner,
      tokenId,
      status,
      fields: fields as Partial<LedgerEntry>,
      audit: audit as Partial<LedgerEntry>,
    });
  }
  if (problems.length > 0) fail(problems);
  return result;
}

function readStatus(text: string, isExport: boolean, report: (message: string) => void): Status | null {
  if (text === "") return null;
  const status = STATUSES.find((s) => s === text.toLowerCase());
  if (status && (IMPORTABLE_STATUSES.includes(status) || isExport)) return status;
  report(
    status
      ? `${quoteValue(text)} is a status patrol sets from what it sees on GitHub; a spreadsheet gives ${IMPORTABLE_STATUSES.join(", ")} (or leaves it empty)`
      : `${quoteValue(text)} is not a status; expected ${IMPORTABLE_STATUSES.join(", ")} or empty`,
  );
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Writing

function exportRow(e: LedgerEntry): string[] {
  return CSV_FIELDS.map((f) => escapeFormula(formatField(f.field, e[f.field])));
}

/**
 * Ledger entries → CSV that opens cleanly in a spreadsheet: UTF-8 BOM, CRLF, quoting where needed,
 * formula-looking values prefixed with `'`. `parseLedgerCsv` reads it back unchanged.
 */
export function ledgerCsv(entries: readonly LedgerEntry[]): string {
  return stringify([EXPORT_COLUMNS, ...entries.map(exportRow)], {
    bom: true,
    record_delimiter: "\r\n",
    quote_record_delimiter: true,
  });
}

export const EVENT_COLUMNS = [
  "entry_id",
  "token_name",
  "owner",
  "version",
  "at",
  "actor",
  "action",
  "reason",
  "run_id",
  "changes",
] as const;

/** The audit trail as CSV, one event a row, in entry and version order; opens cleanly in a spreadsheet. */
export function eventsCsv(entries: readonly LedgerEntry[], events: readonly LedgerEvent[]): string {
  const byId = new Map(entries.map((e) => [e.entryId, e]));
  const rows = [...events]
    .sort((a, b) => a.entryId.localeCompare(b.entryId) || a.version - b.version || a.at.localeCompare(b.at))
    .map((ev) => {
      const entry = byId.get(ev.entryId);
      const changes = Object.entries(ev.changes)
        .map(([field, [from, to]]) => `${field}: ${JSON.stringify(from)} → ${JSON.stringify(to)}`)
        .join("; ");
      return [
        ev.entryId,
        entry?.tokenName ?? "",
        entry?.owner ?? "",
        String(ev.version),
        ev.at,
        ev.actor,
        ev.action,
        ev.reason,
        ev.runId ?? "",
        changes,
      ].map(escapeFormula);
    });
  return stringify([[...EVENT_COLUMNS], ...rows], {
    bom: true,
    record_delimiter: "\r\n",
    quote_record_delimiter: true,
  });
}
