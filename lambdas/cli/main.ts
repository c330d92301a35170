import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { invokeFunction, RemoteFunctionError } from "../adapters/lambda-invoke";
import { buildDeps, type Deps } from "../app/deps";
import { runRevoke } from "../app/run-revoke";
import { runSweep } from "../app/run-sweep";
import { ConfigError, parseEnv } from "../config";
import { CsvError, ledgerCsv, parseLedgerCsv } from "../core/ledger-csv";
import { planImport } from "../core/ledger-import";
import { exitCodeOf, type RevokeReport, revokeExitCode } from "../core/report";
import { InvalidRevokeError, parseRevokeRequest } from "../core/revoke";
import { OrgSchema } from "../handlers/sweep";
import { formatImport, formatRevokeReport, formatSweepReport } from "./format";

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
    .option("--output <file>", "write to a file instead of stdout")
    .action(async (opts: { org: string; format: "csv" | "json"; output?: string }) => {
      const entries = await withDeps(io, (deps) => deps.ledger.load(opts.org));
      entries.sort((a, b) => a.owner.localeCompare(b.owner) || a.tokenName.localeCompare(b.tokenName));
      const text = opts.format === "csv" ? ledgerCsv(entries) : `${JSON.stringify(entries, null, 2)}\n`;
      if (opts.output) await writeFile(opts.output, text);
      else io.stdout(text);
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
      error instanceof InvalidRevokeError
    ) {
      io.stderr(`patrol: ${error.message}\n`);
      return EXIT.badInput;
    }
    io.stderr(`patrol: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    return EXIT.errors;
  }
}
