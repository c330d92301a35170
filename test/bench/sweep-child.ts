/**
 * One sweep, measured from inside its own process. The benchmark bundles this file with the sweep Lambda's
 * handler exactly as the Lambda is bundled (esbuild, ESM, minified), runs it with `node` (and Lambda's heap flags), and reads
 * the result over IPC. The handler builds its dependencies from the environment on first use, as on a cold
 * start: the simulators are reached through `GITHUB_API_URL`, `SLACK_API_URL` and
 * `AWS_ENDPOINT_URL_DYNAMODB`.
 */
import { handler } from "../../lambdas/handlers/sweep";

export interface SweepChildResult {
  ok: boolean;
  error?: string;
  /** Epoch ms at the start and end of the handler call (for the phase timeline). */
  startedAt: number;
  endedAt: number;
  wallMs: number;
  /** CPU time of the handler call (user + system), and of the whole process. */
  cpuMs: number;
  processCpuMs: number;
  /** Peak resident set of the process, in MB. */
  peakRssMb: number;
  report?: {
    scanned: number;
    requests: number;
    revoked: number;
    held: number;
    alerts: number;
    errors: string[];
    slackSent: boolean;
    written: number;
    conflicts: number;
  };
}

async function main(): Promise<SweepChildResult> {
  const org = process.env.BENCH_ORG ?? "";
  const now = process.env.BENCH_NOW;
  const cpuStart = process.cpuUsage();
  const startedAt = Date.now();
  const t0 = performance.now();
  let result: Pick<SweepChildResult, "ok" | "error" | "report">;
  try {
    const report = await handler({ org, ...(now ? { now } : {}) });
    result = {
      ok: true,
      report: {
        scanned: report.scanned,
        requests: report.requests,
        revoked: report.revoked.length,
        held: report.held.length,
        alerts: report.alerts.length,
        errors: report.errors.map((e) => `${e.stage}: ${e.message}`),
        slackSent: report.slack.sent,
        written: report.ledger.written,
        conflicts: report.ledger.conflicts,
      },
    };
  } catch (error) {
    result = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const wallMs = performance.now() - t0;
  const endedAt = Date.now();
  const cpu = process.cpuUsage(cpuStart);
  const total = process.cpuUsage();
  return {
    ...result,
    startedAt,
    endedAt,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    processCpuMs: (total.user + total.system) / 1000,
    // maxRSS is in kilobytes.
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

void main()
  .catch(
    (error: unknown): SweepChildResult => ({
      ok: false,
      error: String(error),
      startedAt: 0,
      endedAt: 0,
      wallMs: 0,
      cpuMs: 0,
      processCpuMs: 0,
      peakRssMb: 0,
    }),
  )
  .then((result) => {
    // The SDKs keep connections alive: leave as soon as the result is handed over.
    if (process.send) process.send(result, () => process.exit(0));
    else {
      console.log(JSON.stringify(result));
      process.exit(0);
    }
  });
