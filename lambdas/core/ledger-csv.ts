/**
 * The ledger as a CSV file: the spreadsheet the runbook kept ("Organisation PAT Records"), read and
 * written. Pure: strings in, data out; no I/O.
 *
 * Import (`parseLedgerCsv`):
 * - Real CSV (csv-parse): quoted fields, embedded delimiters, newlines and doubled quotes, CRLF, LF or CR
 *   line endings, a UTF-8 BOM. Every value is trimmed of surrounding whitespace.
 * - Header names in any order and case; spaces and hyphens count as underscores. A few synonyms are
 *   accepted (see `HEADER_SYNONYMS`). Unknown columns and the audit columns `ledgerCsv` writes are ignored.
 * - Rows are reported as a spreadsheet shows them: the header is row 1, the first data row is row 2, a
 *   record with a newline inside a quoted field is still one row, and blank rows count (they are shown,
 *   then skipped). When the line in the file where a record starts differs from its row number (because
 *   of embedded newlines), messages say so too: `row 7 (line 9)`.
 * - Dates: `YYYY-MM-DD` or an ISO 8601 date-time with `Z` or an offset (`T` or a space between date and
 *   time), normalized to `Date.prototype.toISOString()` form: `2025-01-31` → `2025-01-31T00:00:00.000Z`.
 * - Every problem is collected; if there is any, a `CsvError` lists them all and nothing is returned.
 *
 * Export (`ledgerCsv`): the 15 ledger columns then the audit columns, a UTF-8 BOM, CRLF line endings,
 * quoting where needed. Formula injection: a value starting with `=`, `+`, `-`, `@`, a tab or a CR
 * (possibly after apostrophes) gets one leading `'`; import removes one leading `'` from such values, so
 * export → import is lossless.
 */
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { GITHUB_LOGIN } from "./login";
import { type LedgerEntry, type LedgerEvent, STATUSES, type Status } from "./types";

