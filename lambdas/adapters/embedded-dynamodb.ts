/**
 * An embedded DynamoDB (dynalite, in-process) for running patrol locally without a real table, plus the
 * idempotent ledger-table bootstrap shared by the CLI and the tests.
 *
 * dynalite is loaded lazily so importing this module (e.g. transitively from a Lambda bundle) does not pull
 * LevelDB in unless an embedded store is actually started.
 */
import { mkdir } from "node:fs/promises";
import { request, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DescribeTableCommandOutput,
  type DynamoDBClient,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";

export interface EmbeddedDynamo {
  /** `http://127.0.0.1:<port>`, for `new DynamoDBClient({ endpoint })`. */
  endpoint: string;
  /** Stops the server, drops open connections and closes LevelDB (releasing its lock on `path`). */
  close(): Promise<void>;
}

export interface EmbeddedDynamoOptions {
  /** On-disk LevelDB directory; omit for an in-memory store. */
  path?: string;
}

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

type DynaliteFactory = (options: DynaliteOptions) => Server;

interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
}
type LevelModule = { Level: new (path: string, options?: { valueEncoding?: string }) => LevelDb };

let modules: { dynalite: DynaliteFactory; level: LevelModule } | undefined;

function load(): { dynalite: DynaliteFactory; level: LevelModule } {
  if (!modules) {
    const require = createRequire(import.meta.url);
    // Resolve `level` the way dynalite does, so the lock check uses the very same LevelDB binding.
    const fromDynalite = createRequire(require.resolve("dynalite"));
    modules = {
      dynalite: require("dynalite") as DynaliteFactory,
      level: fromDynalite("level") as LevelModule,
    };
  }
  return modules;
}

/**
 * LevelDB opens lazily inside dynalite, and a failed open (e.g. the directory is locked by another patrol
 * process) surfaces there as an uncaught iterator error on the first request rather than a clean failure.
 * Open and close the directory ourselves first so such problems become a clear startup error.
 */
async function checkStoreOpens(level: LevelModule, path: string): Promise<void> {
  const db = new level.Level(path, { valueEncoding: "json" });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason =
      cause?.code === "LEVEL_LOCKED"
        ? "the directory is locked by another process (is another patrol running?)"
        : (cause?.message ?? (err as Error).message);
    throw new Error(`embedded DynamoDB cannot open ${path}: ${reason}`, { cause: err });
  }
  await db.close();
}

export async function startEmbeddedDynamo(opts: EmbeddedDynamoOptions = {}): Promise<EmbeddedDynamo> {
  const { dynalite, level } = load();
  if (opts.path !== undefined) {
    await mkdir(opts.path, { recursive: true });
    await checkStoreOpens(level, opts.path);
  }
  const server = dynalite({
    ...(opts.path !== undefined ? { path: opts.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    server.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      // dynalite's close() stops the HTTP server, then waits for pending LevelDB operations and closes the
      // database; its callback fires only once the store (and its LOCK file) has been released.
      server.close((err?: Error) => (err ? reject(err) : resolve()));
      // The AWS SDK keeps connections alive; without this, server.close would wait for them to time out.
      server.closeAllConnections();
    });
    return closing;
  };

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    // dynalite opens LevelDB asynchronously; one real request guarantees the store is open (and holds its
    // directory lock) by the time we return.
    await probe(port);
  } catch (err) {
    await close().catch(() => undefined);
    throw new Error(`embedded DynamoDB did not answer: ${(err as Error).message}`, { cause: err });
  }
  return { endpoint, close };
}

/**
 * One ListTables through node:http rather than fetch: fetch would load undici (~40 ms) for a single request,
 * and the CLI's start-up is an operator's wait.
 */
async function probe(port: number): Promise<void> {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        agent: false,
        timeout: 10_000,
        headers: {
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": "DynamoDB_20120810.ListTables",
          "x-amz-date": amzDate,
          // dynalite checks the shape of the SigV4 header but never verifies the signature.
          authorization: `AWS4-HMAC-SHA256 Credential=embedded/${amzDate.slice(0, 8)}/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0`,
        },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: body }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", reject);
    req.end("{}");
  });
  if (status !== 200) throw new Error(`HTTP ${status}: ${text.slice(0, 300)}`);
}

const LEDGER_KEY_SCHEMA = [
  { AttributeName: "pk", KeyType: "HASH" },
  { AttributeName: "sk", KeyType: "RANGE" },
] as const;

/**
 * Creates the ledger table (PAY_PER_REQUEST, `pk` HASH S + `sk` RANGE S) if it does not exist, and waits
 * until it is ACTIVE. Idempotent, and safe against a concurrent creator. Throws if a table of that name exists
 * with a different key schema.
 */
export async function ensureLedgerTable(
  client: DynamoDBClient,
  tableName: string,
  opts: { maxWaitMs?: number } = {},
): Promise<void> {
  const maxWaitMs = opts.maxWaitMs ?? 5 * 60_000;
  let table = await describe(client, tableName);
  if (!table) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [
            { AttributeName: "pk", AttributeType: "S" },
            { AttributeName: "sk", AttributeType: "S" },
          ],
          KeySchema: [...LEDGER_KEY_SCHEMA],
        }),
      );
    } catch (err) {
      // Someone else created it between our describe and create: fall through and wait for it.
      if ((err as { name?: string }).name !== "ResourceInUseException") throw err;
    }
    table = await describe(client, tableName);
  }

  if (table?.TableStatus === "DELETING") throw new Error(`ledger table ${tableName} is being deleted`);
  if (table?.TableStatus !== "ACTIVE") {
    const waited = await waitUntilTableExists(
      { client, maxWaitTime: maxWaitMs / 1000, minDelay: 0.05, maxDelay: 2 },
      { TableName: tableName },
    ).catch((error: unknown) => ({ state: "FAILURE", reason: error }));
    if (waited.state !== "SUCCESS") {
      throw new Error(`ledger table ${tableName} not ACTIVE after ${maxWaitMs} ms (${waited.state})`);
    }
    table = await describe(client, tableName);
  }
  if (!table) throw new Error(`ledger table ${tableName} vanished after it was created`);

  const keys = (table.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(",");
  const want = LEDGER_KEY_SCHEMA.map((k) => `${k.AttributeName}:${k.KeyType}`).join(",");
  if (keys !== want) {
    throw new Error(`table ${tableName} exists with key schema [${keys}], expected [${want}]`);
  }
}

async function describe(
  client: DynamoDBClient,
  tableName: string,
): Promise<DescribeTableCommandOutput["Table"] | undefined> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return out.Table;
  } catch (err) {
    if ((err as { name?: string }).name === "ResourceNotFoundException") return undefined;
    throw err;
  }
}
