import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeDate } from "../../lambdas/core/ledger/fields";
import {
  AUDIT_COLUMNS,
  CSV_COLUMNS,
  CsvError,
  type CsvImportOptions,
  type LedgerRecord,
  ledgerCsv,
  parseLedgerCsv,
} from "../../lambdas/core/ledger-csv";
import { type LedgerEntry, REVOKE_REASONS, STATUSES } from "../../lambdas/core/types";
import { perms, scope } from "./fixtures";

/** A record as one flat object: the row's identity and the values of the columns it has. */
function flat(record: LedgerRecord) {
  return {
    row: record.row,
    tokenName: record.tokenName,
    owner: record.owner,
    tokenId: record.tokenId,
    status: record.status,
    ...record.fields,
  };
}

/** Parses and flattens: what a row says, field by field. */
function rows(text: string | Uint8Array, options?: CsvImportOptions) {
  return parseLedgerCsv(text, options).map(flat);
}

function entry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    org: "acme",
    entryId: "e-1",
    tokenId: 101,
    patId: 9001,
    requestId: null,
    tokenName: "deploy-bot",
    owner: "octocat",
    purpose: "deploys the api",
    scope: scope("subset: api"),
    permissions: perms("contents:read"),
    createdAt: "2025-01-01T00:00:00.000Z",
    expiresAt: "2025-12-31T00:00:00.000Z",
    approvedBy: "alice",
    risks: "low",
    renew: true,
    neededUntil: null,
    slack: "U0OPS",
    email: "",
    classic: null,
    ruleDecision: null,
    notes: "",
    status: "active",
    firstSeenAt: "2025-01-02T03:04:05.000Z",
    alertsSent: {},
    pendingRevocation: null,
    revokedReason: null,
    revokedDetail: null,
    goneFrom: null,
    revokedAt: null,
    revokedBy: null,
    version: 3,
    updatedAt: "2025-01-03T00:00:00.000Z",
    updatedBy: "patrol",
    ...overrides,
  };
}

