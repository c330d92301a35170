/**
 * The Lambda bundles as the CDK app builds them (esbuild: ESM, node24, minified, every dependency
 * bundled, the `require` banner), their sizes, and how long a cold `import()` of each takes in a fresh
 * `node` process. The benchmark's own child programs are bundled the same way.
 */
import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Makes CommonJS dependencies work inside an ESM bundle (the same banner as infra/). */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** The same, under a name unminified code cannot clash with (a bundled module may import `createRequire`). */
const READABLE_REQUIRE_BANNER =
  "import { createRequire as createRequireForBanner } from 'module'; const require = createRequireForBanner(import.meta.url);";

export const LAMBDA_ENTRIES = {
  sweep: "lambdas/handlers/sweep.ts",
  revoke: "lambdas/handlers/revoke.ts",
  slackInteractions: "lambdas/handlers/slack-interactions.ts",
  slackWorker: "lambdas/handlers/slack-worker.ts",
  githubWebhook: "lambdas/handlers/github-webhook.ts",
  fanOut: "lambdas/handlers/fan-out.ts",
} as const;

export const CHILD_ENTRIES = {
  sweepChild: "test/bench/sweep-child.ts",
  planChild: "test/bench/plan-child.ts",
} as const;

/** Bundles one entry (a path relative to the project) into `outfile`; returns its size in bytes. */
export async function bundle(entry: string, outfile: string): Promise<number> {
  await build({
    entryPoints: [join(PROJECT_ROOT, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    mainFields: ["module", "main"],
    // BENCH_READABLE=1 keeps names for CPU profiles (`BENCH_NODE_ARGS="--cpu-prof …"`); sizes then differ.
    minify: !process.env.BENCH_READABLE,
    banner: { js: process.env.BENCH_READABLE ? READABLE_REQUIRE_BANNER : ESM_REQUIRE_BANNER },
    logLevel: "silent",
  });
  return (await stat(outfile)).size;
}

export interface BundleFigures {
  name: string;
  bytes: number;
  /** Cold `import()` times, one fresh process each. */
  importMs: number[];
  importMedianMs: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const IMPORT_PROBE = `
const t = performance.now();
await import(process.env.BENCH_IMPORT_URL);
process.stdout.write(String(performance.now() - t));
process.exit(0);
`;

/** Times `import()` of a module in a fresh `node` process (the module is loaded, not run). */
export function coldImportMs(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", IMPORT_PROBE], {
      env: {
        PATH: process.env.PATH ?? "",
        BENCH_IMPORT_URL: pathToFileURL(file).href,
        AWS_REGION: "us-east-1",
        POWERTOOLS_LOG_LEVEL: "SILENT",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = Number(out);
      if (code === 0 && Number.isFinite(ms)) resolve(ms);
      else reject(new Error(`importing ${file} failed (exit ${code}): ${err.trim().slice(0, 500)}`));
    });
  });
}

/** Builds every Lambda bundle into `dir` and times their cold import `runs` times each. */
export async function measureBundles(dir: string, runs: number): Promise<BundleFigures[]> {
  const figures: BundleFigures[] = [];
  for (const [name, entry] of Object.entries(LAMBDA_ENTRIES)) {
    const file = join(dir, `${name}.mjs`);
    const bytes = await bundle(entry, file);
    const importMs: number[] = [];
    for (let i = 0; i < runs; i++) importMs.push(await coldImportMs(file));
    figures.push({ name, bytes, importMs, importMedianMs: median(importMs) });
  }
  return figures;
}

/** Bundles the benchmark's child programs into `dir`; returns their paths. */
export async function bundleChildren(dir: string): Promise<Record<keyof typeof CHILD_ENTRIES, string>> {
  const sweepChild = join(dir, "sweep-child.mjs");
  const planChild = join(dir, "plan-child.mjs");
  await Promise.all([
    bundle(CHILD_ENTRIES.sweepChild, sweepChild),
    bundle(CHILD_ENTRIES.planChild, planChild),
  ]);
  return { sweepChild, planChild };
}
