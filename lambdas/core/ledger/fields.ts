import * as z from "zod";
import { GITHUB_LOGIN } from "../login";
import { type LedgerEvent, type PermissionMap, REVOKE_REASONS, type RevokeReason, STATUSES } from "../types";
import {
  formatPermissions,
  formatScope,
  legacyScope,
  type Parsed,
  parsePermissions,
  parseScope,
  type Scope,
} from "./access";

/**
 * The ledger entry, declared once. Each field says here how it is stored (its zod schema, which also
 * checks every item read back from DynamoDB), its value for a new entry, how a person writes it (the text
 * form shared by the CSV and the CLI), its CSV column and the header spellings accepted, whether an operator
 * may set it and with which option, and its maximum length. The `LedgerEntry` type, `newEntry`, the CSV's
 * columns, the CLI's field options and `parseStoredEntry` all derive from this table.
 */

/** A field's text form: parse what a person wrote (a CSV cell, an option value), format it back. */
interface TextForm<T> {
  parse(text: string): Parsed<T>;
  format(value: T): string;
  /** What the text should look like, for help and errors. */
  expected: string;
}

interface FieldSpec<S extends z.ZodType> {
  schema: S;
  initial: z.output<S>;
  text?: TextForm<z.output<S>>;
  /**
   * The CSV column. `ledger` columns are the spreadsheet's own (imported and exported); `audit` columns are
   * patrol's bookkeeping, exported and read back only when an import creates the entry.
   */
  csv?: { column: string; spellings?: readonly string[]; audit?: true; exportOnly?: true };
  /** Set by an operator with this option (register, update, approve), as `--flag <value>`. */
  option?: { flag: string; help: string };
  /** Longest text accepted from a person or a webhook. */
  max?: number;
}

