import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { DEFAULT_INVOCATION_MS, runBudget } from "../app/budget";
// The adapters (the AWS SDK, Octokit, dynalite) and the use cases are imported when a command needs them,
// so that `patrol --version` or `--help` start without loading them.
import type { Deps } from "../app/deps";
import { type Actor, changeEntry, importRecords, reviewRequest } from "../app/keep-register";
import type { LeakedReport } from "../app/revoke-leaked";
import { ConfigError, parseEnv } from "../config";
import { hashedToken, LeakedInputError, parseLeakedTokens } from "../core/leaked";
import type { ChangeContext } from "../core/ledger/changes";
import { type FieldName, OPTION_FIELDS, parseFieldText, quoteValue, REASON_MAX } from "../core/ledger/fields";
import { LifecycleError, type Writer } from "../core/ledger/lifecycle";
import { AmbiguousEntryError, EntryNotFoundError, type EntryRef } from "../core/ledger/match";
import { CsvError, eventsCsv, ledgerCsv, parseLedgerCsv } from "../core/ledger-csv";
import {
  type EntryFields,
  findEntry as findEntryOrThrow,
  IncompleteEntryError,
  LedgerOpError,
  registerEntry,
  setStatus,
  summarizeLedger,
  updateEntry,
} from "../core/ledger-ops";
import { canonicalOrg, OrgSchema } from "../core/login";
import { exitCodeOf, type RevokeReport, revokeExitCode } from "../core/report";
import { InvalidRevokeError, NothingMatchedError, parseRevokeRequest } from "../core/revoke";
import { plural } from "../core/text";
import type { EntryWrite, LedgerEntry } from "../core/types";
import {
  formatEntry,
  formatExplanation,
  formatImport,
  formatLeakedReport,
  formatLedgerSummary,
  formatRevokeReport,
  formatSweepReport,
} from "./format";

/** The version `--version` prints: package.json's, read where the CLI stands (sources or build alike). */
function patrolVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

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
  /** Standard input, whole (`--leaked-token-file -`). */
  readStdin?: () => Promise<string>;
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  interactive: process.stderr.isTTY,
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
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
  // Date.parse rolls 2026-02-30 over to March 2: the calendar date must be one that exists.
  const [y, m, d] = value.slice(0, 10).split("-").map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) {
    throw new UsageError(`--now: "${value}" is not a date that exists (${value.slice(0, 10)})`);
  }
  return new Date(ms);
}

/** `--budget`: seconds, or a number with `s`, `m` or `h`. */
function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/i.exec(value.trim());
  const unit = { s: 1_000, m: 60_000, h: 3_600_000 }[(m?.[2] ?? "s").toLowerCase() as "s" | "m" | "h"];
  const ms = m ? Number(m[1]) * unit : Number.NaN;
  if (!(ms >= 1_000 && ms <= 24 * 3_600_000)) {
    throw new UsageError(`--budget: "${value}" is not a duration between 1s and 24h (e.g. 900, 90s, 15m)`);
  }
  return ms;
}

/** A command's time when no --budget is given: a Lambda's longest invocation. */
const DEFAULT_BUDGET_MS = DEFAULT_INVOCATION_MS;

/**
 * Where the embedded ledger lives when neither `PATROL_TABLE` nor `PATROL_DATA_DIR` is set: `.patrol/` at
 * the root of the patrol checkout, whatever the current directory (`cd infra && npx patrol …` is the same
 * ledger). Set from the module's own place, so it holds for the source and for a build alike.
 */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL("../../.patrol", import.meta.url));

interface DepsNeeds {
  /** The command calls GitHub: its credentials are checked before anything else (exit 2 without them). */
  github?: boolean;
  budgetMs?: number;
}

