import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import pMap from "p-map";
import { type Budget, unbounded } from "../app/budget";
import type {
  CarriedAlert,
  InstallationsRecord,
  Ledger,
  PendingDigest,
  RecordedInstallations,
  WriteResult,
} from "../app/ports";
import { batches } from "../core/batches";
import type { LeakRecord } from "../core/leaked";
import { parseStoredEntry, parseStoredEvent } from "../core/ledger/fields";
import { canonicalOrg } from "../core/login";
import type { EntryWrite, LedgerEntry, LedgerEvent } from "../core/types";
import { StringPool } from "./string-pool";

/**
 * The ledger in DynamoDB. One partition per org (`pk = ORG#<org>`), entries under `sk = ENTRY#<id>`,
 * their append-only events under `sk = EVENT#<id>#<time>#<run>#<n>`. Reading an org is one paginated
 * Query; a write touches only the entries that changed, each guarded by its version.
 */
const BATCH_LIMIT = 25;
/**
 * Requests in flight at once, for entry puts and for event batches. DynamoDB takes them in parallel (a
 * sweep that revokes 1,000 tokens and alerts on 800 more writes 1,800 entries and 100 batches of events
 * after its Slack digest); the SDK keeps up to 50 connections.
 */
const WRITE_CONCURRENCY = 16;

/** Entry fields whose values repeat across a ledger (not names, purposes or ids), kept once in memory. */
const SHARED_FIELDS: readonly (keyof LedgerEntry)[] = [
  "org",
  "owner",
  "status",
  "approvedBy",
  "risks",
  "slack",
  "notes",
  "createdAt",
  "expiresAt",
  "neededUntil",
  "firstSeenAt",
  "revokedAt",
  "revokedBy",
  "revokedReason",
  "updatedAt",
  "updatedBy",
];

const pk = (org: string) => `ORG#${canonicalOrg(org)}`;
/** Where the CLI kept an org's ledger before logins were canonical: under the org as typed. */
const legacyPk = (org: string) => `ORG#${org}`;
/** Marks an old partition whose items were copied into the canonical one. */
const MOVED_SK = "MOVED";

export class LedgerTableError extends Error {
  override name = "LedgerTableError";
  constructor(tableName: string) {
    super(
      `the ledger table "${tableName}" does not exist (PATROL_TABLE, or the stack's LedgerTableName output): deploy the stack, or point PATROL_TABLE at the ledger's table`,
    );
  }
}

export class LedgerCallError extends Error {
  override name = "LedgerCallError";
}

/** `PutCommand` → `PutItem`: the operation's name as DynamoDB calls it. */
function operationOf(command: object): string {
  const name = command.constructor.name.replace(/Command$/, "");
  return { Put: "PutItem", Get: "GetItem", BatchWrite: "BatchWriteItem" }[name] ?? name;
}

export class LegacyCaseError extends Error {
  override name = "LegacyCaseError";
  constructor(org: string) {
    super(
      `the ledger holds entries for ${org} under the org as typed ("${org}"), kept before patrol treated logins case-insensitively; they are not in the ledger of ${canonicalOrg(org)} until moved: run patrol ledger move-case --org ${org}`,
    );
  }
}
const entrySk = (entryId: string) => `ENTRY#${entryId}`;
/** The org's sweep lease, and its one pending digest (whose alerts are kept beside it, in parts). */
const LEASE_SK = "LEASE";
const DIGEST_SK = "DIGEST#PENDING";
const digestPartSk = (runId: string, part: number) => `DIGEST#${runId}#${String(part).padStart(4, "0")}`;
/** Alerts per part: an item holds at most 400 KB. */
const DIGEST_PART = 500;

/**
 * The fan-out's record of where the GitHub App was installed at its last run: one item in a partition of
 * its own (no org's), so that the fan-out's role can be held to it (`dynamodb:LeadingKeys`).
 */
export const INSTALLATIONS_PK = "INSTALLATIONS";
const INSTALLATIONS_SK = "LATEST";

export interface DynamoLedgerOptions {
  /**
   * The run's budget: each call (its retries included) ends when the budget does, and none starts after
   * it, so a run that failed writes nothing once it has returned. One try of one call is bounded by the
   * client's own `requestTimeout`.
   */
  budget?: Budget;
}