export const CSV_COLUMNS = [
  "token_name",
  "owner",
  "purpose",
  "scope",
  "permissions",
  "created_at",
  "risks",
  "approved_by",
  "expires_at",
  "needed_until",
  "renew",
  "status",
  "token_id",
  "slack",
  "notes",
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** Written by `ledgerCsv` after the ledger columns; accepted and ignored by `parseLedgerCsv`. */
export const AUDIT_COLUMNS = [
  "entry_id",
  "pat_id",
  "request_id",
  "first_seen_at",
  "revoked_reason",
  "revoked_at",
  "revoked_by",
  "updated_at",
  "updated_by",
  "version",
] as const;

export const REQUIRED_COLUMNS = ["token_name", "owner"] as const satisfies readonly CsvColumn[];

/** Spreadsheet headings that obviously mean a ledger column (after normalization). */
const HEADER_SYNONYMS: Readonly<Record<string, CsvColumn>> = {
  name: "token_name",
  token: "token_name",
  approver: "approved_by",
  created: "created_at",
  expires: "expires_at",
  expiry: "expires_at",
  slack_contact: "slack",
};

/** One validated row: what the spreadsheet says about one token. */
export interface LedgerRecord {
  /** Spreadsheet row: the header is row 1, so the first data row is 2; blank rows count. */
  row: number;
  tokenName: string;
  owner: string;
  purpose: string;
  scope: string;
  permissions: string;
  createdAt: string | null;
  risks: string;
  approvedBy: string;
  expiresAt: string | null;
  neededUntil: string | null;
  renew: boolean;
  status: Status;
  tokenId: number | null;
  slack: string;
  notes: string;
  /** The ledger columns the file has: an import leaves the fields of absent columns as they are. */
  columns?: readonly CsvColumn[];
  /**
   * The audit columns of a patrol export, when the file has them: applied only to entries the import
   * creates, so an export imported into an empty ledger loses nothing.
   */
  audit?: {
    entryId: string | null;
    patId: number | null;
    requestId: number | null;
    firstSeenAt: string | null;
    revokedReason: string | null;
    revokedAt: string | null;
    revokedBy: string | null;
  };
}

export interface CsvProblem {
  /** Spreadsheet row (header = 1); null for problems with the file as a whole. */
  row: number | null;
  column?: string;
  /** The line of the file where the record starts (or where parsing failed), when known. */
  line?: number;
  /** Self-contained: names the row, the column, the bad value and what was expected. */
  message: string;
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

/** A value as it appears in a message: truncated to 60 characters, quoted, control characters escaped. */
function show(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 59)}…` : value);
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
// Values

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2}))?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * `YYYY-MM-DD` or an ISO 8601 date-time with a zone → `toISOString()` form; null when not a real date.
 * A date-time must carry `Z` or an offset: without one it would mean whatever zone the importer runs in.
 */
export function normalizeDate(value: string): string | null {
  const m = DATE_TIME.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (h !== undefined && zone === undefined) return null;
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  if (hour > 23 || minute > 59 || second > 59) return null;
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2));
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (zone.startsWith("-") ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute - offsetMinutes, second, ms);
  const iso = date.toISOString();
  // An offset can push the instant outside 0000–9999, which `toISOString` writes with six digits.
  return /^\d{4}-/.test(iso) ? iso : null;
}

const RENEW_VALUES: Readonly<Record<string, boolean>> = {
  "": false,
  yes: true,
  y: true,
  true: true,
  "1": true,
  no: false,
  n: false,
  false: false,
  "0": false,
};

// ---------------------------------------------------------------------------------------------------
// Headers

function normalizeHeader(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
}

const KNOWN_COLUMNS = new Set<string>(CSV_COLUMNS);
const AUDIT_SET = new Set<string>(AUDIT_COLUMNS);

/** The ledger column a heading means, or null for an ignored (audit or unknown) column. */
function columnFor(heading: string): CsvColumn | null {
  if (KNOWN_COLUMNS.has(heading)) return heading as CsvColumn;
  return HEADER_SYNONYMS[heading] ?? null;
}

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

/**
 * Parses and validates the ledger CSV. Throws `CsvError` listing every problem found (header, shape,
 * values, duplicates) when there is any.
 */
export function parseLedgerCsv(text: string): LedgerRecord[] {
  const records = readRecords(text);
  const isBlank = (r: RawRecord) => r.fields.every((f) => f.trim() === "");
  const headerIndex = records.findIndex((r) => !isBlank(r));
  const header = records[headerIndex];
  if (header === undefined) {
    fail([
      { row: null, message: "the CSV is empty; expected a header row with at least token_name and owner" },
    ]);
  }

  // Header: map each ledger column to its index; duplicates and missing required columns are fatal.
  const problems: CsvProblem[] = [];
  const index = new Map<CsvColumn, number>();
  const auditIndex = new Map<string, number>();
  const seen = new Map<string, { heading: string; position: number }>();
  header.fields.forEach((rawHeading, position) => {
    const heading = normalizeHeader(rawHeading);
    if (heading === "") return;
    const column = columnFor(heading);
    const key = column ?? heading;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push({
        row: header.row,
        column: key,
        line: header.line,
        message: `${where(header)}: duplicate column ${key}: headings ${show(earlier.heading)} (column ${earlier.position + 1}) and ${show(rawHeading)} (column ${position + 1}) mean the same column`,
      });
      return;
    }
    seen.set(key, { heading: rawHeading, position });
    if (column !== null) index.set(column, position);
    else if (AUDIT_SET.has(heading)) auditIndex.set(heading, position);
  });
  for (const required of REQUIRED_COLUMNS) {
    if (!index.has(required)) {
      const found = header.fields.map((f) => f.trim()).filter((f) => f !== "");
      problems.push({
        row: header.row,
        column: required,
        line: header.line,
        message: `${where(header)}: missing required column ${required}; found columns: ${found.length === 0 ? "(none)" : found.join(", ")}`,
      });
    }
  }
  if (problems.length > 0) fail(problems);

  const width = header.fields.length;
  const columns = [...index.keys()];
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
    const get = (column: CsvColumn): string => {
      const i = index.get(column);
      if (i === undefined) return "";
      return unescapeFormula((rec.fields[i] ?? "").trim());
    };

    const tokenName = get("token_name");
    if (tokenName === "") rowProblems.push(problem(rec, "token_name", "is empty; expected the token's name"));

    const owner = get("owner");
    if (owner === "") {
      rowProblems.push(problem(rec, "owner", "is empty; expected the owner's GitHub login"));
    } else if (!GITHUB_LOGIN.test(owner)) {
      rowProblems.push(
        problem(
          rec,
          "owner",
          `${show(owner)} is not a GitHub login; expected 1–39 letters, digits and single hyphens, not starting or ending with a hyphen`,
        ),
      );
    }

    const date = (column: "created_at" | "expires_at" | "needed_until"): string | null => {
      const value = get(column);
      if (value === "") return null;
      const iso = normalizeDate(value);
      if (iso === null) {
        rowProblems.push(
          problem(
            rec,
            column,
            `${show(value)} is not a date; expected YYYY-MM-DD or an ISO 8601 date-time with a time zone (e.g. 2025-01-31T12:00:00Z)`,
          ),
        );
      }
      return iso;
    };
    const createdAt = date("created_at");
    const expiresAt = date("expires_at");
    const neededUntil = date("needed_until");

    const renewValue = get("renew");
    const renew = RENEW_VALUES[renewValue.toLowerCase()];
    if (renew === undefined) {
      rowProblems.push(
        problem(
          rec,
          "renew",
          `${show(renewValue)} is not yes or no; expected yes/no, y/n, true/false, 1/0 or empty`,
        ),
      );
    }

    const statusValue = get("status");
    const statusLower = statusValue === "" ? "active" : statusValue.toLowerCase();
    const status = (STATUSES as readonly string[]).includes(statusLower) ? (statusLower as Status) : null;
    if (status === null) {
      rowProblems.push(
        problem(
          rec,
          "status",
          `${show(statusValue)} is not a status; expected one of ${STATUSES.join(", ")} or empty`,
        ),
      );
    }

    const tokenIdValue = get("token_id");
    let tokenId: number | null = null;
    if (tokenIdValue !== "") {
      const n = /^\d+$/.test(tokenIdValue) ? Number(tokenIdValue) : Number.NaN;
      if (Number.isSafeInteger(n) && n > 0) tokenId = n;
      else {
        rowProblems.push(
          problem(rec, "token_id", `${show(tokenIdValue)} is not a token id; expected a positive integer`),
        );
      }
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
    } else if (tokenIdValue === "" && tokenName !== "" && owner !== "") {
      const key = `${owner.toLowerCase()}\u0000${tokenName}`;
      const first = byOwnerAndName.get(key);
      if (first === undefined) byOwnerAndName.set(key, rec.row);
      else {
        rowProblems.push(
          problem(
            rec,
            "token_name",
            `${show(tokenName)} owned by ${show(owner)} is already in row ${first}; expected one row per token (add token_id to tell them apart)`,
          ),
        );
      }
    }

    let audit: LedgerRecord["audit"];
    if (auditIndex.size > 0) {
      const raw = (column: string) => {
        const i = auditIndex.get(column);
        const value = i === undefined ? "" : unescapeFormula((rec.fields[i] ?? "").trim());
        return value === "" ? null : value;
      };
      const int = (column: string) => {
        const value = raw(column);
        if (value === null) return null;
        if (!/^\d+$/.test(value)) {
          rowProblems.push(problem(rec, column, `${show(value)} is not a whole number`));
          return null;
        }
        return Number(value);
      };
      const when = (column: string) => {
        const value = raw(column);
        if (value === null) return null;
        const iso = normalizeDate(value);
        if (iso === null)
          rowProblems.push(problem(rec, column, `${show(value)} is not an ISO 8601 date-time`));
        return iso;
      };
      audit = {
        entryId: raw("entry_id"),
        patId: int("pat_id"),
        requestId: int("request_id"),
        firstSeenAt: when("first_seen_at"),
        revokedReason: raw("revoked_reason"),
        revokedAt: when("revoked_at"),
        revokedBy: raw("revoked_by"),
      };
    }

    if (rowProblems.length > 0 || renew === undefined || status === null) {
      problems.push(...rowProblems);
      continue;
    }
    result.push({
      row: rec.row,
      tokenName,
      owner,
      purpose: get("purpose"),
      scope: get("scope"),
      permissions: get("permissions"),
      createdAt,
      risks: get("risks"),
      approvedBy: get("approved_by"),
      expiresAt,
      neededUntil,
      renew,
      status,
      tokenId,
      slack: get("slack"),
      notes: get("notes"),
      columns,
      ...(audit ? { audit } : {}),
    });
  }
  if (problems.length > 0) fail(problems);
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Writing

/** The export's header: the ledger columns, then the audit columns. */
export const EXPORT_COLUMNS = [...CSV_COLUMNS, ...AUDIT_COLUMNS] as const;

function exportRow(e: LedgerEntry): string[] {
  const text = (v: string | null): string => (v === null ? "" : escapeFormula(v));
  const num = (v: number | null): string => (v === null ? "" : String(v));
  return [
    text(e.tokenName),
    text(e.owner),
    text(e.purpose),
    text(e.scope),
    text(e.permissions),
    text(e.createdAt),
    text(e.risks),
    text(e.approvedBy),
    text(e.expiresAt),
    text(e.neededUntil),
    e.renew ? "yes" : "no",
    e.status,
    num(e.tokenId),
    text(e.slack),
    text(e.notes),
    text(e.entryId),
    num(e.patId),
    num(e.requestId),
    text(e.firstSeenAt),
    text(e.revokedReason),
    text(e.revokedAt),
    text(e.revokedBy),
    text(e.updatedAt),
    text(e.updatedBy),
    String(e.version),
  ];
}

/**
 * Ledger entries → CSV that opens cleanly in a spreadsheet: UTF-8 BOM, CRLF, quoting where needed,
 * formula-looking values prefixed with `'`. `parseLedgerCsv` reads it back unchanged.
 */
export function ledgerCsv(entries: readonly LedgerEntry[]): string {
  return stringify([[...EXPORT_COLUMNS], ...entries.map(exportRow)], {
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
