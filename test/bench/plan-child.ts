/**
 * `planSweep` alone, in a fresh process: bundled like the Lambda (so the code is what runs there), fed the
 * benchmark's steady-state org as the GitHub adapter would hand it over. The first call is the figure that
 * matters (a Lambda plans once per invocation, on code the JIT has not warmed); warm calls follow.
 */
import { DEFAULT_POLICY } from "../../lambdas/core/policy";
import { planSweep } from "../../lambdas/core/sweep";
import { makeScenario, toGrant, toRequest } from "./scenario";

export interface PlanChildResult {
  size: number;
  coldMs: number;
  warmMs: number[];
  revocations: number;
  writes: number;
  alerts: number;
}

function measure(): PlanChildResult {
  const size = Number(process.env.BENCH_PLAN_SIZE ?? 100_000);
  const runs = Number(process.env.BENCH_PLAN_RUNS ?? 5);
  const scenario = makeScenario({ size, history: Number(process.env.BENCH_HISTORY ?? 0.1) });
  const grants = scenario.grants.map(toGrant);
  const requests = scenario.requests.map(toRequest);
  const policy = { ...DEFAULT_POLICY, maxRevocationsPerRun: size };
  const plan = () =>
    planSweep({
      org: scenario.org,
      grants,
      requests,
      ledger: scenario.entries,
      policy,
      now: scenario.now,
      runId: "bench",
      actor: "patrol-sweep",
    });
  const t0 = performance.now();
  const first = plan();
  const coldMs = performance.now() - t0;
  const warmMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    plan();
    warmMs.push(performance.now() - t);
  }
  return {
    size,
    coldMs,
    warmMs,
    revocations: first.revocations.length,
    writes: first.writes.length,
    alerts: first.alerts.length,
  };
}

const result = measure();
if (process.send) process.send(result, () => process.exit(0));
else console.log(JSON.stringify(result));
