import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDynamoLedger } from "../../lambdas/adapters/ledger";
import { buildDeps, type Deps } from "../../lambdas/app/deps";
import { type Actor, changeEntry, importRecords } from "../../lambdas/app/keep-register";
import type { Ledger } from "../../lambdas/app/ports";
import { runRevoke } from "../../lambdas/app/run-revoke";
import { runSweep } from "../../lambdas/app/run-sweep";
import { parseEnv } from "../../lambdas/config";
import type { Writer } from "../../lambdas/core/ledger/lifecycle";
import { parseLedgerCsv } from "../../lambdas/core/ledger-csv";
import { registerEntry, setStatus } from "../../lambdas/core/ledger-ops";
import { parsePolicy } from "../../lambdas/core/policy";
import { parseRevokeRequest } from "../../lambdas/core/revoke";
import type { LedgerEntry, LedgerEvent } from "../../lambdas/core/types";
import { type EmbeddedDynamo, ensureLedgerTable, startEmbeddedDynamo } from "../sim/dynamodb-sim";
import { type Loopback, startLoopback } from "../sim/harness";

/**
 * Five writers on one entry at once — the nightly sweep, an on-demand revocation, an operator's flag, an
 * import of the spreadsheet and a registration — with fast-check's scheduler choosing the order in which
 * their reads and writes of the ledger reach DynamoDB (dynalite). Whatever the order, the outcome is one a
 * serial run of the same writers could give: each writer that said it succeeded has its change in the
 * ledger (the five own different fields), every one of them is in the entry's history, and a token that
 * ends flagged is cut off by the next sweep.
 */

const RUNS = 15;
const AWS = { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };
const TOKEN = { tokenId: 1, owner: "amy", tokenName: "deploy" };

let loopback: Loopback;
let dynamo: EmbeddedDynamo;
let client: DynamoDBClient;
let run = 0;

beforeAll(async () => {
  [loopback, dynamo] = await Promise.all([
    startLoopback({ orgs: Array.from({ length: RUNS + 5 }, (_, i) => `mix-${i + 1}`) }),
    startEmbeddedDynamo(),
  ]);
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, ...AWS });
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  process.env.AWS_REGION = AWS.region;
  process.env.AWS_ACCESS_KEY_ID = AWS.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = AWS.credentials.secretAccessKey;
});

afterAll(async () => {
  client?.destroy();
  await Promise.all([loopback?.close(), dynamo?.close()]);
});

/** The ledger with every call held at a gate the scheduler opens, so the writers' calls interleave as it says. */
function gated(s: fc.Scheduler, ledger: Ledger, who: string): Ledger {
  const gate = <T>(what: string, call: () => Promise<T>) =>
    s.schedule(Promise.resolve(), `${who} ${what}`).then(call);
  return {
    ...ledger,
    load: (org) => gate("load", () => ledger.load(org)),
    read: (org, ids) => gate("read", () => ledger.read(org, ids)),
    write: (writes) =>
      gate(`write ${writes.flatMap((w) => w.events.map((e) => e.action)).join("+")}`, () =>
        ledger.write(writes),
      ),
  };
}

type Outcome = { ok: true; entryId?: string; revoked?: boolean } | { ok: false; error: string };

