/**
 * The benchmark's DynamoDB: dynalite (in memory) in a process of its own, so that its work neither slows
 * the simulated GitHub nor counts in the sweep's CPU time. It counts every request it answers, by
 * operation, with the time it arrived: the benchmark's DynamoDB figures are these wire counts (the
 * ledger adapter's own `counters` are not reachable inside the bundled Lambda, and the wire sees Query
 * pages and retried batches alike).
 *
 * Protocol (IPC): sends `{ type: "ready", endpoint }`; answers `{ type: "counters" }` with
 * `{ type: "counters", counts, items, log }` where `log` holds the requests since the last `mark`.
 */
import type { IncomingMessage, Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";

export interface DynamoCounters {
  /** Requests by operation (`Query`, `PutItem`, `BatchWriteItem`, …). */
  counts: Record<string, number>;
  /** Items written by BatchWriteItem requests. */
  batchItems: number;
  /** Requests since the last `mark`: operation and arrival time (epoch ms). */
  log: { op: string; at: number }[];
}

export type DynamoMessage =
  | { type: "ready"; endpoint: string }
  | ({ type: "counters" } & DynamoCounters)
  | { type: "error"; message: string };

type DynaliteFactory = (options: Record<string, unknown>) => Server;

async function main(): Promise<void> {
  const require = createRequire(import.meta.url);
  const dynalite = require("dynalite") as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const counters: DynamoCounters = { counts: {}, batchItems: 0, log: [] };
  let logging = false;

  server.on("request", (req: IncomingMessage) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const op = target.slice(target.indexOf(".") + 1) || "unknown";
    counters.counts[op] = (counters.counts[op] ?? 0) + 1;
    if (logging) counters.log.push({ op, at: Date.now() });
    if (op !== "BatchWriteItem") return;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          RequestItems?: Record<string, unknown[]>;
        };
        for (const items of Object.values(body.RequestItems ?? {})) counters.batchItems += items.length;
      } catch {
        // dynalite answers a malformed body itself; nothing to count
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  process.on("message", (message: { type?: string }) => {
    if (message.type === "mark") {
      counters.log = [];
      logging = true;
    } else if (message.type === "counters") {
      process.send?.({ type: "counters", ...counters } satisfies DynamoMessage);
    }
  });
  // The benchmark going away (or closing the channel) ends this process.
  process.on("disconnect", () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
  process.send?.({ type: "ready", endpoint: `http://127.0.0.1:${port}` } satisfies DynamoMessage);
}

main().catch((error: unknown) => {
  process.send?.({ type: "error", message: String(error) } satisfies DynamoMessage);
  process.exit(1);
});