/** Runs `parseLedgerCsv` expecting it to throw, and returns the error. */
function csvError(text: string | Uint8Array, options?: CsvImportOptions): CsvError {
  try {
    parseLedgerCsv(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(CsvError);
    return error as CsvError;
  }
  throw new Error("expected parseLedgerCsv to throw a CsvError");
}

const HEADER = "token_name,owner";

describe("parseLedgerCsv: reading CSV", () => {
  it.each([
    ["snake case", "token_name,owner,status"],
    ["upper case", "TOKEN_NAME,OWNER,STATUS"],
    ["spaces", "Token Name,Owner,Status"],
    ["hyphens", "token-name,Owner,status"],
    ["surrounding whitespace", "  Token Name  , owner ,status "],
    ["synonym name", "Name,owner,status"],
    ["other order", "status,owner,token_name"],
  ])("accepts a header with %s", (_label, header) => {
    const cols = header.split(",").map((c) => c.trim().toLowerCase());
    const values: Record<string, string> = { status: "retired", owner: "octocat" };
    const row = cols.map((c) => values[c] ?? "deploy-bot").join(",");
    const [record] = rows(`${header}\n${row}\n`);
    expect(record).toMatchObject({ row: 2, tokenName: "deploy-bot", owner: "octocat", status: "retired" });
  });

  it("maps synonyms conservatively", () => {
    const [record] = rows("name,owner,approver,expires,created\nbot,octocat,alice,2025-03-01,2025-01-01\n");
    expect(record).toMatchObject({
      tokenName: "bot",
      approvedBy: "alice",
      expiresAt: "2025-03-01T00:00:00.000Z",
      createdAt: "2025-01-01T00:00:00.000Z",
    });
  });

  it("carries only the columns the file has: an import leaves the other fields as the ledger has them", () => {
    expect(parseLedgerCsv(`${HEADER}\nbot,octocat\n`)).toEqual<LedgerRecord[]>([
      {
        row: 2,
        tokenName: "bot",
        owner: "octocat",
        tokenId: null,
        status: null,
        fields: { tokenName: "bot", owner: "octocat" },
        audit: {},
      },
    ]);
  });

  it.each([
    ["LF", "\n"],
    ["CRLF", "\r\n"],
    ["CR", "\r"],
  ])("reads %s line endings", (_label, eol) => {
    const text = [HEADER, "a,octocat", "b,hubot", ""].join(eol);
    expect(rows(text).map((r) => [r.row, r.tokenName, r.owner])).toEqual([
      [2, "a", "octocat"],
      [3, "b", "hubot"],
    ]);
  });

  it("strips a UTF-8 BOM before the header", () => {
    const [record] = rows(`\uFEFF${HEADER}\r\nbot,octocat\r\n`);
    expect(record?.tokenName).toBe("bot");
  });

  it("reads quoted commas, embedded newlines and doubled quotes", () => {
    const text = `${HEADER},purpose,notes\r\n"bot, the second",octocat,"line one\r\nline two","say ""hi"""\r\n`;
    expect(rows(text)).toMatchObject([
      { row: 2, tokenName: "bot, the second", purpose: "line one\r\nline two", notes: 'say "hi"' },
    ]);
  });

  it("trims surrounding whitespace in values, quoted or not", () => {
    const [record] = rows(`${HEADER},purpose\n  bot  , octocat ,"  padded  "\n`);
    expect(record).toMatchObject({ tokenName: "bot", owner: "octocat", purpose: "padded" });
  });

  it("skips blank rows and trailing empty lines but counts them as rows", () => {
    const text = `${HEADER},notes\n\na,octocat,\n,,\n   \nb,hubot,x\n\n\n`;
    expect(rows(text).map((r) => [r.row, r.tokenName])).toEqual([
      [3, "a"],
      [6, "b"],
    ]);
  });

  it("refuses a column that matches no field, naming it and the nearest field; nothing is dropped silently", () => {
    const error = csvError(`${HEADER},Purpse,Owner's manager\nbot,octocat,x,y\n`);
    expect(error.problems.map((p) => p.column)).toEqual(["purpse", "owners_manager"]);
    expect(error.problems[0]?.message).toContain(
      'column "Purpse" (column 3) is not a ledger field; did you mean purpose?',
    );
    expect(error.problems.map((p) => p.unknownHeading)).toEqual(["Purpse", "Owner's manager"]);
  });

  it("skips a column on purpose when asked, by its heading in any spelling", () => {
    expect(
      rows(`${HEADER},Owner's manager\nbot,octocat,y\n`, { ignoreColumns: ["owner's MANAGER"] }),
    ).toEqual([{ row: 2, tokenName: "bot", owner: "octocat", tokenId: null, status: null }]);
  });

  it("reads the export's audit columns, so an export imported into an empty ledger loses nothing", () => {
    const header = `${HEADER},${AUDIT_COLUMNS.join(",")}`;
    const values: Record<string, string> = {
      entry_id: "token-7",
      pat_id: "1007",
      request_id: "",
      first_seen_at: "2026-01-02T03:04:05.000Z",
      revoked_reason: "expired",
      revoked_detail: "expired 2026-02-01",
      revoked_at: "2026-02-02T00:00:00.000Z",
      revoked_by: "patrol-sweep",
      updated_at: "2026-02-02T00:00:00.000Z",
      updated_by: "patrol-sweep",
      version: "4",
    };
    const [record] = parseLedgerCsv(
      `${header}\nbot,octocat,${AUDIT_COLUMNS.map((c) => values[c]).join(",")}\n`,
    );
    // Versions and last change describe the export's own writes: an import makes its own.
    expect(record?.audit).toEqual({
      entryId: "token-7",
      patId: 1007,
      firstSeenAt: "2026-01-02T03:04:05.000Z",
      revokedReason: "expired",
      revokedDetail: "expired 2026-02-01",
      revokedAt: "2026-02-02T00:00:00.000Z",
      revokedBy: "patrol-sweep",
    });
  });

  it.each([
    [
      "UTF-16 (a BOM FF FE)",
      Uint8Array.from([0xff, 0xfe, 0x74, 0x00, 0x6f, 0x00]),
      /the file is UTF-16; save it as "CSV UTF-8"/,
    ],
    [
      "Windows-1252 (é as E9)",
      Uint8Array.from([...Buffer.from("token_name,owner,notes\nbot,amy,caf"), 0xe9, 0x0a]),
      /the file is not UTF-8/,
    ],
  ])("refuses a file in %s, saying so", (_label, bytes, message) => {
    expect(csvError(bytes).message).toMatch(message);
  });

  it("reads UTF-8 bytes, a BOM included", () => {
    expect(rows(Buffer.from("\uFEFFtoken_name,owner,notes\nbot,amy,café\n"))).toMatchObject([
      { notes: "café" },
    ]);
  });

  it.each([
    ["semicolons", "token_name;owner;purpose\nbot;amy;x\n", `";"`],
    ["tabs", "token_name\towner\nbot\tamy\n", "tabs"],
  ])("refuses columns separated by %s, saying so", (_label, text, what) => {
    const error = csvError(text);
    expect(error.message).toContain(`the columns are separated by ${what}; patrol reads comma-separated CSV`);
  });

  it("reads an export from before reasons were codes: the code, and the sentence apart", () => {
    const [record] = parseLedgerCsv(
      `${HEADER},entry_id,revoked_reason\nbot,octocat,token-7,expired: expired 2026-02-01\n`,
    );
    expect(record?.audit).toMatchObject({ revokedReason: "expired", revokedDetail: "expired 2026-02-01" });
  });

  it("refuses audit values that are not what an export writes", () => {
    const text = `${HEADER},pat_id,revoked_at\nbot,octocat,12x,yesterday\n`;
    expect(() => rows(text)).toThrow(/column pat_id[\s\S]*column revoked_at/);
  });

  it("returns nothing for a header without rows", () => {
    expect(rows(`${CSV_COLUMNS.join(",")}\r\n`)).toEqual([]);
  });

  it("removes the formula-injection apostrophe on import", () => {
    const text = `${HEADER},purpose,notes,risks,approved_by\nbot,octocat,'=SUM(A1),'hello,'-1,''+x\n`;
    expect(rows(text)).toMatchObject([
      { purpose: "=SUM(A1)", notes: "'hello", risks: "-1", approvedBy: "'+x" },
    ]);
  });
});

describe("parseLedgerCsv: values", () => {
  it.each([
    ["", false],
    ["yes", true],
    ["YES", true],
    ["y", true],
    ["True", true],
    ["1", true],
    ["no", false],
    ["N", false],
    ["false", false],
    ["0", false],
  ])("reads renew %j as %s", (value, expected) => {
    const [record] = rows(`${HEADER},renew\nbot,octocat,${value}\n`);
    expect(record?.renew).toBe(expected);
  });

  it.each<[string, string | null]>([
    ["", null],
    ["active", "active"],
    ["Retired", "retired"],
    ["FLAGGED", "flagged"],
  ])("reads status %j as %s", (value, expected) => {
    const [record] = rows(`${HEADER},status\nbot,octocat,${value}\n`);
    expect(record?.status).toBe(expected);
  });

  it.each([
    ["2025-01-31", "2025-01-31T00:00:00.000Z"],
    ["2024-02-29", "2024-02-29T00:00:00.000Z"],
    ["2025-01-31T12:00:00Z", "2025-01-31T12:00:00.000Z"],
    ["2025-01-31T12:00Z", "2025-01-31T12:00:00.000Z"],
    ["2025-01-31 12:00:00Z", "2025-01-31T12:00:00.000Z"],
    ["2025-01-31T12:00:00.123456Z", "2025-01-31T12:00:00.123Z"],
    ["2025-01-31T12:00:00+02:00", "2025-01-31T10:00:00.000Z"],
    ["2025-01-31T01:00:00-0130", "2025-01-31T02:30:00.000Z"],
    ["2025-01-01T00:30:00+01:00", "2024-12-31T23:30:00.000Z"],
    ["0050-06-01", "0050-06-01T00:00:00.000Z"],
  ])("normalizes date %j to %s", (value, expected) => {
    expect(normalizeDate(value)).toBe(expected);
    const [record] = rows(`${HEADER},expires_at\nbot,octocat,${value}\n`);
    expect(record?.expiresAt).toBe(expected);
  });

  it.each([
    "31/01/2025",
    "2025-02-30",
    "2023-02-29",
    "2025-13-01",
    "2025-00-10",
    "2025-1-5",
    "2025-01-31T12:00:00",
    "2025-01-31T24:00:00Z",
    "2025-01-31T12:60:00Z",
    "2025-01-31T12:00:00+24:00",
    "tomorrow",
  ])("rejects date %j", (value) => {
    expect(normalizeDate(value)).toBeNull();
  });

  it.each([
    ["7", 7],
    ["0042", 42],
    ["", null],
  ])("reads token_id %j as %s", (value, expected) => {
    const [record] = rows(`${HEADER},token_id\nbot,octocat,${value}\n`);
    expect(record?.tokenId).toBe(expected);
  });

  it("keeps the owner's case", () => {
    const [record] = rows(`${HEADER}\nbot,OctoCat-42\n`);
    expect(record?.owner).toBe("OctoCat-42");
  });
});

describe("parseLedgerCsv: problems", () => {
  it.each<[string, string, string, string]>([
    ["token_name", "", "", "row 2, column token_name: is empty; expected the token's name"],
    ["owner", "", "", "row 2, column owner: is empty; expected the owner's GitHub login"],
    ["owner", "not a login", "", 'row 2, column owner: "not a login" is not a GitHub login'],
    ["owner", "-octocat", "", 'column owner: "-octocat" is not a GitHub login'],
    ["owner", "octo--cat", "", 'column owner: "octo--cat" is not a GitHub login'],
    ["owner", "a".repeat(40), "", "has 40 characters; at most 39"],
    [
      "expires_at",
      "31/01/2025",
      "expires_at",
      'row 2, column expires_at: "31/01/2025" is not a date; expected YYYY-MM-DD or an ISO 8601 date-time',
    ],
    ["created_at", "2025-02-30", "created_at", 'row 2, column created_at: "2025-02-30" is not a date'],
    ["needed_until", "soon", "needed_until", 'row 2, column needed_until: "soon" is not a date'],
    ["renew", "maybe", "renew", 'row 2, column renew: "maybe" is not yes or no; expected yes/no'],
    [
      "status",
      "revoked-ish",
      "status",
      'row 2, column status: "revoked-ish" is not a status; expected active, retired, flagged or empty',
    ],
    [
      "status",
      "requested",
      "status",
      'row 2, column status: "requested" is a status patrol sets from what it sees on GitHub',
    ],
    ["status", "gone", "status", '"gone" is a status patrol sets'],
    ["status", "revoked", "status", '"revoked" is a status patrol sets'],
    ["status", "unregistered", "status", '"unregistered" is a status patrol sets'],
    [
      "permissions",
      "read:contents",
      "permissions",
      'row 2, column permissions: "read:contents" is not permissions as GitHub names them: "read:contents" names the level first; did you mean "contents:read"?',
    ],
    ["permissions", "bogus:read", "permissions", '"bogus" is not a GitHub fine-grained permission'],
    ["scope", "the api repos", "scope", "is not a scope; expected all, none, or subset: repo-a, repo-b"],
    ["slack", "alice", "slack", '"alice" is not a Slack member id; expected U… or W…'],
    ["slack", "#ops", "slack", "is not a Slack member id"],
    ["purpose", "p".repeat(1025), "purpose", "1,025 characters; at most 1,024"],
    ["notes", "n".repeat(450_000), "notes", "450,000 characters; at most 4,096"],
    [
      "token_id",
      "0",
      "token_id",
      'row 2, column token_id: "0" is not a token id; expected a positive integer',
    ],
    ["token_id", "-3", "token_id", 'row 2, column token_id: "-3" is not a token id'],
    ["token_id", "1.5", "token_id", 'row 2, column token_id: "1.5" is not a token id'],
    ["token_id", "1.23E+09", "token_id", 'row 2, column token_id: "1.23E+09" is not a token id'],
    ["token_id", "99999999999999999999", "token_id", "is not a token id"],
  ])("column %s = %j is reported", (column, value, extraColumn, message) => {
    const base: Record<string, string> = { token_name: "bot", owner: "octocat" };
    base[column] = value;
    const columns = extraColumn === "" ? ["token_name", "owner"] : ["token_name", "owner", extraColumn];
    const text = `${columns.join(",")}\n${columns.map((c) => `"${base[c] ?? ""}"`).join(",")}\n`;
    const error = csvError(text);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatchObject({ row: 2, column });
    expect(error.problems[0]?.message).toContain(message);
  });

  it("truncates long bad values to 60 characters", () => {
    const error = csvError(`${HEADER},expires_at\nbot,octocat,${"x".repeat(200)}\n`);
    expect(error.problems[0]?.message).toContain(`"${"x".repeat(59)}…"`);
    expect(error.problems[0]?.message).not.toContain("x".repeat(60));
  });

  it("numbers rows as a spreadsheet does after a record with an embedded newline", () => {
    const text = `${HEADER},notes,expires_at\r\nbot,octocat,"two\r\nlines",\r\nbot2,octocat,,31/01/2025\r\n`;
    const error = csvError(text);
    expect(error.problems).toEqual([
      {
        row: 3,
        column: "expires_at",
        line: 4,
        message:
          'row 3 (line 4), column expires_at: "31/01/2025" is not a date; expected YYYY-MM-DD or an ISO 8601 date-time with a time zone (e.g. 2025-01-31T12:00:00Z)',
      },
    ]);
  });

  it("reports every problem at once, in row order, with a readable summary", () => {
    const text = [
      "token_name,owner,renew,status,token_id",
      "good,octocat,yes,active,1",
      ",octocat,,,",
      "bad-owner,not valid,perhaps,,",
      "bot,octocat,,gone-ish,x",
      "",
    ].join("\n");
    const error = csvError(text);
    expect(error.problems.map((p) => [p.row, p.column])).toEqual([
      [3, "token_name"],
      [4, "owner"],
      [4, "renew"],
      [5, "status"],
      [5, "token_id"],
    ]);
    const lines = error.message.split("\n");
    expect(lines[0]).toBe("5 problems in the CSV; nothing was imported");
    expect(lines.slice(1)).toEqual(error.problems.map((p) => p.message));
  });

  it("says 1 problem in the singular", () => {
    expect(csvError(`${HEADER}\n,octocat\n`).message.split("\n")[0]).toBe(
      "1 problem in the CSV; nothing was imported",
    );
  });

  it("caps the summary at 50 problem lines", () => {
    const rows = Array.from({ length: 60 }, (_, i) => `bot${i},`);
    const error = csvError(`${HEADER}\n${rows.join("\n")}\n`);
    expect(error.problems).toHaveLength(60);
    const lines = error.message.split("\n");
    expect(lines).toHaveLength(52);
    expect(lines[0]).toBe("60 problems in the CSV; nothing was imported");
    expect(lines[51]).toBe("… and 10 more");
  });

  it.each([
    [
      "token_name",
      "owner,purpose\noctocat,x\n",
      "missing required column token_name; found columns: owner, purpose",
    ],
    [
      "owner",
      "Token Name,purpose\nbot,x\n",
      "missing required column owner; found columns: Token Name, purpose",
    ],
  ])("reports the missing required column %s and the columns found", (column, text, message) => {
    const error = csvError(text);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatchObject({ row: 1, column });
    expect(error.problems[0]?.message).toContain(message);
  });

  it("reports both required columns when both are missing", () => {
    expect(csvError("purpose\nx\n").problems.map((p) => p.column)).toEqual(["token_name", "owner"]);
  });

  it.each([
    ["the same name", "token_name,owner,Owner\n", "owner"],
    ["a synonym", "token_name,owner,name\n", "token_name"],
    ["an audit column", "token_name,owner,version,Version\n", "version"],
  ])("rejects a duplicate header via %s", (_label, text, column) => {
    const error = csvError(text);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.column).toBe(column);
    expect(error.problems[0]?.message).toContain(`duplicate column ${column}`);
  });

  it.each(["", "\uFEFF", "\n\n", " , \n"])("rejects an empty file %j", (text) => {
    expect(csvError(text).problems[0]).toMatchObject({ row: null });
    expect(csvError(text).message).toContain("the CSV is empty");
  });

  it("reports ragged rows with their row numbers", () => {
    const text = `${HEADER},notes\nbot,octocat\nbot2,octocat,x\nbot3,octocat,a,b\n`;
    const error = csvError(text);
    expect(error.problems.map((p) => [p.row, p.message])).toEqual([
      [
        2,
        "row 2: has 2 fields but the header has 3; expected one field per column (quote values that contain commas)",
      ],
      [
        4,
        "row 4: has 4 fields but the header has 3; expected one field per column (quote values that contain commas)",
      ],
    ]);
  });

  it("reports malformed CSV as a problem with the file", () => {
    const error = csvError(`${HEADER},notes\nbot,octocat,"never closed\n`);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.row).toBeNull();
    expect(error.problems[0]?.message).toMatch(/^the file is not valid CSV/);
  });

  it.each([
    [
      "the same token_id",
      "token_name,owner,token_id\na,octocat,7\nb,hubot,7\n",
      "token_id",
      "token 7 is already in row 2",
    ],
    [
      "the same owner (any case) and token_name without token_id",
      "token_name,owner\nbot,octocat\nother,octocat\nbot,OctoCat\n",
      "token_name",
      '"bot" owned by "OctoCat" is already in row 2',
    ],
  ])("reports duplicate rows with %s, naming both rows", (_label, text, column, message) => {
    const error = csvError(text);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatchObject({ column });
    expect(error.problems[0]?.message).toContain(message);
    expect(error.problems[0]?.message).toMatch(/^row [34],/);
  });

  it("does not treat a row with a token_id and one without as duplicates", () => {
    expect(
      rows("token_name,owner,token_id,status\nbot,octocat,7,retired\nbot,octocat,,active\n"),
    ).toHaveLength(2);
  });
});

