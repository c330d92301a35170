import { RECORD_RESERVE_MS, RETURN_MARGIN_MS } from "../lambdas/app/budget";

/**
 * The Lambdas' memory, from the benchmark (`npm run bench`: the bundled sweep, cold, run with the heap flags
 * Lambda's Node.js runtime passes at this size, see `lambdaHeapFlags`). 100,000 grants in steady state:
 * 283–288 MB peak RSS and 22–25 s of CPU; 10,000 grants: under 200 MB. A first night is heavier (1,000 unregistered
 * tokens written and 4,000 alerts for 10,000 grants: 255 MB RSS, 19 s of CPU). More memory buys CPU
 * (a full vCPU at 1,769 MB), which a large org's sweep spends while it waits on GitHub anyway: 1,000 pages
 * at GitHub's real latency take longer than its CPU work at 512 MB's share of a core.
 */
export const LAMBDA_MEMORY_MB = 512;

/**
 * The sweep's timeout, and so its budget. The benchmark's largest org (100,000 grants, 1,000 pages at
 * 300 ms a page, GitHub's real latency) sweeps in 321 s of wall time, and a steady night writes a few
 * hundred entries in seconds; 15 minutes (Lambda's longest) leaves that more than twice over for retries
 * and rate-limit waits. The run's work stops `RECORD_RESERVE_MS` (60 s) before the end and the handler
 * returns `RETURN_MARGIN_MS` (5 s) before Lambda would stop it: recording the outcomes of a full night
 * (1,000 revocations and 4,000 alerts, about 60 entry writes in flight at a time) takes a few seconds of
 * the minute kept for it. An org that cannot be swept inside the budget stops, records what it did and
 * fails: the next night continues from the ledger.
 */
export const SWEEP_TIMEOUT_MINUTES = 15;

/**
 * The on-demand revocation: the same work as a sweep at most (list the org, revoke 100 grants a call, write
 * the ledger); 10 minutes covers revoking everything in a large org, with the same reserve and margin.
 */
export const REVOKE_TIMEOUT_MINUTES = 10;

/**
 * The fan-out (`orgs: "*"`): one paginated listing of the App's installations (10 pages for 1,000 orgs),
 * one conditional write, and one asynchronous Invoke per org, 8 at a time, each answered in milliseconds:
 * seconds for a thousand orgs. Two minutes leave room for GitHub's retries and a slow Invoke API, inside
 * the same return margin and a third kept back, as every run has.
 */
export const FAN_OUT_TIMEOUT_MINUTES = 2;

/** The run's budget inside each timeout (what the handler's `invocationBudget` computes). */
export const BUDGET = {
  returnMarginMs: RETURN_MARGIN_MS,
  recordReserveMs: RECORD_RESERVE_MS,
  sweepWorkMs: SWEEP_TIMEOUT_MINUTES * 60_000 - RETURN_MARGIN_MS - RECORD_RESERVE_MS,
} as const;

/**
 * The V8 heap flags Lambda's Node.js runtime starts a function with (its bootstrap: a tenth of the memory
 * for the young generation, split into two semi-spaces, the rest for the old generation). The benchmark
 * runs the sweep with them, so its peak RSS is the one the function would see.
 */
export function lambdaHeapFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMb - newSpace}`];
}