export function makeDynamoLedger(
  client: DynamoDBClient,
  tableName: string,
  options: DynamoLedgerOptions = {},
): Ledger & InstallationsRecord {
  const budget = options.budget ?? unbounded();
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  // The SDK's logger middleware copies every response through its sensitive-data filter to hand it to a
  // logger that, unconfigured, throws it away: a second of CPU for a 100,000-entry ledger. Patrol logs
  // through Powertools and never gives the SDK a logger.
  doc.middlewareStack.remove("loggerMiddleware");
  // DynamoDB says only "Requested resource not found": every call names the table and where it comes from.
  // (A middleware would do it for the client this one shares its stack with, too.)
  const named = (error: unknown): never => {
    if ((error as { name?: string }).name === "ResourceNotFoundException")
      throw new LedgerTableError(tableName);
    throw error;
  };
  const send: typeof doc.send = ((command: Parameters<typeof doc.send>[0]) =>
    budget.race(doc.send(command, { abortSignal: budget.signal })).catch((error: unknown) => {
      // Cut off by the run's budget, or every try timed out: say which call, on which table.
      const name = (error as { name?: string }).name;
      if (name === "AbortError" || name === "TimeoutError") {
        const what = name === "AbortError" ? "cut off" : "timed out";
        throw new LedgerCallError(
          `DynamoDB ${operationOf(command)} on "${tableName}" ${what}: ${(error as Error).message}`,
        );
      }
      return named(error);
    })) as typeof doc.send;

  async function query(
    org: string,
    prefix: string,
    onPage?: (items: Record<string, unknown>[]) => void,
    partition: string = pk(org),
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": partition, ":prefix": prefix },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      if (onPage) onPage(page.Items ?? []);
      else items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * Events are keyed by entry, version, run and position: in order per entry, and unique, so one writer's
   * events never overwrite another's (two runs racing for the same version each keep theirs).
   */
  async function putEvents(events: { event: LedgerEvent; seq: number }[]): Promise<void> {
    await pMap(batches(events, BATCH_LIMIT), putEventBatch, { concurrency: WRITE_CONCURRENCY });
  }

  async function putEventBatch(batch: { event: LedgerEvent; seq: number }[]): Promise<void> {
    let requests = batch.map(({ event, seq }) => ({
      PutRequest: {
        Item: {
          pk: pk(event.org),
          sk: `EVENT#${event.entryId}#${String(event.version).padStart(10, "0")}#${event.runId ?? "-"}#${String(seq).padStart(4, "0")}`,
          ...event,
        },
      },
    }));
    // DynamoDB may hand back part of a batch under load: send the rest again, backing off.
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`DynamoDB left ${requests.length} ledger events unprocessed`);
      if (attempt > 0) await budget.sleep(50 * 2 ** attempt);
      const result = await send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      requests = (result.UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  }

  async function putEntry(write: EntryWrite): Promise<void> {
    const { entry, expectedVersion } = write;
    await send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: pk(entry.org), sk: entrySk(entry.entryId), ...entry, org: canonicalOrg(entry.org) },
        ...(expectedVersion === null
          ? { ConditionExpression: "attribute_not_exists(pk)" }
          : { ConditionExpression: "version = :v", ExpressionAttributeValues: { ":v": expectedVersion } }),
      }),
    );
  }

  /**
   * Before logins were canonical, the CLI kept an org's ledger under the org as typed (`ORG#Acme`). Such a
   * partition, not yet moved, would be a second ledger of the org that the sweep cannot see: refuse.
   */
  async function refuseUnmovedLegacyCase(org: string): Promise<void> {
    const legacy = legacyPk(org);
    if (legacy === pk(org)) return;
    const [moved, page] = await Promise.all([
      send(new GetCommand({ TableName: tableName, Key: { pk: legacy, sk: MOVED_SK }, ConsistentRead: true })),
      send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": legacy },
          Limit: 1,
        }),
      ),
    ]);
    if (!moved.Item && (page.Items?.length ?? 0) > 0) throw new LegacyCaseError(org);
  }

  return {
    async readInstallations() {
      const { Item } = await send(
        new GetCommand({
          TableName: tableName,
          Key: { pk: INSTALLATIONS_PK, sk: INSTALLATIONS_SK },
          ConsistentRead: true,
        }),
      );
      if (!Item) return null;
      return {
        orgs: (Item.orgs as string[] | undefined) ?? [],
        at: String(Item.at),
        version: Number(Item.version),
      } satisfies RecordedInstallations;
    },

    async writeInstallations(record, expectedVersion) {
      try {
        await send(
          new PutCommand({
            TableName: tableName,
            Item: {
              pk: INSTALLATIONS_PK,
              sk: INSTALLATIONS_SK,
              orgs: [...record.orgs],
              lost: [...record.lost],
              at: record.at,
              version: (expectedVersion ?? 0) + 1,
            },
            ...(expectedVersion === null
              ? { ConditionExpression: "attribute_not_exists(pk)" }
              : {
                  ConditionExpression: "version = :v",
                  ExpressionAttributeValues: { ":v": expectedVersion },
                }),
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },

    async acquireLease(org, holder, until, now) {
      try {
        await send(
          new PutCommand({
            TableName: tableName,
            Item: { pk: pk(org), sk: LEASE_SK, holder, until: until.getTime(), at: now.toISOString() },
            ConditionExpression: "attribute_not_exists(pk) OR #until < :now OR holder = :holder",
            ExpressionAttributeNames: { "#until": "until" },
            ExpressionAttributeValues: { ":now": now.getTime(), ":holder": holder },
          }),
        );
        return null;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const { Item } = await send(
          new GetCommand({ TableName: tableName, Key: { pk: pk(org), sk: LEASE_SK }, ConsistentRead: true }),
        );
        return { holder: String(Item?.holder), until: new Date(Number(Item?.until)).toISOString() };
      }
    },

    async releaseLease(org, holder) {
      try {
        await send(
          new PutCommand({
            TableName: tableName,
            Item: { pk: pk(org), sk: LEASE_SK, holder, until: 0, at: new Date().toISOString() },
            ConditionExpression: "holder = :holder",
            ExpressionAttributeValues: { ":holder": holder },
          }),
        );
      } catch (error) {
        // Taken over after it expired: it is the other run's now.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },

    async recordDigest(org, digest) {
      const parts = batches(digest.alerts, DIGEST_PART);
      await pMap(
        parts,
        (alerts, part) =>
          send(
            new PutCommand({
              TableName: tableName,
              Item: { pk: pk(org), sk: digestPartSk(digest.runId, part), alerts },
            }),
          ),
        { concurrency: WRITE_CONCURRENCY },
      );
      // The pointer last: a digest is pending only once every part of it is there.
      await send(
        new PutCommand({
          TableName: tableName,
          Item: {
            pk: pk(org),
            sk: DIGEST_SK,
            runId: digest.runId,
            at: digest.at,
            parts: parts.length,
            state: "posting",
          },
        }),
      );
    },

    async pendingDigest(org) {
      const { Item } = await send(
        new GetCommand({ TableName: tableName, Key: { pk: pk(org), sk: DIGEST_SK }, ConsistentRead: true }),
      );
      if (Item?.state !== "posting") return null;
      const runId = String(Item.runId);
      const parts = await pMap(
        Array.from({ length: Number(Item.parts) }, (_, part) => part),
        async (part) =>
          (
            await send(
              new GetCommand({
                TableName: tableName,
                Key: { pk: pk(org), sk: digestPartSk(runId, part) },
                ConsistentRead: true,
              }),
            )
          ).Item?.alerts as CarriedAlert[] | undefined,
        { concurrency: WRITE_CONCURRENCY },
      );
      return { runId, at: String(Item.at), alerts: parts.flatMap((p) => p ?? []) } satisfies PendingDigest;
    },

    async settleDigest(org, runId, outcome) {
      try {
        await send(
          new PutCommand({
            TableName: tableName,
            Item: { pk: pk(org), sk: DIGEST_SK, runId, state: outcome, at: new Date().toISOString() },
            ConditionExpression: "runId = :runId",
            ExpressionAttributeValues: { ":runId": runId },
          }),
        );
      } catch (error) {
        // A later digest is pending now: this one's fate no longer matters to anyone.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },

    async recordLeaks(org, records) {
      await pMap(
        records,
        (record) =>
          send(
            new PutCommand({
              TableName: tableName,
              // Append-only: keyed by time, hash and run, and never written over.
              Item: { pk: pk(org), sk: `LEAK#${record.at}#${record.hashedToken}#${record.runId}`, ...record },
              ConditionExpression: "attribute_not_exists(pk)",
            }),
          ),
        { concurrency: WRITE_CONCURRENCY },
      );
    },

    async leaks(org) {
      const items = await query(org, "LEAK#");
      return items.map(({ pk: _pk, sk: _sk, ...record }) => record as unknown as LeakRecord);
    },

    async moveLegacyCase(org) {
      const legacy = legacyPk(org);
      if (legacy === pk(org)) return { entries: 0, events: 0, kept: [] };
      const items = [
        ...(await query(org, "ENTRY#", undefined, legacy)),
        ...(await query(org, "EVENT#", undefined, legacy)),
      ];
      const kept: string[] = [];
      let entries = 0;
      let events = 0;
      await pMap(
        items.filter((item) => item.sk !== MOVED_SK),
        async (item) => {
          try {
            await send(
              new PutCommand({
                TableName: tableName,
                Item: {
                  ...item,
                  pk: pk(org),
                  ...(typeof item.org === "string" ? { org: canonicalOrg(org) } : {}),
                },
                ConditionExpression: "attribute_not_exists(pk)",
              }),
            );
            if (String(item.sk).startsWith("ENTRY#")) entries++;
            else events++;
          } catch (error) {
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
            // The canonical ledger already has it: the one there stands.
            kept.push(String(item.sk));
          }
        },
        { concurrency: WRITE_CONCURRENCY },
      );
      // The old partition stays (nothing is ever deleted), marked as moved.
      await send(
        new PutCommand({
          TableName: tableName,
          Item: { pk: legacy, sk: MOVED_SK, to: pk(org), at: new Date().toISOString(), entries, events },
        }),
      );
      return { entries, events, kept };
    },

    async load(org) {
      await refuseUnmovedLegacyCase(org);
      // Page by page, so that the raw items of one page at a time are garbage, never the whole ledger twice.
      const entries: LedgerEntry[] = [];
      const pool = new StringPool();
      await query(org, "ENTRY#", (items) => {
        for (const { pk: _pk, sk: _sk, ...item } of items) {
          const entry = pool.internFields(parseStoredEntry(item), SHARED_FIELDS);
          entry.permissions = pool.share(entry.permissions);
          entry.scope = pool.share(entry.scope);
          entries.push(entry);
        }
      });
      return entries;
    },

    async read(org, entryIds) {
      const items = await pMap(
        entryIds,
        async (entryId) =>
          (
            await send(
              new GetCommand({
                TableName: tableName,
                Key: { pk: pk(org), sk: entrySk(entryId) },
                ConsistentRead: true,
              }),
            )
          ).Item,
        { concurrency: WRITE_CONCURRENCY },
      );
      return items.flatMap((item) => {
        if (!item) return [];
        const { pk: _pk, sk: _sk, ...entry } = item;
        return [parseStoredEntry(entry)];
      });
    },

    async events(org) {
      const items = await query(org, "EVENT#");
      return items.map(({ pk: _pk, sk: _sk, ...event }) => parseStoredEvent(event));
    },

    async history(org, entryId) {
      const items = await query(org, `EVENT#${entryId}#`);
      return items.map(({ pk: _pk, sk: _sk, ...event }) => parseStoredEvent(event));
    },

    /**
     * Events first, then the entry, conditional on the version it was read at. A crash in between leaves
     * an event whose change the next run makes again; a conflict leaves the entry as the other writer
     * left it, and is reported (with an event saying so), never overwritten.
     */
    async write(writes) {
      const result: WriteResult = { written: [], conflicts: [] };
      if (writes.length === 0) return result;
      await putEvents(writes.flatMap((w) => w.events.map((event, seq) => ({ event, seq }))));
      const conflicted: { event: LedgerEvent; seq: number }[] = [];
      const putOne = async (write: EntryWrite) => {
        try {
          await putEntry(write);
          result.written.push(write.entry);
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
          const message = `entry ${write.entry.entryId} changed since it was read (expected version ${write.expectedVersion}); not overwritten`;
          result.conflicts.push({ entryId: write.entry.entryId, message });
          const [first] = write.events;
          if (first) {
            conflicted.push({
              event: {
                ...first,
                action: "conflict",
                reason: `${message}; the ${write.events.length} event(s) just before this one were not applied`,
                changes: {},
              },
              seq: write.events.length,
            });
          }
        }
      };
      await pMap(writes, putOne, { concurrency: WRITE_CONCURRENCY });
      if (conflicted.length > 0) await putEvents(conflicted);
      return result;
    },
  };
}