/** A value as a message quotes it: truncated to 60 characters, quoted, control characters escaped. */
export function quoteValue(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 59)}…` : value);
}

/** The longest reason a person or a webhook may give a change (GitHub's own limit for a review's reason). */
export const REASON_MAX = 1024;

function field<S extends z.ZodType>(spec: FieldSpec<S>): FieldSpec<S> {
  return spec;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (error: string): Parsed<never> => ({ ok: false, error });

// ---------------------------------------------------------------------------------------------------
// Text forms

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2}))?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * `YYYY-MM-DD` or an ISO 8601 date-time with a zone → `toISOString()` form; null when not a real date
 * (2026-02-30 included). A date-time must carry `Z` or an offset: without one it would mean whatever zone
 * the importer runs in.
 */
export function normalizeDate(value: string): string | null {
  const m = DATE_TIME.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (h !== undefined && zone === undefined) return null;
  const [hour, minute, second] = [Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return null;
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    const [oh, om] = [Number(digits.slice(0, 2)), Number(digits.slice(2))];
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

/** Text that may be absent: empty is null. */
const optionalText: TextForm<string | null> = {
  parse: (text) => ok(text.trim() === "" ? null : text.trim()),
  format: (value) => value ?? "",
  expected: "text",
};

const DATE_EXPECTED = "YYYY-MM-DD or an ISO 8601 date-time with a time zone (e.g. 2025-01-31T12:00:00Z)";

const dateText: TextForm<string | null> = {
  parse: (text) => {
    if (text.trim() === "" || text.trim().toLowerCase() === "none") return ok(null);
    const iso = normalizeDate(text);
    return iso === null ? bad(`is not a date; expected ${DATE_EXPECTED}`) : ok(iso);
  },
  format: (value) => value ?? "",
  expected: DATE_EXPECTED,
};

const plainText = (what: string): TextForm<string> => ({
  parse: (text) => ok(text.trim()),
  format: (value) => value,
  expected: what,
});

const YES_NO: Readonly<Record<string, boolean>> = {
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

const yesNoText: TextForm<boolean> = {
  parse: (text) => {
    const value = YES_NO[text.trim().toLowerCase()];
    return value === undefined ? bad("is not yes or no; expected yes/no, y/n, true/false, 1/0") : ok(value);
  },
  format: (value) => (value ? "yes" : "no"),
  expected: "yes or no",
};

const idText = (what: string): TextForm<number | null> => ({
  parse: (text) => {
    if (text.trim() === "") return ok(null);
    const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
    return Number.isSafeInteger(n) && n > 0 ? ok(n) : bad(`is not ${what}; expected a positive integer`);
  },
  format: (value) => (value === null ? "" : String(value)),
  expected: "a positive integer",
});

export const SLACK_MEMBER = /^[UW][A-Z0-9]{2,}$/;

const slackText: TextForm<string> = {
  parse: (text) =>
    text.trim() === "" || SLACK_MEMBER.test(text.trim())
      ? ok(text.trim())
      : bad("is not a Slack member id; expected U… or W… (the member id, not a name)"),
  format: (value) => value,
  expected: "a Slack member id (U… or W…)",
};

/** Loose on purpose: Slack's `users.lookupByEmail` is the real check; this catches a name in the column. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const emailText: TextForm<string> = {
  parse: (text) =>
    text.trim() === "" || EMAIL.test(text.trim())
      ? ok(text.trim().toLowerCase())
      : bad("is not an email address; expected name@example.com"),
  format: (value) => value,
  expected: "an email address (name@example.com)",
};

const loginText: TextForm<string> = {
  parse: (text) =>
    GITHUB_LOGIN.test(text.trim())
      ? ok(text.trim())
      : bad(
          "is not a GitHub login; expected 1–39 letters, digits and single hyphens, not starting or ending with a hyphen",
        ),
  format: (value) => value,
  expected: "a GitHub login",
};

const permissionsText: TextForm<PermissionMap> = {
  parse: (text) => {
    const parsed = parsePermissions(text);
    return parsed.ok ? parsed : bad(`is not permissions as GitHub names them: ${parsed.error}`);
  },
  format: formatPermissions,
  expected: "name:level pairs, e.g. contents:read; issues:write",
};

const scopeText: TextForm<Scope | null> = {
  parse: (text) => {
    if (text.trim() === "") return ok(null);
    return parseScope(text);
  },
  format: (value) => (value === null ? "" : formatScope(value)),
  expected: "all, none, or subset: repo-a, repo-b",
};

// ---------------------------------------------------------------------------------------------------
// Stored forms. Items written before the ledger was structured carry text where structure now is; the
// schema reads those forms once (a permission text, a scope text, a `reason: detail` string).

const StatusSchema = z.enum(STATUSES);
const RevokeReasonSchema = z.enum(REVOKE_REASONS);
const IsoSchema = z.string().refine((v) => !Number.isNaN(Date.parse(v)), "expected an ISO 8601 date-time");

const PermissionMapSchema = z.preprocess(
  (value) => {
    if (typeof value !== "string") return value;
    // The register's old free text was never checked against GitHub's names: each readable pair is kept,
    // and an unreadable one dropped, rather than one old cell stopping every sweep of the org.
    const pairs = value.split(/[;,\n]/).map(parsePermissions);
    return Object.assign({}, ...pairs.flatMap((p) => (p.ok ? [p.value] : [])));
  },
  z.record(z.string(), z.enum(["read", "write", "admin"])),
);

const ScopeSchema = z.preprocess((value) => {
  if (typeof value !== "string") return value;
  return value.trim() === "" ? null : legacyScope(value);
}, z.object({ selection: z.enum(["all", "subset", "none"]), repositories: z.array(z.string()) }).nullable());

const PendingRevocationSchema = z.object({
  reason: RevokeReasonSchema,
  detail: z.string(),
  patId: z.number(),
  at: z.string(),
  by: z.string(),
  runId: z.string(),
});

const RuleDecisionSchema = z.object({
  requestId: z.number().int().positive(),
  /** The rule that matched, or null: none did, and a person decides. */
  rule: z.string().nullable(),
  decision: z.enum(["approve", "deny"]).nullable(),
  reason: z.string(),
  at: z.string(),
  /** False in report mode: the decision was only said. */
  applied: z.boolean(),
});

const ClassicSchema = z.object({
  credentialId: z.number().int().positive(),
  lastEight: z.string(),
  scopes: z.array(z.string()),
  authorizedAt: z.string().nullable(),
  lastAccessedAt: z.string().nullable(),
});

// ---------------------------------------------------------------------------------------------------
// The fields

export const FIELDS = {
  org: field({ schema: z.string().min(1), initial: "" }),
  tokenName: field({
    schema: z.string().min(1),
    initial: "",
    text: plainText("the token's name"),
    csv: { column: "token_name", spellings: ["name", "token", "name of the token", "token name"] },
    max: 255,
  }),
  owner: field({
    schema: z.string().min(1),
    initial: "",
    text: loginText,
    csv: { column: "owner", spellings: ["owner of the token", "the owner of the token", "token owner"] },
    max: 39,
  }),
  purpose: field({
    schema: z.string(),
    initial: "",
    text: plainText("why the token exists"),
    csv: { column: "purpose", spellings: ["purpose of the token"] },
    option: { flag: "--purpose", help: "why the token exists" },
    max: 1024,
  }),
  /** Repository selection and repositories, as approved. */
  scope: field({
    schema: ScopeSchema,
    initial: null as Scope | null,
    text: scopeText,
    csv: { column: "scope", spellings: ["scope of access", "repositories"] },
    option: { flag: "--scope", help: "repositories approved: all, none, or 'subset: api, web'" },
    max: 4096,
  }),
  /** Permissions approved, GitHub's qualified names: `{ "repository.contents": "read" }` ({}: not recorded). */
  permissions: field({
    schema: PermissionMapSchema as z.ZodType<PermissionMap>,
    initial: {} as PermissionMap,
    text: permissionsText,
    csv: { column: "permissions", spellings: ["token permissions"] },
    option: { flag: "--permissions", help: "permissions approved, e.g. 'contents:read; issues:write'" },
    max: 4096,
  }),
  createdAt: field({
    schema: IsoSchema.nullable(),
    initial: null,
    text: dateText,
    csv: {
      column: "created_at",
      spellings: ["date of creation", "the date of creation", "created", "creation date"],
    },
    option: { flag: "--created-at", help: "when the token was created (YYYY-MM-DD)" },
  }),
  risks: field({
    schema: z.string(),
    initial: "",
    text: plainText("what a leak of the token would expose"),
    csv: { column: "risks", spellings: ["any risks", "risks associated with the token"] },
    option: { flag: "--risks", help: "what a leak of this token would expose" },
    max: 1024,
  }),
  approvedBy: field({
    schema: z.string(),
    initial: "",
    text: plainText("who approved the token"),
    csv: { column: "approved_by", spellings: ["approver", "approved by"] },
    option: { flag: "--approved-by", help: "who approved it" },
    max: 255,
  }),
  expiresAt: field({
    schema: IsoSchema.nullable(),
    initial: null,
    text: dateText,
    csv: {
      column: "expires_at",
      spellings: ["expiry date", "expiry", "expires", "expiration date", "expiration"],
    },
    option: { flag: "--expires-at", help: "when the token expires (YYYY-MM-DD)" },
  }),
  neededUntil: field({
    schema: IsoSchema.nullable(),
    initial: null,
    text: dateText,
    csv: { column: "needed_until", spellings: ["needed until", "required until"] },
    option: {
      flag: "--needed-until",
      help: "after this date it is revoked as no longer needed (YYYY-MM-DD)",
    },
  }),
  /** Will the token be renewed when it expires. */
  renew: field({
    schema: z.boolean(),
    initial: false,
    text: yesNoText,
    csv: { column: "renew", spellings: ["renew?", "renewal", "to renew"] },
    option: { flag: "--renew", help: "will it be renewed when it expires (yes|no)" },
  }),
  status: field({
    schema: StatusSchema,
    initial: "active" as (typeof STATUSES)[number],
    csv: { column: "status" },
  }),
  tokenId: field({
    schema: z.number().int().positive().nullable(),
    initial: null,
    text: idText("a token id"),
    csv: { column: "token_id", spellings: ["token id"] },
  }),
  /** Slack member id to mention in alerts. */
  slack: field({
    schema: z.string(),
    initial: "",
    text: slackText,
    csv: { column: "slack", spellings: ["slack contact", "slack id", "slack member"] },
    option: { flag: "--slack", help: "Slack member id (U…) to mention in alerts" },
    max: 32,
  }),
  notes: field({
    schema: z.string(),
    initial: "",
    text: plainText("anything else"),
    csv: { column: "notes", spellings: ["note", "comments"] },
    option: { flag: "--notes", help: "anything else" },
    max: 4096,
  }),
  /** The owner's email: how the sweep finds their Slack id (once, then kept in `slack`) to tell them directly. */
  email: field({
    schema: z.string(),
    initial: "",
    text: emailText,
    csv: { column: "email", spellings: ["owner email", "email address", "e-mail", "owner's email"] },
    option: { flag: "--email", help: "the owner's email, to find them in Slack for expiry warnings" },
    max: 254,
  }),
  entryId: field({
    schema: z.string().min(1),
    initial: "",
    text: plainText("the entry's id"),
    csv: { column: "entry_id", audit: true },
    max: 300,
  }),
  /** The grant id last seen for this token. */
  patId: field({
    schema: z.number().int().positive().nullable(),
    initial: null,
    text: idText("a grant id"),
    csv: { column: "pat_id", audit: true },
  }),
  /** The pending request id, while the token is (or was) requested. */
  requestId: field({
    schema: z.number().int().positive().nullable(),
    initial: null,
    text: idText("a request id"),
    csv: { column: "request_id", audit: true },
  }),
  /** When patrol first saw the token's grant or request. */
  firstSeenAt: field({
    schema: IsoSchema.nullable(),
    initial: null,
    text: dateText,
    csv: { column: "first_seen_at", audit: true },
  }),
  /** Why patrol revoked the token: the reason code. */
  revokedReason: field({
    schema: RevokeReasonSchema.nullable(),
    initial: null,
    text: {
      parse: (text) => {
        if (text.trim() === "") return ok(null);
        // An export from before reasons were codes says `code: detail`.
        const code = splitLegacyReason(text.trim())?.code ?? text.trim();
        const parsed = RevokeReasonSchema.safeParse(code);
        return parsed.success
          ? ok(parsed.data)
          : bad(`is not a reason; expected one of ${REVOKE_REASONS.join(", ")}`);
      },
      format: (value) => value ?? "",
      expected: REVOKE_REASONS.join(", "),
    },
    csv: { column: "revoked_reason", audit: true },
  }),
  /** The sentence that goes with the reason code. */
  revokedDetail: field({
    schema: z.string().nullable(),
    initial: null,
    text: optionalText,
    csv: { column: "revoked_detail", audit: true },
    max: 4096,
  }),
  revokedAt: field({
    schema: IsoSchema.nullable(),
    initial: null,
    text: dateText,
    csv: { column: "revoked_at", audit: true },
  }),
  revokedBy: field({
    schema: z.string().nullable(),
    initial: null,
    text: optionalText,
    csv: { column: "revoked_by", audit: true },
    max: 255,
  }),
  updatedAt: field({
    schema: z.string(),
    initial: "",
    csv: { column: "updated_at", audit: true, exportOnly: true },
  }),
  updatedBy: field({
    schema: z.string(),
    initial: "",
    csv: { column: "updated_by", audit: true, exportOnly: true },
  }),
  /** Optimistic-concurrency version: every write is conditional on it. */
  version: field({
    schema: z.number().int().nonnegative(),
    initial: 0,
    csv: { column: "version", audit: true, exportOnly: true },
  }),
  /**
   * A classic PAT's SSO authorization, as GitHub last listed it (entries `classic-<credential id>`): their
   * own kind, swept beside the fine-grained tokens on SAML SSO orgs. Null for a fine-grained token.
   */
  classic: field({
    schema: ClassicSchema.nullable(),
    initial: null as z.output<typeof ClassicSchema> | null,
  }),
  /**
   * What the approval rules decided of the entry's request (or would have, in report mode): so a request is
   * put to the rules once, and the digest tells the team once what was decided.
   */
  ruleDecision: field({
    schema: RuleDecisionSchema.nullable(),
    initial: null as z.output<typeof RuleDecisionSchema> | null,
  }),
  /** The status the entry had when its grant stopped being listed: what it returns to if listed again. */
  goneFrom: field({ schema: StatusSchema.nullable(), initial: null }),
  /** Alert keys already delivered → when. Keeps every alert to once per threshold. */
  alertsSent: field({ schema: z.record(z.string(), z.string()), initial: {} as Record<string, string> }),
  /** A revocation that was decided but not yet confirmed: written before the GitHub call. */
  pendingRevocation: field({
    schema: PendingRevocationSchema.nullable(),
    initial: null as z.output<typeof PendingRevocationSchema> | null,
  }),
} as const;

export type FieldName = keyof typeof FIELDS;
type Shape = { [K in FieldName]: (typeof FIELDS)[K]["schema"] };

const shape = Object.fromEntries(Object.entries(FIELDS).map(([name, spec]) => [name, spec.schema])) as Shape;
export const LedgerEntrySchema = z.object(shape);

/** One token's row in the ledger (one per token per org). */
export type LedgerEntry = z.output<typeof LedgerEntrySchema>;
export type PendingRevocation = NonNullable<LedgerEntry["pendingRevocation"]>;
export type { Scope };

/** A new entry with every field at its initial value, but those given. */
export function newEntry(
  fields: Pick<LedgerEntry, "org" | "entryId" | "tokenName" | "owner" | "status"> & Partial<LedgerEntry>,
): LedgerEntry {
  const initial = Object.fromEntries(
    // Objects (the empty maps) are fresh for each entry; the rest are values.
    Object.entries(FIELDS).map(([name, spec]) => [
      name,
      isObject(spec.initial) ? { ...spec.initial } : spec.initial,
    ]),
  ) as LedgerEntry;
  return { ...initial, ...fields };
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

const LedgerEventSchema = z.object({
  org: z.string(),
  entryId: z.string().min(1),
  version: z.number().int().nonnegative(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  reason: z.string(),
  runId: z.string().nullable(),
  changes: z.record(z.string(), z.tuple([z.unknown(), z.unknown()])),
});

/** Checks an event read back from the store, as `parseStoredEntry` checks an entry. */
export function parseStoredEvent(item: Record<string, unknown>): LedgerEvent {
  const parsed = LedgerEventSchema.safeParse({ runId: null, changes: {}, ...item });
  if (!parsed.success) {
    const where = `${String(item.entryId ?? "(no entry id)")} version ${String(item.version ?? "?")}`;
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "event"}: ${i.message}`)
      .join("; ");
    throw new MalformedEntryError(`ledger event of ${where} is malformed: ${problems}`);
  }
  return parsed.data as LedgerEvent;
}