async function withDeps<T>(io: CliIo, use: (deps: Deps) => Promise<T>, needs: DepsNeeds = {}): Promise<T> {
  const budget = runBudget(needs.budgetMs ?? DEFAULT_BUDGET_MS);
  try {
    const env = parseEnv({ PATROL_DATA_DIR: DEFAULT_DATA_DIR, ...io.env });
    const { buildDeps } = await import("../app/deps");
    const deps = await buildDeps(env, {
      allowEmbedded: true,
      budget,
      github: needs.github ? "required" : "lazy",
    });
    try {
      return await use(deps);
    } finally {
      await deps.close();
    }
  } finally {
    budget.end();
  }
}

/** Progress while a large org is listed, on stderr: redrawn in place on a terminal, else a line every 1,000. */
function progress(io: CliIo): (listed: number) => void {
  let printed = 0;
  return (listed) => {
    if (io.interactive) io.stderr(`\rlisting tokens… ${listed}`);
    else if (listed - printed >= PROGRESS_EVERY) {
      io.stderr(`listed ${listed} tokens…\n`);
      printed = listed;
    }
  };
}

const PROGRESS_EVERY = 1000;

/** What a sweep is about to do, on stderr before it acts: the mode in force, and whether it may change anything. */
function sweepBanner(org: string, mode: "enforce" | "report", dryRun: boolean, now?: Date): string {
  if (dryRun) {
    return `patrol: sweeping ${org}${now ? ` as of ${now.toISOString()} (a what-if: --now implies --dry-run)` : ""}, dry run: nothing will be changed\n`;
  }
  return mode === "enforce"
    ? `patrol: sweeping ${org} in enforce mode: due tokens will be revoked\n`
    : `patrol: sweeping ${org} in report mode (the default): alerts only, every revocation held; PATROL_MODE=enforce revokes\n`;
}

interface SweepCommandOptions {
  org: string;
  now?: Date;
  dryRun?: boolean;
  json?: boolean;
  budget?: number;
  allowRevocations?: number;
  by?: string;
}

/** A whole number of one or more. */
function count(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new UsageError(`--allow-revocations: "${value}" is not a number of tokens (1 or more)`);
  }
  return Number(value);
}

/**
 * `patrol revoke --leaked-token-file FILE`: the values are read from the file (or stdin), checked, sent to
 * GitHub's credential revocation API and known from then on only by their hashes. `--token-id` or
 * `--owner` with `--token-name` names the token's entry, which is flagged.
 */
