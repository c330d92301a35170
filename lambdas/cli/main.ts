import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { invokeFunction, RemoteFunctionError } from "../adapters/lambda-invoke";
import { buildDeps, type Deps } from "../app/deps";
import { runRevoke } from "../app/run-revoke";
import { runSweep } from "../app/run-sweep";
import { ConfigError, parseEnv } from "../config";
import type { ChangeContext } from "../core/changes";
import { CsvError, eventsCsv, ledgerCsv, normalizeDate, parseLedgerCsv } from "../core/ledger-csv";
import { planImport } from "../core/ledger-import";
import {
  completeReview,
  type EntryFields,
  type EntryRef,
  findEntry as findEntryOrThrow,
  LedgerOpError,
  planReview,
  registerEntry,
  setStatus,
  summarizeLedger,
  updateEntry,
} from "../core/ledger-ops";
import { GITHUB_LOGIN, OrgSchema } from "../core/login";
import { exitCodeOf, type RevokeReport, revokeExitCode } from "../core/report";
import { InvalidRevokeError, parseRevokeRequest } from "../core/revoke";
import type { EntryWrite, LedgerEntry } from "../core/types";
import {
  formatEntry,
  formatImport,
  formatLedgerSummary,
  formatRevokeReport,
  formatSweepReport,
} from "./format";

const PATROL_VERSION = "0.1.0";

/** DESIGN.md's exit codes. */
export const EXIT = { ok: 0, errors: 1, badInput: 2, held: 3 } as const;

/** Bad input: a clear message, exit 2, and nothing changed. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress is redrawn in place there). */
  interactive?: boolean;
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  interactive: process.stderr.isTTY,
};

function org(value: string): string {
  const parsed = OrgSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`--org: "${value}" is not a GitHub organization login`);
  return parsed.data;
}

/** A date (midnight UTC) or a date-time with `Z` or an offset: never the machine's local zone. */
function instant(value: string): Date {
  const ms = Date.parse(value);
  const form = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;
  if (!form.test(value) || Number.isNaN(ms)) {
    throw new UsageError(
      `--now: "${value}" is not an ISO 8601 instant with a zone (e.g. 2026-11-22T03:00:00Z)`,
    );
  }
  return new Date(ms);
}

async function withDeps<T>(io: CliIo, use: (deps: Deps) => Promise<T>): Promise<T> {
  const deps = await buildDeps(parseEnv(io.env), { allowEmbedded: true });
  try {
    return await use(deps);
  } finally {
    await deps.close();
  }
}

function progress(io: CliIo, json: boolean) {
  let last = 0;
  return (listed: number) => {
    if (json && !io.interactive) return;
    if (io.interactive) io.stderr(`\rlisting tokens… ${listed}`);
    else if (listed - last >= 1000) io.stderr(`listed ${listed} tokens…\n`);
    last = listed;
  };
}

interface RevokeOptions {
  org: string;
  patId?: string[];
  tokenId?: string[];
  owner?: string;
  tokenName?: string;
  all?: boolean;
  confirm?: string;
  reason: string;
  by: string;
  dryRun?: boolean;
  json?: boolean;
  function?: string;
}

function numbers(flag: string, values: string[]): number[] {
  return values
    .flatMap((v) => v.split(","))
    .map((v) => {
      if (!/^\d+$/.test(v.trim())) throw new UsageError(`${flag}: "${v}" is not a number`);
      return Number(v.trim());
    });
}

