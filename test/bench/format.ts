/** The benchmark's figures as a terminal table, as Markdown (for the README), and held against the targets. */
import { LAMBDA_MEMORY_MB, lambdaHeapFlags } from "../../infra/sizing";
import type { BenchResults, SizeResult } from "./harness";

const MB = 1024 * 1024;

/** The targets. */
export const TARGETS = {
  wallRatio: 1.2,
  peakRssMb: 300,
  planMs: 500,
  bundleBytes: 1_000_000,
  importMs: 300,
  /** The size the wall-time, RSS and plan targets apply to. */
  atSize: 100_000,
} as const;

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

const HEADERS = [
  "grants",
  "GitHub calls: list+confirm+revoke+requests+auth",
  "floor",
  "ratio",
  "per-token",
  "DynamoDB reads / floor",
  "writes / floor",
  "Slack",
  "wall",
  "÷ latency floor",
  "÷ floor + write spacing",
  "CPU",
  "peak RSS",
];

function row(s: SizeResult): string[] {
  const g = s.github;
  const d = s.dynamo;
  return [
    int(s.size),
    `${g.list}+${g.confirm}+${g.revoke}+${g.requests}+${g.auth} = ${int(g.total)}`,
    int(g.floor),
    fixed(g.ratio),
    String(g.other + d.perTokenReads),
    `${d.reads} / ${d.readFloor}`,
    `${int(d.writes)} / ${int(d.writeFloor)}`,
    String(s.slack.calls),
    seconds(s.wall.ms),
    `${fixed(s.wall.ratio)} (${seconds(s.wall.latencyFloorMs)})`,
    `${fixed(s.wall.spacedRatio)} (${seconds(s.wall.spacedFloorMs)})`,
    seconds(s.cpuMs),
    `${Math.round(s.peakRssMb)} MB`,
  ];
}