async function revokeLeakedValues(
  io: CliIo,
  opts: RevokeOptions,
  setExit: (code: number) => void,
): Promise<void> {
  const source = opts.leakedTokenFile === "-" ? "stdin" : String(opts.leakedTokenFile);
  if (
    opts.patId ||
    opts.all ||
    (opts.owner && !opts.tokenName) ||
    (opts.tokenName && !opts.owner) ||
    (opts.tokenId?.length ?? 0) > 1
  ) {
    throw new UsageError(
      "--leaked-token-file revokes the values it holds; to name the token's entry add --token-id N, or --owner LOGIN --token-name NAME",
    );
  }
  let text: string;
  try {
    text =
      opts.leakedTokenFile === "-"
        ? await (io.readStdin?.() ?? Promise.resolve(""))
        : await readFile(source, "utf8");
  } catch (error) {
    throw new UsageError(
      `--leaked-token-file: cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
  const values = parseLeakedTokens(text, source);
  const entry = opts.tokenId?.[0]
    ? { tokenId: numbers("--token-id", opts.tokenId)[0] ?? 0 }
    : opts.owner && opts.tokenName
      ? { owner: opts.owner, tokenName: opts.tokenName }
      : undefined;
  if (opts.dryRun) {
    const hashes = values.map(hashedToken);
    io.stdout(
      opts.json
        ? `${JSON.stringify({ dryRun: true, org: opts.org, revoked: 0, hashedTokens: hashes }, null, 2)}\n`
        : `dry run: would revoke ${plural(values.length, "leaked token value")} at GitHub; nothing was changed\n${hashes.map((h) => `  hashed_token ${h}\n`).join("")}`,
    );
    return;
  }
  const report = opts.function
    ? await leakedThroughLambda(opts.function, {
        org: opts.org,
        leakedTokens: values,
        reason: opts.reason,
        requestedBy: opts.by,
        ...(entry ?? {}),
      })
    : await withDeps(
        io,
        async (deps) =>
          (await import("../app/revoke-leaked")).revokeLeaked(
            deps,
            { org: opts.org, values, reason: opts.reason, requestedBy: opts.by, ...(entry ? { entry } : {}) },
            new Date(),
            randomUUID(),
          ),
        { github: true },
      );
  io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatLeakedReport(report));
  setExit(report.errors.length > 0 ? EXIT.errors : EXIT.ok);
}

/** The revoke Lambda's leaked-token event: the values travel in the payload to it, and nowhere else. */
async function leakedThroughLambda(fn: string, event: Record<string, unknown>): Promise<LeakedReport> {
  const { invokeFunction } = await import("../adapters/lambda-invoke");
  try {
    return (await invokeFunction(fn, event)) as LeakedReport;
  } catch (error) {
    if ((error as { errorType?: string }).errorType === "LeakedInputError")
      throw new UsageError((error as Error).message);
    throw error;
  }
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
  budget?: number;
  leakedTokenFile?: string;
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
  if (opts.all && canonicalOrg(opts.confirm ?? "") !== canonicalOrg(opts.org)) {
    throw new UsageError(
      `--confirm: ${opts.confirm === undefined ? "missing" : `"${opts.confirm}" is not ${opts.org}`}; --all revokes every token in the org, so it needs the org's name again: --confirm ${opts.org}`,
    );
  }
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

/** The entry fields a person may set, as options: one per field the entry's declaration lets an operator set. */
function withFieldOptions(command: Command): Command {
  for (const { flag, help } of OPTION_FIELDS) command.option(`${flag} <value>`, help);
  return command;
}

type FieldOptions = Partial<Record<FieldName, string>>;

/** The field options given, each read by its field's own text form (and within its maximum length). */
function fieldsOf(opts: FieldOptions): EntryFields {
  const fields: Record<string, unknown> = {};
  for (const { field, flag } of OPTION_FIELDS) {
    const value = opts[field];
    if (value === undefined) continue;
    fields[field] = optionValue(flag, field, value);
  }
  return fields as EntryFields;
}

/** Who acts (`--by`), as the ledger records them: at most 255 characters. */
function whoText(value: string): string {
  const who = value.trim();
  if (who === "" || who.length > 255) {
    throw new UsageError(
      `--by: expected who acts, in 1 to 255 characters; got ${who.length.toLocaleString("en")}`,
    );
  }
  return who;
}

/** An option's value read by its field's text form; the error names the option, the value and what was expected. */
function optionValue(flag: string, field: FieldName, value: string): unknown {
  const parsed = parseFieldText(field, value);
  if (!parsed.ok) throw new UsageError(`${flag}: ${quoteValue(value)} ${parsed.error}`);
  return parsed.value;
}

/** A text field given on the command line that is not one of the field options (register's --token-name). */
function fieldText(flag: string, field: FieldName, value: string): string {
  const text = optionValue(flag, field, value);
  if (typeof text !== "string") throw new UsageError(`${flag}: ${quoteValue(value)} is not text`);
  return text;
}

/** A --reason, within what the ledger (and GitHub, for a denial) takes. */
function reasonText(value: string): string {
  if (value.trim() === "") {
    throw new UsageError("--reason: expected why, in 1 to 1,024 characters; got an empty reason");
  }
  if (value.length > REASON_MAX) {
    throw new UsageError(
      `--reason: ${value.length.toLocaleString("en")} characters; at most ${REASON_MAX.toLocaleString("en")}`,
    );
  }
  return value;
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

function actorOf(org: string, by: string, writer: Writer, run: string): Actor {
  return { org, by, writer, runId: `${run}-${randomUUID()}`, now: new Date() };
}

function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command("patrol")
    .description("Governs the fine-grained personal access tokens that reach a GitHub organization.")
    .version(patrolVersion(), "-V, --version")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError("(run patrol --help for usage)");

  program
    .command("sweep")
    .description("scan the org's tokens, reconcile them with the ledger, alert and revoke")
    .requiredOption("--org <org>", "GitHub organization login", org)
    .option("--now <iso>", "evaluate the policy as of this instant (a what-if: implies --dry-run)", instant)
    .option("--dry-run", "change nothing anywhere: no ledger write, no revocation, no Slack message")
    .option("--json", "print one JSON document on stdout and nothing else there")
    .option(
      "--budget <duration>",
      "stop, record what was done and fail after this long (default 15m)",
      duration,
    )
    .option(
      "--allow-revocations <n>",
      "release a night held by the cap: revoke up to N policy-driven tokens this run (needs --by)",
      count,
    )
    .option(
      "--by <who>",
      "with --allow-revocations: who releases them, recorded on every revocation",
      whoText,
    )
    .action(async (opts: SweepCommandOptions) => {
      if (opts.allowRevocations !== undefined && !opts.by) {
        throw new UsageError(
          "--allow-revocations needs --by WHO: releasing the cap is an operator's act, on record",
        );
      }
      // A what-if changes nothing: evaluated as of another instant, a revocation would be wrong today.
      const dryRun = (opts.dryRun ?? false) || opts.now !== undefined;
      const allowed = opts.allowRevocations;
      const report = await withDeps(
        io,
        async (deps) => {
          io.stderr(sweepBanner(opts.org, deps.policy.mode, dryRun, opts.now));
          const { runSweep } = await import("../app/run-sweep");
          const policy =
            allowed === undefined
              ? deps.policy
              : { ...deps.policy, maxRevocationsPerRun: Math.max(deps.policy.maxRevocationsPerRun, allowed) };
          return runSweep(
            { ...deps, policy },
            {
              org: opts.org,
              now: opts.now ?? new Date(),
              runId: randomUUID(),
              dryRun,
              actor:
                allowed === undefined
                  ? "patrol-sweep"
                  : `${opts.by} (patrol sweep --allow-revocations ${allowed})`,
              onProgress: progress(io),
            },
          );
        },
        { github: true, ...(opts.budget !== undefined ? { budgetMs: opts.budget } : {}) },
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
    .requiredOption("--reason <text>", "why: recorded in the ledger and told to Slack", reasonText)
    .requiredOption("--by <who>", "who asks: recorded in the ledger and told to Slack", whoText)
    .option("--dry-run", "show what would be revoked and change nothing")
    .option("--json", "print one JSON document on stdout and nothing else there")
    .option("--function <name>", "invoke the deployed revoke Lambda (name or ARN) instead of running locally")
    .option(
      "--budget <duration>",
      "stop, record what was done and fail after this long (default 15m)",
      duration,
    )
    .option(
      "--leaked-token-file <file>",
      "revoke leaked token values themselves, at GitHub (one a line; - reads stdin); never pass a value as a flag",
    )
    .action(async (opts: RevokeOptions) => {
      if (opts.leakedTokenFile !== undefined) {
        await revokeLeakedValues(io, opts, setExit);
        return;
      }
      const event = revokeEvent(opts);
      const request = parseRevokeRequest(event); // exit 2 on bad input, before anything is touched
      let report: RevokeReport;
      if (opts.function) {
        try {
          const { invokeFunction } = await import("../adapters/lambda-invoke");
          report = (await invokeFunction(opts.function, event)) as RevokeReport;
        } catch (error) {
          if (
            (error as Error).name === "RemoteFunctionError" &&
            ["InvalidRevokeError", "NothingMatchedError"].includes((error as { errorType: string }).errorType)
          ) {
            throw new UsageError((error as Error).message);
          }
          throw error;
        }
      } else {
        report = await withDeps(
          io,
          async (deps) =>
            (await import("../app/run-revoke")).runRevoke(deps, request, new Date(), randomUUID()),
          {
            github: true,
            ...(opts.budget !== undefined ? { budgetMs: opts.budget } : {}),
          },
        );
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
    .option("--by <who>", "who is importing, for the audit trail (default: $USER)", whoText)
    .option("--ignore-column <heading...>", "leave out a column of the file on purpose (repeatable)")
    .option("--dry-run", "show what would change and write nothing")
    .option("--json", "print the outcome as JSON")
    .action(
      async (
        file: string,
        opts: { org: string; by?: string; ignoreColumn?: string[]; dryRun?: boolean; json?: boolean },
      ) => {
        const by = opts.by ?? io.env.USER ?? "operator";
        let bytes: Uint8Array;
        try {
          bytes = await readFile(file);
        } catch (error) {
          throw new UsageError(
            `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
          );
        }
        // Throws CsvError before anything is opened or written.
        const records = parseLedgerCsv(bytes, { ignoreColumns: opts.ignoreColumn ?? [] });
        const outcome = await withDeps(io, (deps) =>
          importRecords(deps.ledger, actorOf(opts.org, by, "import", "import"), records, {
            source: basename(file),
            dryRun: opts.dryRun ?? false,
          }),
        );
        io.stdout(
          opts.json ? `${JSON.stringify(outcome, null, 2)}\n` : formatImport(outcome, opts.dryRun ?? false),
        );
      },
    );

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

  /** Loads the org's ledger, applies one pure change, writes it; a conflict is re-read and decided again. */
  const change = async (
    org: string,
    by: string,
    apply: (entries: LedgerEntry[], ctx: ChangeContext) => { entry: LedgerEntry; writes: EntryWrite[] },
  ) => withDeps(io, (deps) => changeEntry(deps.ledger, actorOf(org, by, "operator", "cli"), apply));

  withFieldOptions(
    ledger
      .command("register")
      .description("add a token to the register of approved tokens")
      .requiredOption("--org <org>", "GitHub organization login", org)
      .requiredOption("--token-name <name>", "the token's name")
      .requiredOption("--owner <login>", "the token's owner")
      .option("--token-id <id>", "the token's id, if known (else it is matched by owner and name)")
      .requiredOption("--by <who>", "who registers it", whoText)
      .option("--reason <text>", "why", reasonText, "registered by hand"),
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
        const owner = fieldText("--owner", "owner", opts.owner);
        const tokenName = fieldText("--token-name", "tokenName", opts.tokenName);
        const { entry, history } = await change(opts.org, opts.by, (entries, ctx) =>
          registerEntry(entries, { tokenName, owner, tokenId }, fields, opts.reason, ctx),
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
        .requiredOption("--by <who>", "who changes it", whoText)
        .requiredOption("--reason <text>", "why", reasonText),
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
        .requiredOption("--by <who>", "who says so", whoText)
        .requiredOption("--reason <text>", "why", reasonText),
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
          ? "approve a pending token request on GitHub, recording its purpose and risks (both required, from the request or --purpose/--risks) with --by as the approver"
          : "deny a pending token request on GitHub; --reason is shown to the requester",
      )
      .requiredOption("--org <org>", "GitHub organization login", org)
      .requiredOption("--request-id <id>", "the request's id (pat_request_id)")
      .requiredOption("--by <who>", "the reviewer", whoText);
    (decision === "approve"
      ? withFieldOptions(command).option("--reason <text>", "a note for the ledger", reasonText)
      : command.requiredOption(
          "--reason <text>",
          "why, shown to the requester (≤ 1,024 characters)",
          reasonText,
        )
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
          const fields = decision === "approve" ? fieldsOf(opts) : {};
          const { entry, history } = await withDeps(io, (deps) =>
            reviewRequest(deps, actorOf(opts.org, opts.by, "review", "review"), {
              requestId,
              decision,
              fields,
              reason,
            }),
          );
          io.stdout(opts.json ? `${JSON.stringify(entry, null, 2)}\n` : formatEntry(entry, history));
        },
      );
  }

  ledger
    .command("move-case")
    .description(
      "move a ledger kept under the org as typed (e.g. Acme, before logins were case-insensitive) into the org's ledger",
    )
    .requiredOption("--org <org>", "GitHub organization login, in the case it was typed before", org)
    .action(async (opts: { org: string }) => {
      const moved = await withDeps(io, (deps) => deps.ledger.moveLegacyCase(opts.org));
      io.stdout(
        `${moved.entries} entries and ${moved.events} events moved into the ledger of ${canonicalOrg(opts.org)}${moved.kept.length ? `; ${moved.kept.length} already there were kept as they are (${moved.kept.slice(0, 5).join(", ")}${moved.kept.length > 5 ? ", …" : ""})` : ""}\n`,
      );
    });

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

  const requests = program.command("requests").description("pending token requests and the approval rules");
  requests
    .command("explain")
    .description(
      "which approval rule would decide a pending request, and why each rule does or does not match",
    )
    .requiredOption("--org <org>", "GitHub organization login", org)
    .requiredOption("--request-id <id>", "the request's id (pat_request_id)")
    .option("--json", "print the request and the rules' findings as JSON")
    .action(async (opts: { org: string; requestId: string; json?: boolean }) => {
      if (!/^\d+$/.test(opts.requestId))
        throw new UsageError(`--request-id: "${opts.requestId}" is not a number`);
      const requestId = Number(opts.requestId);
      const explained = await withDeps(io, async (deps) =>
        (await import("../app/request-rules")).explainRequest(
          deps,
          deps.policy.requestRules,
          opts.org,
          requestId,
        ),
      );
      if (!explained) {
        throw new UsageError(
          `request ${requestId} is not pending in ${opts.org} (already reviewed, withdrawn, or never made)`,
        );
      }
      io.stdout(opts.json ? `${JSON.stringify(explained, null, 2)}\n` : formatExplanation(explained));
    });

  conventionalHelp(program, []);
  return program;
}

/**
 * Every command's help marks its required options, and every error points at that command's own help
 * (`patrol ledger import --help`), not the top level's.
 */
function conventionalHelp(command: Command, path: string[]): void {
  const names = [...path, command.name()];
  for (const option of command.options) {
    if (option.mandatory && !option.description.endsWith("(required)")) option.description += " (required)";
  }
  command.showHelpAfterError(`(run ${names.join(" ")} --help for usage)`);
  for (const sub of command.commands) conventionalHelp(sub, names);
}

/** Bad input that an adapter finds: a region missing for --function, a ledger kept under the org as typed. */
const ADAPTER_USAGE_ERRORS = new Set(["LambdaRegionError", "LegacyCaseError"]);

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
    if (error instanceof CsvError) {
      const unknown = error.problems.flatMap((p) =>
        p.unknownHeading ? [JSON.stringify(p.unknownHeading)] : [],
      );
      const hint =
        unknown.length > 0
          ? `\n(to leave a column out on purpose: --ignore-column ${unknown.join(" ")})`
          : "";
      io.stderr(`patrol: ${error.message}${hint}\n`);
      return EXIT.badInput;
    }
    if (error instanceof AmbiguousEntryError) {
      io.stderr(`patrol: ${error.message} (--entry ID)\n`);
      return EXIT.badInput;
    }
    if (error instanceof IncompleteEntryError) {
      const flags = error.missing.map((f) => (f === "approver" ? "--approved-by" : `--${f}`));
      io.stderr(`patrol: ${error.message}: pass ${flags.join(" and ")}\n`);
      return EXIT.badInput;
    }
    if (
      error instanceof UsageError ||
      error instanceof CsvError ||
      error instanceof ConfigError ||
      error instanceof InvalidRevokeError ||
      error instanceof NothingMatchedError ||
      error instanceof LeakedInputError ||
      // The adapters' own errors, by name: their modules are loaded only by the commands that use them.
      ADAPTER_USAGE_ERRORS.has((error as Error).name) ||
      error instanceof LedgerOpError ||
      error instanceof EntryNotFoundError ||
      error instanceof LifecycleError
    ) {
      io.stderr(`patrol: ${(error as Error).message}\n`);
      return EXIT.badInput;
    }
    io.stderr(`patrol: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    return EXIT.errors;
  }
}