/** The revoke Lambda's event, from the flags: the CLI and the Lambda validate the very same shape. */
function revokeEvent(opts: RevokeOptions): Record<string, unknown> {
  const given = [
    opts.patId && "--pat-id",
    opts.tokenId && "--token-id",
    opts.tokenName && "--token-name",
    opts.all && "--all",
    opts.owner && !opts.tokenName && "--owner",
  ].filter(Boolean);
  if (given.length !== 1) {
    throw new UsageError(
      `expected exactly one of --pat-id, --token-id, --owner, --token-name [--owner], --all --confirm ORG; got ${given.length ? given.join(", ") : "none"}`,
    );
  }
  if (opts.owner && (opts.patId || opts.tokenId || opts.all))
    throw new UsageError("--owner goes alone or with --token-name");
  const selector = opts.patId
    ? { patIds: numbers("--pat-id", opts.patId) }
    : opts.tokenId
      ? { tokenIds: numbers("--token-id", opts.tokenId) }
      : opts.tokenName
        ? { tokenName: opts.tokenName, ...(opts.owner ? { owner: opts.owner } : {}) }
        : opts.all
          ? { all: true, confirm: opts.confirm ?? "" }
          : { owner: opts.owner };
  return {
    org: opts.org,
    selector,
    reason: opts.reason,
    requestedBy: opts.by,
    ...(opts.dryRun ? { dryRun: true } : {}),
  };
}

/** The entry fields a person may set, as options shared by register, update, approve and deny. */
function withFieldOptions(command: Command): Command {
  return command
    .option("--purpose <text>", "why the token exists")
    .option("--scope <text>", "repositories approved, e.g. 'subset: api, web' or 'all'")
    .option("--permissions <text>", "permissions approved, e.g. 'contents:read; issues:write'")
    .option("--risks <text>", "what a leak of this token would expose")
    .option("--approved-by <who>", "who approved it (default: --by)")
    .option("--created-at <date>", "when the token was created (YYYY-MM-DD)")
    .option("--expires-at <date>", "when the token expires (YYYY-MM-DD)")
    .option("--needed-until <date>", "after this date the token is revoked as no longer needed (YYYY-MM-DD)")
    .option("--renew <yes|no>", "will it be renewed when it expires")
    .option("--slack <member-id>", "Slack member id (U…) to mention in alerts")
    .option("--notes <text>", "anything else");
}

interface FieldOptions {
  purpose?: string;
  scope?: string;
  permissions?: string;
  risks?: string;
  approvedBy?: string;
  createdAt?: string;
  expiresAt?: string;
  neededUntil?: string;
  renew?: string;
  slack?: string;
  notes?: string;
}

function fieldsOf(opts: FieldOptions): EntryFields {
  const date = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    if (value === "" || value === "none") return null;
    const iso = normalizeDate(value);
    if (iso === null)
      throw new UsageError(
        `${flag}: "${value}" is not a date; expected YYYY-MM-DD or an ISO 8601 date-time with a zone`,
      );
    return iso;
  };
  const renew =
    opts.renew === undefined
      ? undefined
      : { yes: true, y: true, true: true, no: false, n: false, false: false }[opts.renew.toLowerCase()];
  if (opts.renew !== undefined && renew === undefined)
    throw new UsageError(`--renew: "${opts.renew}" is not yes or no`);
  if (opts.slack !== undefined && opts.slack !== "" && !/^[UW][A-Z0-9]{2,}$/.test(opts.slack)) {
    throw new UsageError(`--slack: "${opts.slack}" is not a Slack member id (U… or W…)`);
  }
  const fields: EntryFields = {
    purpose: opts.purpose,
    scope: opts.scope,
    permissions: opts.permissions,
    risks: opts.risks,
    approvedBy: opts.approvedBy,
    createdAt: date("--created-at", opts.createdAt),
    expiresAt: date("--expires-at", opts.expiresAt),
    neededUntil: date("--needed-until", opts.neededUntil),
    renew,
    slack: opts.slack,
    notes: opts.notes,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as EntryFields;
}

function withRefOptions(command: Command): Command {
  return command
    .option("--entry <id>", "the entry's id (as `ledger export` shows it)")
    .option("--token-id <id>", "the token's id")
    .option("--owner <login>", "the token's owner (with --token-name)")
    .option("--token-name <name>", "the token's name (with --owner)");
}

interface RefOptions {
  entry?: string;
  tokenId?: string;
  owner?: string;
  tokenName?: string;
}