/** `expired: expired 2026-05-01 …` (a reason as one string, before codes) → its code and its sentence. */
export function splitLegacyReason(text: string): { code: RevokeReason; detail: string } | null {
  const match = /^([a-z-]+): (.*)$/s.exec(text);
  const code = REVOKE_REASONS.find((r) => r === match?.[1]);
  return code && match ? { code, detail: match[2] ?? "" } : null;
}

export class MalformedEntryError extends Error {
  override name = "MalformedEntryError";
}

/**
 * Checks an item read back from the store: every field present and of its form (old text forms read once
 * into their structure). A malformed item is named by its entry id and field, never cast.
 */
export function parseStoredEntry(item: Record<string, unknown>): LedgerEntry {
  const filled: Record<string, unknown> = Object.fromEntries(
    Object.entries(FIELDS).map(([name, spec]) => [
      name,
      item[name] === undefined ? spec.initial : item[name],
    ]),
  );
  // Items written before reasons were codes kept `reason: detail` in one string, or any text an import
  // put there: a code is read out of it, and the text kept as the detail.
  const reason = filled.revokedReason;
  if (typeof reason === "string" && !(REVOKE_REASONS as readonly string[]).includes(reason)) {
    const legacy = splitLegacyReason(reason);
    filled.revokedReason = legacy?.code ?? null;
    filled.revokedDetail ??= legacy?.detail ?? reason;
  }
  const parsed = LedgerEntrySchema.safeParse(filled);
  if (!parsed.success) {
    const id = typeof item.entryId === "string" ? item.entryId : "(no entry id)";
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "entry"}: ${i.message}`)
      .join("; ");
    throw new MalformedEntryError(`ledger entry ${id} is malformed: ${problems}`);
  }
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------------
// Derived views of the table

export interface CsvField {
  field: FieldName;
  column: string;
  spellings: readonly string[];
  audit: boolean;
  /** Written by an export, and recomputed rather than read back by an import (versions, last change). */
  exportOnly: boolean;
}

/** Every field with a CSV column, in the table's order: the spreadsheet's own columns, then the audit ones. */
export const CSV_FIELDS: readonly CsvField[] = (() => {
  const all = Object.entries(FIELDS).flatMap(([name, spec]) => {
    const csv = (spec as FieldSpec<z.ZodType>).csv;
    return csv
      ? [
          {
            field: name as FieldName,
            column: csv.column,
            spellings: csv.spellings ?? [],
            audit: csv.audit === true,
            exportOnly: csv.exportOnly === true,
          },
        ]
      : [];
  });
  return [...all.filter((c) => !c.audit), ...all.filter((c) => c.audit)];
})();

export interface OptionField {
  field: FieldName;
  flag: string;
  help: string;
}

/** The fields an operator may set, with their options: register, update and approve take these. */
export const OPTION_FIELDS: readonly OptionField[] = Object.entries(FIELDS).flatMap(([name, spec]) => {
  const option = (spec as FieldSpec<z.ZodType>).option;
  return option ? [{ field: name as FieldName, ...option }] : [];
});

/** The longest text a person may give a field, if it is bounded. */
export function maxLength(name: FieldName): number | undefined {
  return (FIELDS[name] as FieldSpec<z.ZodType>).max;
}

/** Parses a field's text as a person wrote it, within its maximum length; the error names what was expected. */
export function parseFieldText(name: FieldName, text: string): Parsed<unknown> {
  const spec = FIELDS[name] as FieldSpec<z.ZodType>;
  const max = spec.max;
  if (max !== undefined && text.length > max) {
    return bad(`has ${text.length.toLocaleString("en")} characters; at most ${max.toLocaleString("en")}`);
  }
  if (!spec.text) return bad("is not set by hand");
  return spec.text.parse(text);
}

/** A field's value as text, as the CSV and `ledger show` write it. */
export function formatField(name: FieldName, value: unknown): string {
  const spec = FIELDS[name] as FieldSpec<z.ZodType>;
  if (spec.text) return spec.text.format(value);
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : String(value);
}
