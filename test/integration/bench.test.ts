import { describe, expect, it } from "vitest";
import { checkTargets, formatMarkdown, formatText } from "../bench/format";
import { runBenchmark } from "../bench/harness";
import { makeScenario } from "../bench/scenario";

/**
 * The benchmark harness at a tiny size, so that it cannot rot: the same processes, simulators and
 * counting as `npm run bench`, with no latency and no timing asserted, only that the figures are sane.
 */
describe("the benchmark harness", () => {
  it("sweeps a tiny steady-state org at GitHub's floor, and reports it", async () => {
    const results = await runBenchmark({
      sizes: [200],
      latencyMs: 0,
      planSize: 200,
      planRuns: 1,
      importRuns: 1,
    });
    const [row] = results.sizes;
    if (!row) throw new Error("no row for the size");
    const scenario = makeScenario({ size: 200 });

    // The sweep did what the steady state calls for.
    expect(row.report).toMatchObject({
      scanned: 200,
      requests: scenario.expected.requests,
      revoked: scenario.expected.revocations,
      held: 0,
      errors: [],
      slackSent: true,
    });
    expect(row.report?.alerts).toBe(
      scenario.expected.newExpiring + scenario.expected.unregistered + scenario.expected.waitingRequests,
    );

    // GitHub: exactly the floor, nothing per token, one request at a time (the request list aside).
    expect(row.github).toMatchObject({
      list: 2,
      revoke: 1,
      requests: 1,
      classic: 1,
      auth: 2,
      other: 0,
      failed: 0,
    });
    expect(row.github.total).toBe(row.github.floor);
    expect(row.github.maxInFlight).toBeLessThanOrEqual(2);

    // DynamoDB: Query pages only; writes only for the entries that changed, their events batched.
    expect(row.dynamo.perTokenReads).toBe(0);
    expect(row.dynamo.queries).toBeGreaterThanOrEqual(row.dynamo.readFloor);
    expect(row.dynamo.entriesWritten).toBe(row.dynamo.changedEntries);
    expect(row.dynamo.changedEntries).toBe(
      scenario.expected.revocations +
        scenario.expected.unregistered +
        scenario.expected.newExpiring +
        scenario.expected.waitingRequests +
        1, // the request that arrived since last night
    );
    expect(row.dynamo.batches).toBeGreaterThanOrEqual(Math.ceil(row.dynamo.events / 25));
    expect(row.dynamo.writes).toBeGreaterThanOrEqual(row.dynamo.writeFloor);
    // The digest, and a DM to each owner whose token crossed a threshold (conversations.open + postMessage).
    expect(row.slack).toEqual({
      calls: 1 + 2 * scenario.expected.ownersTold,
      posts: 1 + scenario.expected.ownersTold,
    });

    // The measurements exist (their values are this machine's business).
    expect(row.wall.ms).toBeGreaterThan(0);
    expect(row.cpuMs).toBeGreaterThan(0);
    expect(row.peakRssMb).toBeGreaterThan(0);
    expect(results.plan?.coldMs).toBeGreaterThan(0);
    expect(results.bundles.map((b) => b.name)).toEqual([
      "sweep",
      "revoke",
      "slackInteractions",
      "slackWorker",
      "githubWebhook",
      "fanOut",
    ]);
    for (const b of results.bundles) {
      expect(b.bytes).toBeGreaterThan(0);
      expect(b.importMedianMs).toBeGreaterThan(0);
    }

    // …and the reports are built from them.
    expect(formatText(results)).toContain("list+confirm+revoke+requests+auth");
    expect(formatText(results)).toMatch(
      /where 200 grants' wall time went: start .*, listing .* of it latency/,
    );
    expect(formatMarkdown(results)).toMatch(/^\| grants \|/);
    expect(checkTargets(results).some((c) => c.target.includes("GitHub calls = floor") && c.met)).toBe(true);
  }, 180_000);
});