async function settle(work: Promise<Omit<Extract<Outcome, { ok: true }>, "ok">>): Promise<Outcome> {
  try {
    return { ok: true, ...(await work) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

async function setupRun() {
  const n = ++run;
  const org = `mix-${n}`;
  const table = `mix-${n}`;
  await ensureLedgerTable(client, table);
  const env = parseEnv({ ...loopback.env, PATROL_TABLE: table });
  const deps: Deps = await buildDeps(env, { allowEmbedded: false, retryAfterBaseValue: 10 });
  const policy = parsePolicy({ mode: "enforce" });
  const grant = loopback.github
    .org(org)
    .addGrant({ ...TOKEN, tokenExpiresAt: new Date(Date.now() + 5 * 86_400_000).toISOString() });
  // The token is known to the ledger as the sweep found it: unregistered.
  await runSweep({ ...deps, policy }, { org, now: new Date(), runId: "seed" });
  return { org, deps, policy, grant, ledger: makeDynamoLedger(client, table) };
}

describe("five writers on one entry, in any order", () => {
  it("each change that was reported made survives, is on record, and a flagged token is cut off", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const { org, deps, policy, grant, ledger } = await setupRun();
        const now = new Date();
        const actor = (by: string, writer: Writer): Actor => ({ org, by, writer, runId: `${by}-run`, now });

        const outcomes = await s.waitFor(
          Promise.all([
            settle(
              runSweep(
                { ...deps, ledger: gated(s, deps.ledger, "sweep"), policy },
                { org, now, runId: "sweep-run" },
              ).then((r) => ({ revoked: r.revoked.some((t) => t.tokenId === TOKEN.tokenId) })),
            ),
            settle(
              runRevoke(
                { ...deps, ledger: gated(s, deps.ledger, "revoke") },
                parseRevokeRequest({
                  org,
                  selector: { tokenIds: [TOKEN.tokenId] },
                  reason: "in a gist",
                  requestedBy: "jane",
                }),
                now,
                "revoke-run",
              ).then((r) => ({ revoked: r.revoked.length > 0 })),
            ),
            settle(
              changeEntry(gated(s, deps.ledger, "flag"), actor("flagger", "operator"), (entries, ctx) =>
                setStatus(entries, { tokenId: TOKEN.tokenId }, "flagged", "leaked", ctx),
              ).then((c) => ({ entryId: c.entry.entryId })),
            ),
            settle(
              importRecords(
                gated(s, deps.ledger, "import"),
                actor("importer", "import"),
                parseLedgerCsv("token_name,owner,token_id,notes\ndeploy,amy,1,from the spreadsheet\n"),
                { source: "sheet.csv", dryRun: false },
              ).then((o) => ({ entryId: o[0]?.entryId ?? "" })),
            ),
            settle(
              changeEntry(gated(s, deps.ledger, "register"), actor("registrar", "operator"), (entries, ctx) =>
                registerEntry(
                  entries,
                  TOKEN,
                  { purpose: "deploys the api", risks: "writes code" },
                  "approved",
                  ctx,
                ),
              ).then((c) => ({ entryId: c.entry.entryId })),
            ),
          ]),
        );
        const [sweep, revoke, flag, imported, registered] = outcomes as [
          Outcome,
          Outcome,
          Outcome,
          Outcome,
          Outcome,
        ];
        const entries = new Map((await ledger.load(org)).map((e) => [e.entryId, e]));
        const historyOf = async (id: string): Promise<LedgerEvent[]> => ledger.history(org, id);
        const entry = (id: string | undefined): LedgerEntry => {
          const e = entries.get(id ?? "");
          if (!e) throw new Error(`no entry ${id} in ${[...entries.keys()].join(", ")}`);
          return e;
        };
        const context = `${JSON.stringify(outcomes)}\n${s
          .report()
          .map((t) => t.label)
          .join(" → ")}`;

        // Nothing a writer was told was done is missing.
        expect(sweep.ok && revoke.ok, context).toBe(true);
        if (flag.ok) expect(entry(flag.entryId).status, context).toBe("flagged");
        if (imported.ok) expect(entry(imported.entryId).notes, context).toBe("from the spreadsheet");
        if (registered.ok) {
          expect(entry(registered.entryId), context).toMatchObject({
            purpose: "deploys the api",
            risks: "writes code",
          });
        } else {
          // Refused only when it came after the token was flagged or cut off (a serial order would refuse it too).
          expect(registered.error, context).toMatch(/LedgerOpError|LedgerConflictError/);
        }
        for (const [outcome, by] of [
          [flag, "flagger"],
          [imported, "importer"],
          [registered, "registrar"],
        ] as const) {
          if (outcome.ok && outcome.entryId) {
            expect(
              (await historyOf(outcome.entryId)).map((e) => e.actor),
              context,
            ).toContain(by);
          }
        }
        const main = entry("token-1");
        if (revoke.ok && revoke.revoked) {
          expect(main.revokedReason, context).not.toBeNull();
          expect(["flagged", "revoked"], context).toContain(main.status);
        }
        // Versions only grow: the entry's version is the newest its history records.
        const history = await historyOf("token-1");
        expect(main.version, context).toBe(
          Math.max(...history.filter((e) => e.action !== "conflict").map((e) => e.version)),
        );

        // A token that ends flagged is cut off, by now or by the next sweep.
        const next = await runSweep({ ...deps, policy }, { org, now: new Date(), runId: "after" });
        expect(next.errors, context).toEqual([]);
        if (entry("token-1").status === "flagged") {
          expect(
            loopback.github
              .org(org)
              .grants()
              .map((g) => g.id),
            context,
          ).not.toContain(grant.id);
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