function textTable(rows: string[][]): string {
  const widths = rows.reduce<number[]>((w, r) => r.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  const line = (r: string[]) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ");
  const [head, ...body] = rows;
  return [line(head ?? []), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

function mdTable(rows: string[][]): string {
  const [head, ...body] = rows;
  const line = (r: string[]) => `| ${r.join(" | ")} |`;
  return [line(head ?? []), line((head ?? []).map(() => "---")), ...body.map(line)].join("\n");
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const s of results.sizes) {
    checks.push({
      target: `${int(s.size)}: GitHub calls = floor, none per token`,
      measured: `${s.github.total} calls, floor ${s.github.floor}, ${s.github.other} other`,
      met: s.github.total === s.github.floor && s.github.other === 0,
    });
    checks.push({
      target: `${int(s.size)}: DynamoDB reads are Query pages only`,
      measured: `${s.dynamo.queries} Query pages (1 MB-page floor ${s.dynamo.readFloor}), ${s.dynamo.perTokenReads} other reads`,
      met: s.dynamo.perTokenReads === 0 && s.dynamo.queries <= Math.ceil(s.ledgerEntries / 1000) + 1,
    });
    checks.push({
      target: `${int(s.size)}: DynamoDB writes only for changed entries and their events`,
      measured: `${s.dynamo.entriesWritten} entries written, ${s.dynamo.changedEntries} changed; ${s.dynamo.writes} writes, floor ${s.dynamo.writeFloor} (${fixed(s.dynamo.writeRatio)}×)`,
      met: s.dynamo.entriesWritten === s.dynamo.changedEntries,
    });
  }
  const big = results.sizes.find((s) => s.size === TARGETS.atSize);
  if (big) {
    checks.push({
      target: `${int(big.size)}: wall ≤ ${TARGETS.wallRatio} × GitHub latency floor`,
      measured: `${seconds(big.wall.ms)} = ${fixed(big.wall.ratio)} × ${seconds(big.wall.latencyFloorMs)} (${fixed(big.wall.spacedRatio)} × ${seconds(big.wall.spacedFloorMs)} with write spacing)`,
      met: big.wall.ratio <= TARGETS.wallRatio,
    });
    checks.push({
      target: `${int(big.size)}: wall ≤ ${TARGETS.wallRatio} × (latency floor + GitHub's 1 s between writes)`,
      measured: `${seconds(big.wall.ms)} = ${fixed(big.wall.spacedRatio)} × ${seconds(big.wall.spacedFloorMs)}`,
      met: big.wall.spacedRatio <= TARGETS.wallRatio,
    });
    checks.push({
      target: `${int(big.size)}: peak RSS ≤ ${TARGETS.peakRssMb} MB`,
      measured: `${Math.round(big.peakRssMb)} MB`,
      met: big.peakRssMb <= TARGETS.peakRssMb,
    });
  }
  if (results.plan && results.plan.size === TARGETS.atSize) {
    checks.push({
      target: `planSweep on ${int(results.plan.size)} grants ≤ ${TARGETS.planMs} ms`,
      measured: `${int(results.plan.coldMs)} ms first call (median of ${results.plan.coldRunsMs.length} processes), ${int(results.plan.warmMedianMs)} ms warm`,
      met: results.plan.coldMs <= TARGETS.planMs,
    });
  }
  for (const b of results.bundles) {
    checks.push({
      target: `${b.name} bundle ≤ 1 MB minified, cold import ≤ ${TARGETS.importMs} ms`,
      measured: `${int(b.bytes / 1000)} kB, ${int(b.importMedianMs)} ms`,
      met: b.bytes <= TARGETS.bundleBytes && b.importMedianMs <= TARGETS.importMs,
    });
  }
  return checks;
}

function extras(results: BenchResults): string[] {
  const lines: string[] = [];
  if (results.plan) {
    lines.push(
      `planSweep alone on ${int(results.plan.size)} grants: ${int(results.plan.coldMs)} ms first call (median of ${results.plan.coldRunsMs.length} fresh processes), ${int(results.plan.warmMedianMs)} ms warm`,
    );
  }
  for (const s of results.sizes) {
    const line = phasesLine(s);
    if (line) lines.push(line);
  }
  for (const b of results.bundles) {
    lines.push(
      `${b.name} Lambda bundle: ${int(b.bytes / 1000)} kB minified (${fixed(b.bytes / MB)} MiB), cold import ${int(b.importMedianMs)} ms (median of ${b.importMs.length})`,
    );
  }
  return lines;
}

/** Where one size's wall time went, from the simulators' arrival times. */
function phasesLine(s: SizeResult): string | undefined {
  const p = s.phases;
  if (p.listing === undefined) return undefined;
  const parts = [
    p.start !== undefined && `start ${seconds(p.start)}`,
    `listing ${seconds(p.listing)} (${seconds(s.github.list * s.latencyMs)} of it latency; ${fixed(p.perPageClientMsSecondHalf ?? Number.NaN, 1)} ms a page more once the ledger is in)`,
    p.plan !== undefined && `planning ${seconds(p.plan)}`,
    p.intents !== undefined && `intents ${seconds(p.intents)}`,
    p.revoking !== undefined && `revoking ${seconds(p.revoking)}`,
    p.alertsRemembered !== undefined && `after the digest ${seconds(p.alertsRemembered)}`,
  ].filter(Boolean);
  return `where ${int(s.size)} grants' wall time went: ${parts.join(", ")}`;
}

function note(results: BenchResults): string {
  const o = results.options;
  return (
    `GitHub answers each call after ${o.latencyMs} ms; calls are serial. Floor = ceil(N/100) list pages + ceil(R/100) bulk revocations + request pages + 2 auth calls (installation lookup, token). ` +
    `DynamoDB read floor: pages of one unlimited Query (1 MB each); write floor: one conditional put per changed entry, two more per revocation (its intent, written before the call, and its outcome, written before the digest), events 25 a BatchWriteItem. ` +
    `"floor + write spacing" adds the 1 s that @octokit/plugin-throttling keeps between writes, as GitHub asks. ` +
    `CPU and peak RSS are the sweep process's own (the bundled sweep Lambda, cold, with the heap flags Lambda's Node.js runtime passes at ${LAMBDA_MEMORY_MB} MB: ${lambdaHeapFlags(LAMBDA_MEMORY_MB).join(" ")}). Steady state: 1% of tokens revoked, 5% expiring, 0.05% unregistered, ledger with ${Math.round(o.history * 100)}% more entries of past revocations. ` +
    `node ${results.node}, ${results.cpus} CPUs, load average ${results.load.before.toFixed(1)} before and ${results.load.after.toFixed(1)} after.`
  );
}

export function formatText(results: BenchResults): string {
  const parts = [textTable([HEADERS, ...results.sizes.map(row)])];
  const more = extras(results);
  if (more.length > 0) parts.push(more.join("\n"));
  parts.push(
    checkTargets(results)
      .map((c) => `${c.met ? "met   " : "MISSED"}  ${c.target}: ${c.measured}`)
      .join("\n"),
  );
  return parts.join("\n\n");
}

export function formatMarkdown(results: BenchResults): string {
  const parts = [mdTable([HEADERS, ...results.sizes.map(row)])];
  const more = extras(results);
  if (more.length > 0) parts.push(more.map((l) => `- ${l}`).join("\n"));
  parts.push(`<sub>${note(results)}</sub>`);
  return `${parts.join("\n\n")}\n`;
}