describe("ledgerCsv", () => {
  it("writes a BOM, CRLF line endings, the ledger columns and then the audit columns", () => {
    const csv = ledgerCsv([entry()]);
    expect(csv.startsWith("\uFEFF")).toBe(true);
    const lines = csv.slice(1).split("\r\n");
    expect(lines[0]).toBe([...CSV_COLUMNS, ...AUDIT_COLUMNS].join(","));
    expect(lines[1]).toBe(
      "deploy-bot,octocat,deploys the api,subset: api,contents:read,2025-01-01T00:00:00.000Z,low,alice," +
        "2025-12-31T00:00:00.000Z,,yes,active,101,U0OPS,,,e-1,9001,,2025-01-02T03:04:05.000Z,,,,,2025-01-03T00:00:00.000Z,patrol,3",
    );
    expect(lines[2]).toBe("");
    expect(lines).toHaveLength(3);
    expect(csv.replace(/\r\n/g, "")).not.toMatch(/\n/);
  });

  it("writes only the header for no entries", () => {
    expect(ledgerCsv([])).toBe(`\uFEFF${[...CSV_COLUMNS, ...AUDIT_COLUMNS].join(",")}\r\n`);
  });

  it("quotes fields that need it", () => {
    const csv = ledgerCsv([entry({ purpose: 'a, "b"\nc', notes: "x\ry", renew: false, tokenId: null })]);
    expect(csv).toContain(`"a, ""b""\nc"`);
    expect(csv).toContain(`"x\ry"`);
    expect(csv).toContain(",no,active,,");
  });

  it.each([
    ["=HYPERLINK(1)", "'=HYPERLINK(1)"],
    ["+1", "'+1"],
    ["-1", "'-1"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["'=x", "''=x"],
    ["'plain", "'plain"],
    ["a=b", "a=b"],
  ])("protects %j against formula injection as %j", (value, written) => {
    const csv = ledgerCsv([entry({ notes: value })]);
    const [, row] = csv.split("\r\n");
    expect(row?.split(",")[14]).toBe(written);
    expect(rows(csv)[0]?.notes).toBe(value);
  });

  it("round-trips revoked entries: the reason as its code, the sentence apart", () => {
    const csv = ledgerCsv([
      entry({
        status: "revoked",
        revokedReason: "expired",
        revokedDetail: "expired 2025-05-31 and not marked for renewal",
        revokedAt: "2025-06-01T00:00:00.000Z",
        revokedBy: "patrol",
      }),
    ]);
    expect(csv).toContain(",revoked_reason,revoked_detail,");
    expect(csv).toContain(",expired,expired 2025-05-31 and not marked for renewal,");
    expect(parseLedgerCsv(csv)).toMatchObject([
      {
        status: "revoked",
        tokenId: 101,
        audit: { revokedReason: "expired", revokedDetail: "expired 2025-05-31 and not marked for renewal" },
      },
    ]);
  });
});

describe("round trip property", () => {
  /** Text that survives trimming, built to exercise quoting, newlines and formula prefixes. */
  const tricky = fc
    .array(
      fc.oneof(
        fc.constantFrom(
          ",",
          '"',
          "\n",
          "\r\n",
          "\r",
          "=",
          "+",
          "-",
          "@",
          "'",
          "\t",
          " ",
          ";",
          "é",
          "😀",
          "\uFEFF",
        ),
        fc.string({ unit: "grapheme", maxLength: 5 }),
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join(""))
    .filter((s) => s === s.trim());
  const nonEmpty = tricky.filter((s) => s !== "");
  const login = fc.stringMatching(/^[A-Za-z0-9]{1,10}(?:-[A-Za-z0-9]{1,10}){0,2}$/);
  const isoDate = fc.option(
    fc
      .date({
        min: new Date("0001-01-01T00:00:00.000Z"),
        max: new Date("9999-12-31T23:59:59.999Z"),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString()),
    { nil: null },
  );
  const ledgerEntry = fc
    .record({
      tokenName: nonEmpty,
      owner: login,
      purpose: tricky,
      scope: fc.constantFrom("", "all", "none", "subset", "subset: api, web").map(scope),
      permissions: fc
        .constantFrom("", "contents:read", "issues:write; members:read", "followers:read")
        .map(perms),
      createdAt: isoDate,
      risks: tricky,
      approvedBy: tricky,
      expiresAt: isoDate,
      neededUntil: isoDate,
      renew: fc.boolean(),
      status: fc.constantFrom(...STATUSES),
      tokenId: fc.option(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), { nil: null }),
      slack: fc.constantFrom("", "U012AB3CD", "W0PATROL"),
      notes: tricky,
      revokedReason: fc.option(fc.constantFrom(...REVOKE_REASONS), { nil: null }),
      updatedBy: tricky,
      version: fc.nat(),
    })
    .map((fields) => entry(fields));
  const entries = fc.uniqueArray(ledgerEntry, {
    maxLength: 8,
    selector: (e) => e.tokenId ?? `${e.owner.toLowerCase()}\u0000${e.tokenName}`,
  });

  const csvFields = (e: LedgerEntry | ReturnType<typeof flat>) => ({
    tokenName: e.tokenName,
    owner: e.owner,
    purpose: e.purpose,
    scope: e.scope,
    permissions: e.permissions,
    createdAt: e.createdAt,
    risks: e.risks,
    approvedBy: e.approvedBy,
    expiresAt: e.expiresAt,
    neededUntil: e.neededUntil,
    renew: e.renew,
    status: e.status,
    tokenId: e.tokenId,
    slack: e.slack,
    notes: e.notes,
  });

  it("rows(ledgerCsv(entries)) gives back every CSV field unchanged", () => {
    fc.assert(
      fc.property(entries, (list) => {
        const records = rows(ledgerCsv(list));
        expect(parseLedgerCsv(ledgerCsv(list)).map((r) => r.audit.revokedReason ?? null)).toEqual(
          list.map((e) => e.revokedReason),
        );
        expect(records.map(csvFields)).toEqual(list.map(csvFields));
        expect(records.map((r) => r.row)).toEqual(list.map((_, i) => i + 2));
      }),
      { numRuns: 300 },
    );
  });
});
