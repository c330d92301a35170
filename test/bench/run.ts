/**
 * `npm run bench [-- --sizes 1000,10000,100000 --latency 20 --history 0.1 --plan-size 100000 --import-runs 5]`
 *
 * Prints the table, writes bench-results/latest.json (for tracking) and bench-results/latest.md (for the
 * README's Performance section), and prints the Markdown too. Progress goes to stderr.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "./bundles";
import { formatMarkdown, formatText } from "./format";
import { type BenchOptions, DEFAULT_OPTIONS, runBenchmark } from "./harness";
import { formatSlackAck, measureSlackAck } from "./slack-ack";
import { formatStartup, measureStartup } from "./startup";

function number(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: expected a number ≥ ${min}, got ${value}`);
  return n;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: "string" },
      latency: { type: "string" },
      history: { type: "string" },
      "plan-size": { type: "string" },
      "plan-runs": { type: "string" },
      "import-runs": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "npm run bench -- [--sizes 1000,10000,100000] [--latency 20] [--history 0.1] [--plan-size 100000] [--plan-runs 5] [--import-runs 5]",
    );
    process.exit(0);
  }
  const sizes = values.sizes
    ? values.sizes.split(",").map((s) => number("sizes", s.trim().replace(/_/g, ""), 0, 3))
    : DEFAULT_OPTIONS.sizes;
  return {
    sizes: sizes.map(Math.floor),
    latencyMs: number("latency", values.latency, DEFAULT_OPTIONS.latencyMs),
    history: number("history", values.history, DEFAULT_OPTIONS.history),
    planSize: Math.floor(number("plan-size", values["plan-size"], DEFAULT_OPTIONS.planSize)),
    planRuns: Math.floor(number("plan-runs", values["plan-runs"], DEFAULT_OPTIONS.planRuns, 1)),
    importRuns: Math.floor(number("import-runs", values["import-runs"], DEFAULT_OPTIONS.importRuns)),
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const results = await runBenchmark(options);
  const startup = await measureStartup();
  const ack = await measureSlackAck();
  const markdown = `${formatMarkdown(results)}\n- ${formatStartup(startup)}\n- ${formatSlackAck(ack)}\n`;
  const dir = join(PROJECT_ROOT, "bench-results");
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "latest.json"),
    `${JSON.stringify({ ...results, startup, slackAck: ack }, null, 2)}\n`,
  );
  await writeFile(join(dir, "latest.md"), markdown);
  console.log(formatText(results));
  console.log(formatStartup(startup));
  console.log(formatSlackAck(ack));
  console.log(`\n${markdown}`);
  console.log(
    `(bench-results/latest.json and latest.md written; the whole run took ${(results.totalMs / 1000).toFixed(0)} s)`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
