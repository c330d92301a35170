/**
 * The CLI's start-up, as an operator in an incident meets it: `patrol --version` and `patrol ledger show`
 * run as processes of their own, several times, timed from spawn to exit (the median is reported). The CLI
 * runs as `npm ci` built it (dist/cli); the build is made first if it is missing or stale.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "./bundles";

const run = promisify(execFile);
const RUNS = 7;

export interface StartupFigures {
  runs: number;
  /** Median wall time, ms. */
  versionMs: number;
  ledgerShowMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function timed(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  await run(process.execPath, [join(PROJECT_ROOT, "bin/patrol.mjs"), ...args], { env, cwd: tmpdir() });
  return performance.now() - started;
}

export async function measureStartup(): Promise<StartupFigures> {
  execFileSync(process.execPath, [join(PROJECT_ROOT, "scripts/build-cli.mjs")], { cwd: PROJECT_ROOT });
  const dir = await mkdtemp(join(tmpdir(), "patrol-startup-"));
  try {
    // Only what a ledger command needs: no GitHub, no Slack, an embedded ledger of one entry.
    const env = { PATH: process.env.PATH ?? "", HOME: dir, PATROL_DATA_DIR: join(dir, "data") };
    const csv = join(dir, "one.csv");
    await writeFile(csv, "token_name,owner,token_id\nci,amy,91001\n");
    await timed(["ledger", "import", csv, "--org", "acme", "--by", "bench"], env);
    const version: number[] = [];
    const show: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      version.push(await timed(["--version"], env));
      show.push(await timed(["ledger", "show", "--org", "acme", "--token-id", "91001"], env));
    }
    return { runs: RUNS, versionMs: Math.round(median(version)), ledgerShowMs: Math.round(median(show)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatStartup(s: StartupFigures): string {
  return `CLI start-up (median of ${s.runs} processes, spawn to exit): patrol --version ${s.versionMs} ms, patrol ledger show ${s.ledgerShowMs} ms`;
}