/** What every command that changes one entry takes: the entry, the org, who, why. */
interface ChangeOptions extends RefOptions {
  org: string;
  by: string;
  reason: string;
  json?: boolean;
}

function refOf(opts: RefOptions): EntryRef {
  if (opts.entry) return { entryId: opts.entry };
  if (opts.tokenId) {
    if (!/^\d+$/.test(opts.tokenId)) throw new UsageError(`--token-id: "${opts.tokenId}" is not a number`);
    return { tokenId: Number(opts.tokenId) };
  }
  if (opts.owner && opts.tokenName) return { owner: opts.owner, tokenName: opts.tokenName };
  throw new UsageError("name the entry: --entry ID, --token-id N, or --owner LOGIN --token-name NAME");
}

function login(flag: string, value: string): string {
  if (!GITHUB_LOGIN.test(value)) {
    throw new UsageError(`${flag}: "${value}" is not a GitHub login`);
  }
  return value;
}

function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command("patrol")
    .description("Governs the fine-grained personal access tokens that reach a GitHub organization.")
    .version(PATROL_VERSION, "-V, --version")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError("(run patrol --help for usage)");

  program
    .command("sweep")
    .description("scan the org's tokens, reconcile them with the ledger, alert and revoke")
    .requiredOption("--org <org>", "GitHub organization login", org)
    .option("--now <iso>", "evaluate the policy as of this instant", instant)
    .option("--dry-run", "change nothing anywhere: no ledger write, no revocation, no Slack message")
    .option("--json", "print one JSON document on stdout and nothing else there")
    .action(async (opts: { org: string; now?: Date; dryRun?: boolean; json?: boolean }) => {
      const report = await withDeps(io, (deps) =>
        runSweep(deps, {
          org: opts.org,
          now: opts.now ?? new Date(),
          runId: randomUUID(),
          dryRun: opts.dryRun ?? false,
          actor: "patrol-sweep",
          onProgress: progress(io, opts.json ?? false),
        }),
      );
      if (io.interactive) io.stderr("\r\x1b[K");
      io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatSweepReport(report));
      setExit(exitCodeOf(report));
    });

  program
    .command("revoke")
    .description("revoke at once after a compromise; the ledger flags what was revoked so it stays cut off")
    .requiredOption("--org <org>", "GitHub organization login")
    .option("--pat-id <ids...>", "grant ids (GitHub's pat_id)")
    .option("--token-id <ids...>", "token ids")
    .option("--owner <login>", "every token of this person (with --token-name: only that token of theirs)")
    .option("--token-name <name>", "the token of this name")
    .option("--all", "every token in the organization (break glass; needs --confirm ORG)")
    .option("--confirm <org>", "the organization's name again, for --all")
    .requiredOption("--reason <text>", "why: recorded in the ledger and told to Slack")
    .requiredOption("--by <who>", "who asks: recorded in the ledger and told to Slack")
    .option("--dry-run", "show what would be revoked and change nothing")
    .option("--json", "print one JSON document on stdout and nothing else there")
    .option("--function <name>", "invoke the deployed revoke Lambda (name or ARN) instead of running locally")
    .action(async (opts: RevokeOptions) => {
      const event = revokeEvent(opts);
      const request = parseRevokeRequest(event); // exit 2 on bad input, before anything is touched
      let report: RevokeReport;
      if (opts.function) {
        try {
          report = (await invokeFunction(opts.function, event)) as RevokeReport;
        } catch (error) {
          if (error instanceof RemoteFunctionError && error.errorType === "InvalidRevokeError") {
            throw new UsageError(error.message);
          }
          throw error;
        }
      } else {
        report = await withDeps(io, (deps) => runRevoke(deps, request, new Date(), randomUUID()));
      }
      io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatRevokeReport(report));
      setExit(revokeExitCode(report));
    });

  const ledger = program.command("ledger").description("the register of approved tokens");

  ledger
    .command("import")
    .description("import the spreadsheet of approved tokens (CSV); a bad file is refused whole")
    .argument("<file>", "CSV with columns token_name, owner, purpose, scope, permissions, …")
    .requiredOption("--org <org>", "GitHub organization login", org)
    .option("--by <who>", "who is importing, for the audit trail (default: $USER)")
    .option("--dry-run", "show what would change and write nothing")
    .option("--json", "print the outcome as JSON")
    .action(async (file: string, opts: { org: string; by?: string; dryRun?: boolean; json?: boolean }) => {
      const by = opts.by ?? io.env.USER ?? "operator";
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (error) {
        throw new UsageError(
          `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        );
      }
      const records = parseLedgerCsv(text); // throws CsvError before anything is opened or written
      const outcome = await withDeps(io, async (deps) => {
        const entries = await deps.ledger.load(opts.org);
        const ctx = { org: opts.org, now: new Date(), actor: by, runId: `import-${randomUUID()}` };
        const plan = planImport(records, entries, ctx, basename(file));
        if (!opts.dryRun) {
          const result = await deps.ledger.write(plan.writes);
          if (result.conflicts.length > 0) {
            setExit(EXIT.errors);
            io.stderr(`${result.conflicts.map((c) => c.message).join("\n")}\n`);
          }
        }
        return plan.outcomes;
      });
      io.stdout(
        opts.json ? `${JSON.stringify(outcome, null, 2)}\n` : formatImport(outcome, opts.dryRun ?? false),
      );
    });

  ledger
    .command("export")
    .description("export the ledger for an audit")
    .requiredOption("--org <org>", "GitHub organization login", org)
    .addOption(new Option("--format <format>", "output format").choices(["csv", "json"]).default("csv"))
    .option("--history", "every event too: JSON nests each entry's history; CSV lists one event a row")
    .option("--output <file>", "write to a file instead of stdout")
    .action(async (opts: { org: string; format: "csv" | "json"; history?: boolean; output?: string }) => {
      const [entries, events] = await withDeps(io, async (deps) =>
        Promise.all([
          deps.ledger.load(opts.org),
          opts.history ? deps.ledger.events(opts.org) : Promise.resolve([]),
        ]),
      );
      entries.sort((a, b) => a.owner.localeCompare(b.owner) || a.tokenName.localeCompare(b.tokenName));
      let text: string;
      if (opts.format === "csv") {
        text = opts.history ? eventsCsv(entries, events) : ledgerCsv(entries);
      } else {
        const byEntry = new Map<string, typeof events>();
        for (const event of events)
          byEntry.set(event.entryId, [...(byEntry.get(event.entryId) ?? []), event]);
        const rows = opts.history
          ? entries.map((e) => ({ ...e, history: byEntry.get(e.entryId) ?? [] }))
          : entries;
        text = `${JSON.stringify(rows, null, 2)}\n`;
      }
      if (opts.output) await writeFile(opts.output, text);
      else io.stdout(text);
    });

  /** Loads the org's ledger, applies one pure change, writes it; conflicts are errors, not overwrites. */
  const change = async (
    org: string,
    by: string,
    apply: (entries: LedgerEntry[], ctx: ChangeContext) => { entry: LedgerEntry; writes: EntryWrite[] },
  ) =>
    withDeps(io, async (deps) => {
      const entries = await deps.ledger.load(org);
      const ctx: ChangeContext = { org, now: new Date(), actor: by, runId: `cli-${randomUUID()}` };
      const { entry, writes } = apply(entries, ctx);
      const result = await deps.ledger.write(writes);
      if (result.conflicts.length > 0) throw new Error(result.conflicts.map((c) => c.message).join("; "));
      return { entry, history: await deps.ledger.history(org, entry.entryId) };
    });

  withFieldOptions(
    ledger
      .command("register")
      .description("add a token to the register of approved tokens")
      .requiredOption("--org <org>", "GitHub organization login", org)
      .requiredOption("--token-name <name>", "the token's name")
      .requiredOption("--owner <login>", "the token's owner")
      .option("--token-id <id>", "the token's id, if known (else it is matched by owner and name)")
      .requiredOption("--by <who>", "who registers it")
      .option("--reason <text>", "why", "registered by hand"),
  )
    .option("--json", "print the entry as JSON")
    .action(
      async (
        opts: FieldOptions & {
          org: string;
          tokenName: string;
          owner: string;
          tokenId?: string;
          by: string;
          reason: string;
          json?: boolean;
        },
      ) => {
        const fields = fieldsOf(opts);
        if (opts.tokenId !== undefined && !/^\d+$/.test(opts.tokenId)) {
          throw new UsageError(`--token-id: "${opts.tokenId}" is not a number`);
        }
        const tokenId = opts.tokenId === undefined ? null : Number(opts.tokenId);
        const owner = login("--owner", opts.owner);
        const { entry, history } = await change(opts.org, opts.by, (entries, ctx) =>
          registerEntry(entries, { tokenName: opts.tokenName, owner, tokenId }, fields, opts.reason, ctx),
        );
        io.stdout(opts.json ? `${JSON.stringify(entry, null, 2)}\n` : formatEntry(entry, history));
      },
    );

  withFieldOptions(
    withRefOptions(
      ledger
        .command("update")
        .description("change what the register says about one token")
        .requiredOption("--org <org>", "GitHub organization login", org)
        .requiredOption("--by <who>", "who changes it")
        .requiredOption("--reason <text>", "why"),
    ),
  )
    .option("--json", "print the entry as JSON")
    .action(async (opts: FieldOptions & ChangeOptions) => {
      const ref = refOf(opts);
      const fields = fieldsOf(opts);
      if (Object.keys(fields).length === 0)
        throw new UsageError("nothing to update: give at least one field (--purpose, --risks, …)");
      const { entry, history } = await change(opts.org, opts.by, (entries, ctx) =>
        updateEntry(entries, ref, fields, opts.reason, ctx),
      );
      io.stdout(opts.json ? `${JSON.stringify(entry, null, 2)}\n` : formatEntry(entry, history));
    });

  for (const [name, status, description] of [
    [
      "flag",
      "flagged",
      "mark a token compromised: the next sweep revokes it, and again whenever it comes back",
    ],
    ["retire", "retired", "say a token is no longer needed: the next sweep revokes it"],
  ] as const) {
    withRefOptions(
      ledger
        .command(name)
        .description(description)
        .requiredOption("--org <org>", "GitHub organization login", org)
        .requiredOption("--by <who>", "who says so")
        .requiredOption("--reason <text>", "why"),
    )
      .option("--json", "print the entry as JSON")
      .action(async (opts: ChangeOptions) => {
        const ref = refOf(opts);
        const { entry, history } = await change(opts.org, opts.by, (entries, ctx) =>
          setStatus(entries, ref, status, opts.reason, ctx),
        );
        io.stdout(opts.json ? `${JSON.stringify(entry, null, 2)}\n` : formatEntry(entry, history));
      });
  }

  withRefOptions(
    ledger
      .command("show")
      .description("one entry and its whole history")
      .requiredOption("--org <org>", "GitHub organization login", org),
  )
    .option("--json", "print the entry and its history as JSON")
    .action(
      async (opts: {
        org: string;
        json?: boolean;
        entry?: string;
        tokenId?: string;
        owner?: string;
        tokenName?: string;
      }) => {
        const ref = refOf(opts);
        const { entry, history } = await withDeps(io, async (deps) => {
          const found = findEntryOrThrow(await deps.ledger.load(opts.org), ref);
          return { entry: found, history: await deps.ledger.history(opts.org, found.entryId) };
        });
        io.stdout(
          opts.json ? `${JSON.stringify({ ...entry, history }, null, 2)}\n` : formatEntry(entry, history),
        );
      },
    );

  for (const decision of ["approve", "deny"] as const) {
    const command = ledger
      .command(decision)
      .description(
        decision === "approve"
          ? "approve a pending token request on GitHub, recording purpose, risks and approver (both required)"
          : "deny a pending token request on GitHub; --reason is shown to the requester",
      )
      .requiredOption("--org <org>", "GitHub organization login", org)
      .requiredOption("--request-id <id>", "the request's id (pat_request_id)")
      .requiredOption("--by <who>", "the reviewer");
    (decision === "approve"
      ? withFieldOptions(command).option("--reason <text>", "a note for the ledger")
      : command.requiredOption("--reason <text>", "why, shown to the requester (≤ 1,024 characters)")
    )
      .option("--json", "print the entry as JSON")
      .action(
        async (
          opts: FieldOptions & {
            org: string;
            requestId: string;
            by: string;
            reason?: string;
            json?: boolean;
          },
        ) => {
          if (!/^\d+$/.test(opts.requestId))
            throw new UsageError(`--request-id: "${opts.requestId}" is not a number`);
          const requestId = Number(opts.requestId);
          const reason = opts.reason ?? "";
          if (reason.length > 1024)
            throw new UsageError(`--reason: ${reason.length} characters; GitHub takes at most 1,024`);
          const fields = decision === "approve" ? fieldsOf(opts) : {};
          const { entry, history } = await withDeps(io, async (deps) => {
            const [entries, requests] = await Promise.all([
              deps.ledger.load(opts.org),
              deps.github.listRequests(opts.org),
            ]);
            const request = requests.find((r) => r.requestId === requestId);
            if (!request)
              throw new UsageError(
                `request ${requestId} is not pending in ${opts.org} (already reviewed, withdrawn, or never made)`,
              );
            const ctx: ChangeContext = {
              org: opts.org,
              now: new Date(),
              actor: opts.by,
              runId: `review-${randomUUID()}`,
            };
            // The reviewer's fields and intent first, then GitHub, then the decision: a crash leaves a state
            // the next sweep finishes (an approved grant turns the entry active).
            const review = planReview(
              entries,
              request,
              decision,
              fields,
              reason || `${decision} by ${opts.by}`,
              ctx,
            );
            const first = await deps.ledger.write(review.writes);
            if (first.conflicts.length > 0) throw new Error(first.conflicts.map((c) => c.message).join("; "));
            await deps.github.reviewRequest(
              opts.org,
              requestId,
              decision,
              decision === "deny" ? reason : undefined,
            );
            const afterFirst = [
              ...entries.filter((e) => !first.written.some((w) => w.entryId === e.entryId)),
              ...first.written,
            ];
            const done = await deps.ledger.write(
              completeReview(afterFirst, review.entry.entryId, decision, reason, ctx),
            );
            const entry = done.written.find((e) => e.entryId === review.entry.entryId) ?? review.entry;
            return { entry, history: await deps.ledger.history(opts.org, entry.entryId) };
          });
          io.stdout(opts.json ? `${JSON.stringify(entry, null, 2)}\n` : formatEntry(entry, history));
        },
      );
  }

  ledger
    .command("report")
    .description(
      "a summary for a review meeting: counts by status, expiring soon, unregistered, incomplete entries",
    )
    .requiredOption("--org <org>", "GitHub organization login", org)
    .option("--now <iso>", "as of this instant", instant)
    .option("--json", "print the summary as JSON")
    .action(async (opts: { org: string; now?: Date; json?: boolean }) => {
      const entries = await withDeps(io, (deps) => deps.ledger.load(opts.org));
      const summary = summarizeLedger(opts.org, entries, opts.now ?? new Date());
      io.stdout(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatLedgerSummary(summary));
    });

  return program;
}

/** Runs the CLI and returns its exit code; errors become messages, never stack traces or secrets. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = Math.max(code, c);
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; anything else commander refuses is bad input.
      return error.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (
      error instanceof UsageError ||
      error instanceof CsvError ||
      error instanceof ConfigError ||
      error instanceof InvalidRevokeError ||
      error instanceof LedgerOpError
    ) {
      io.stderr(`patrol: ${error.message}\n`);
      return EXIT.badInput;
    }
    io.stderr(`patrol: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    return EXIT.errors;
  }
}
