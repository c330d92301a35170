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
 * The V8 heap flags Lambda's Node.js runtime starts a function with (its bootstrap: a tenth of the memory
 * for the young generation, split into two semi-spaces, the rest for the old generation). The benchmark
 * runs the sweep with them, so its peak RSS is the one the function would see.
 */
export function lambdaHeapFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMb - newSpace}`];
}
