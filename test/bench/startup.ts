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
import { startLoopback } from "../sim/harness";
import { PROJECT_ROOT } from "./bundles";

const run = promisify(execFile);
const RUNS = 7;

export interface StartupFigures {
  runs: number;
  /** Median wall time, ms. */
  versionMs: number;
  ledgerShowMs: number;
  /** From spawning `patrol sweep --dry-run` to its first request reaching the simulated GitHub. */
  firstGitHubCallMs: number;
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
    return {
      runs: RUNS,
      versionMs: Math.round(median(version)),
      ledgerShowMs: Math.round(median(show)),
      firstGitHubCallMs: Math.round(median(await firstGitHubCall(env))),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `patrol sweep --dry-run` against the simulated GitHub: how soon its first request arrives. */
async function firstGitHubCall(base: NodeJS.ProcessEnv): Promise<number[]> {
  const loopback = await startLoopback({ orgs: ["startup"] });
  try {
    loopback.github.org("startup").addGrant({ tokenId: 1, owner: "amy", tokenName: "ci" });
    const env = { ...base, ...loopback.env };
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const seen = loopback.github.requests.length;
      const started = Date.now();
      await run(
        process.execPath,
        [join(PROJECT_ROOT, "bin/patrol.mjs"), "sweep", "--org", "startup", "--dry-run"],
        {
          env,
          cwd: tmpdir(),
        },
      );
      const first = loopback.github.requests[seen];
      if (first) times.push(first.at - started);
    }
    return times;
  } finally {
    await loopback.close();
  }
}

/** The targets of issue 12: an operator in an incident runs many commands. */
const STARTUP_TARGETS_MS = { version: 300, ledgerShow: 300, firstGitHubCall: 400 };

export function formatStartup(s: StartupFigures): string {
  const against = (ms: number, target: number) =>
    `${ms} ms (target ≤ ${target}${ms <= target ? "" : ", MISSED"})`;
  return [
    `CLI start-up on node ${process.version} (median of ${s.runs} processes):`,
    `patrol --version ${against(s.versionMs, STARTUP_TARGETS_MS.version)},`,
    `patrol ledger show ${against(s.ledgerShowMs, STARTUP_TARGETS_MS.ledgerShow)} (spawn to exit);`,
    `patrol sweep's first GitHub request ${against(s.firstGitHubCallMs, STARTUP_TARGETS_MS.firstGitHubCall)} after spawn`,
  ].join(" ");
}
