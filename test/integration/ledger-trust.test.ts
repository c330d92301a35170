import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDynamoLedger } from "../../lambdas/adapters/ledger";
import { buildDeps } from "../../lambdas/app/deps";
import type { Ledger } from "../../lambdas/app/ports";
import { runSweep } from "../../lambdas/app/run-sweep";
import { parseEnv } from "../../lambdas/config";
import { parsePolicy } from "../../lambdas/core/policy";
import type { SweepReport } from "../../lambdas/core/report";
import type { EntryWrite, LedgerEntry, LedgerEvent } from "../../lambdas/core/types";
import { type EmbeddedDynamo, ensureLedgerTable, startEmbeddedDynamo } from "../sim/dynamodb-sim";
import type { GrantPayload, SimOrg } from "../sim/github-sim";
import { type Loopback, startLoopback } from "../sim/harness";
import { type CliRun, runCli } from "./cli-run";

/**
 * The ledger you can trust: what a new user and a second writer found wrong with it, each as it was
 * observed, through the same doors a user uses (the CLI, the sweep and revoke use cases, a DynamoDB table
 * served by dynalite, the GitHub and Slack simulators). Every test here failed before the ledger became
 * one model (lambdas/core/ledger/) and writers re-read on a conflict (lambdas/app/commit.ts).
 */

const DAY = 86_400_000;
const AWS = { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };

let loopback: Loopback;
let dynamo: EmbeddedDynamo;
let workDir: string;
let seq = 0;
/** Each test sweeps an org of its own; the App is installed on this many. */
const ORG_COUNT = 50;

beforeAll(async () => {
  [loopback, dynamo] = await Promise.all([
    startLoopback({ orgs: Array.from({ length: ORG_COUNT }, (_, i) => `trust-${i + 1}`) }),
    startEmbeddedDynamo(),
  ]);
  workDir = await mkdtemp(join(tmpdir(), "patrol-trust-"));
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  process.env.AWS_REGION = AWS.region;
  process.env.AWS_ACCESS_KEY_ID = AWS.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = AWS.credentials.secretAccessKey;
});

afterAll(async () => {
  await Promise.all([loopback?.close(), dynamo?.close(), rm(workDir, { recursive: true, force: true })]);
});

const iso = (days: number) => new Date(Date.now() + days * DAY).toISOString();

/** A fresh org and table: the sim keeps orgs for the life of the loopback, so every test has its own. */
async function setup(policy: Record<string, unknown> = {}) {
  const n = ++seq;
  const orgName = `trust-${n}`;
  const table = `trust-${n}`;
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, ...AWS });
  await ensureLedgerTable(client, table);
  const env = { ...loopback.env, PATROL_TABLE: table, PATROL_POLICY: JSON.stringify(policy) };
  const org = loopback.github.org(orgName);
  const ledger = makeDynamoLedger(client, table);
  const patrol = (args: string[]): Promise<CliRun> => runCli(args, env);
  const ok = async (args: string[]): Promise<string> => {
    const run = await patrol(args);
    expect(run.stderr, args.join(" ")).toBe("");
    expect(run.code, args.join(" ")).toBe(0);
    return run.stdout;
  };
  const importCsv = async (csv: string, ...extra: string[]) => {
    const file = join(workDir, `${orgName}-${Math.random().toString(36).slice(2)}.csv`);
    await writeFile(file, csv);
    return patrol(["ledger", "import", file, "--org", orgName, "--by", "importer", ...extra]);
  };
  const exportJson = async (orgArg = orgName): Promise<LedgerEntry[]> =>
    JSON.parse(await ok(["ledger", "export", "--org", orgArg, "--format", "json"])) as LedgerEntry[];
  const show = async (tokenId: number) =>
    JSON.parse(
      await ok(["ledger", "show", "--org", orgName, "--token-id", String(tokenId), "--json"]),
    ) as LedgerEntry & {
      history: LedgerEvent[];
    };
  /** A sweep as the Lambda runs it, through the deps the environment builds, with an optional ledger wrapper. */
  const sweep = async (
    options: { wrap?: (l: Ledger) => Ledger; org?: string; now?: Date } = {},
  ): Promise<SweepReport> => {
    const deps = await buildDeps(parseEnv(env), { allowEmbedded: false, retryAfterBaseValue: 10 });
    return runSweep(
      {
        ...deps,
        ledger: (options.wrap ?? ((l) => l))(deps.ledger),
        policy: parsePolicy({ mode: "enforce", ...policy }),
      },
      {
        org: options.org ?? orgName,
        now: options.now ?? new Date(),
        runId: `run-${Math.random().toString(36).slice(2)}`,
      },
    );
  };
  /** `patrol ledger flag`, as the operator on call (jane) runs it. */
  const flag = (tokenId: number, reason: string) =>
    ok([
      "ledger",
      "flag",
      "--org",
      orgName,
      "--token-id",
      String(tokenId),
      "--by",
      "jane",
      "--reason",
      reason,
    ]);
  return { orgName, org, ledger, env, patrol, ok, importCsv, exportJson, show, sweep, flag };
}

function addGrant(
  org: SimOrg,
  tokenId: number,
  owner: string,
  tokenName: string,
  more: Partial<Parameters<SimOrg["addGrant"]>[0]> = {},
): GrantPayload {
  return org.addGrant({
    tokenId,
    owner,
    tokenName,
    accessGrantedAt: iso(-30),
    tokenExpiresAt: iso(60),
    tokenLastUsedAt: iso(-1),
    ...more,
  });
}

/**
 * Another writer landing between a run's read and its write: before the first write that carries an event
 * of `action` for `entryId`, `other` runs (once). The ledger underneath is the real one.
 */
function interleave(entryId: string, action: string, other: () => Promise<void>): (ledger: Ledger) => Ledger {
  return (ledger) => {
    let done = false;
    return new Proxy(ledger, {
      get(target, prop, receiver) {
        if (prop !== "write") return Reflect.get(target, prop, receiver);
        return async (writes: readonly EntryWrite[]) => {
          const hit = writes.some(
            (w) => w.entry.entryId === entryId && w.events.some((e) => e.action === action),
          );
          if (hit && !done) {
            done = true;
            await other();
          }
          return target.write(writes);
        };
      },
    });
  };
}

const HEADER = "token_name,owner,token_id,purpose,approved_by,renew";

describe("1. another writer between a run's read and its write: its change survives", () => {
  it("an operator's flag landing before the sweep records its plan is kept, and the token is revoked as flagged", async () => {
    const t = await setup();
    const grant = addGrant(t.org, 101, "amy", "deploy", { tokenExpiresAt: iso(10) });
    expect((await t.importCsv(`${HEADER}\ndeploy,amy,101,deploys,lead,no\n`)).code).toBe(0);

    const report = await t.sweep({
      wrap: interleave("token-101", "synced", async () => {
        await t.flag(101, "leaked");
      }),
    });

    const entry = await t.show(101);
    expect(entry.status).toBe("flagged");
    expect(entry.history.map((e) => e.action)).toContain("flagged");
    expect(report.revoked.map((r) => [r.tokenId, r.reason])).toEqual([[101, "flagged"]]);
    expect(t.org.revokedPatIds).toContain(grant.id);
    expect(report.errors).toEqual([]);
  });

  it("a flag landing before the sweep records a revocation's outcome is kept, with the outcome recorded", async () => {
    const t = await setup();
    addGrant(t.org, 102, "amy", "reports");
    expect((await t.importCsv(`${HEADER},status\nreports,amy,102,reports,lead,no,retired\n`)).code).toBe(0);

    const report = await t.sweep({
      wrap: interleave("token-102", "revoked", async () => {
        await t.flag(102, "seen in a gist");
      }),
    });

    expect(report.errors).toEqual([]);
    expect(report.revoked.map((r) => r.tokenId)).toEqual([102]);
    const entry = await t.show(102);
    expect(entry).toMatchObject({
      status: "flagged",
      revokedReason: "not-needed",
      revokedBy: "patrol-sweep",
    });
    expect(entry.history.map((e) => e.action)).toEqual(expect.arrayContaining(["flagged", "revoked"]));
  });

  it("a flag landing before the sweep remembers its alerts is kept, and the alert is remembered on top of it", async () => {
    const t = await setup();
    addGrant(t.org, 103, "amy", "ci", { tokenExpiresAt: iso(5) });
    expect((await t.importCsv(`${HEADER}\nci,amy,103,builds,lead,no\n`)).code).toBe(0);

    const report = await t.sweep({
      wrap: interleave("token-103", "alerted", async () => {
        await t.flag(103, "leaked");
      }),
    });

    expect(report.errors).toEqual([]);
    expect(report.slack.sent).toBe(true);
    const entry = await t.show(103);
    expect(entry.status).toBe("flagged");
    expect(Object.keys(entry.alertsSent).some((k) => k.startsWith("expiring:"))).toBe(true);
    // The next sweep revokes the flagged token and does not repeat the alert.
    const next = await t.sweep();
    expect(next.revoked.map((r) => [r.tokenId, r.reason])).toEqual([[103, "flagged"]]);
    expect(next.alerts.filter((a) => a.kind === "expiring")).toEqual([]);
  });

  it("a decision that changes when re-read is written before it is acted on (the cap no longer exceeded)", async () => {
    const t = await setup({ maxRevocationsPerRun: 1 });
    addGrant(t.org, 111, "amy", "b");
    addGrant(t.org, 112, "amy", "c");
    const csv = `${HEADER},status\nb,amy,111,old,lead,no,retired\nc,amy,112,old,lead,no,retired\n`;
    expect((await t.importCsv(csv)).code).toBe(0);

    // Two retired tokens exceed the cap of one; an operator flags one of them mid-sweep, so on the re-read
    // only one policy revocation is left, within the cap.
    const report = await t.sweep({
      wrap: interleave("token-111", "synced", () => t.flag(111, "leaked").then(() => {})),
    });

    expect(report.errors).toEqual([]);
    expect(report.revoked.map((r) => [r.tokenId, r.reason]).sort()).toEqual([
      [111, "flagged"],
      [112, "not-needed"],
    ]);
    const actions = (await t.show(112)).history.map((e) => e.action);
    expect(actions.indexOf("revoke-intent")).toBeGreaterThanOrEqual(0);
    expect(actions.indexOf("revoke-intent")).toBeLessThan(actions.indexOf("revoked"));
  });

  it("an operator's change landing before an on-demand revocation records its intent survives the revocation", async () => {
    const t = await setup();
    addGrant(t.org, 104, "amy", "deploy");
    expect((await t.importCsv(`${HEADER}\ndeploy,amy,104,deploys,lead,no\n`)).code).toBe(0);
    const deps = await buildDeps(parseEnv(t.env), { allowEmbedded: false });
    const { runRevoke } = await import("../../lambdas/app/run-revoke");
    const { parseRevokeRequest } = await import("../../lambdas/core/revoke");
    const request = parseRevokeRequest({
      org: t.orgName,
      selector: { tokenIds: [104] },
      reason: "token in a public gist",
      requestedBy: "jane",
    });

    const wrapped = interleave("token-104", "revoke-intent", async () => {
      await t.ok([
        "ledger",
        "update",
        "--org",
        t.orgName,
        "--token-id",
        "104",
        "--notes",
        "rotation ticket SEC-42",
        "--by",
        "bob",
        "--reason",
        "tracking the rotation",
      ]);
    })(deps.ledger);
    const report = await runRevoke({ ...deps, ledger: wrapped }, request, new Date(), "revoke-1");

    expect(report.revoked.map((r) => r.tokenId)).toEqual([104]);
    const entry = await t.show(104);
    expect(entry).toMatchObject({
      status: "flagged",
      notes: "rotation ticket SEC-42",
      revokedReason: "on-demand",
    });
    expect(report.errors).toEqual([]);
  });
});

describe("2. gone is a finding, not a verdict", () => {
  it("a retired token whose grant went missing one night is revoked when it is listed again", async () => {
    const t = await setup();
    const grant = addGrant(t.org, 201, "amy", "old-export");
    expect((await t.importCsv(`${HEADER},status\nold-export,amy,201,exports,lead,no,retired\n`)).code).toBe(
      0,
    );
    t.org.removeGrant(grant.id);
    await t.sweep();
    expect((await t.show(201)).status).toBe("gone");

    addGrant(t.org, 201, "amy", "old-export", { id: grant.id });
    const report = await t.sweep();

    expect(report.revoked.map((r) => [r.tokenId, r.reason])).toEqual([[201, "not-needed"]]);
    expect(t.org.revokedPatIds).toContain(grant.id);
  });

  it("an unregistered token listed again after a gone night is judged again (and revoked past its grace)", async () => {
    const t = await setup({ revoke: { unregistered: true }, unregisteredGraceDays: 7 });
    const grant = addGrant(t.org, 202, "mallory", "mystery");
    const night = (n: number) => new Date(Date.now() + n * DAY);
    await t.sweep({ now: night(0) });
    t.org.removeGrant(grant.id);
    await t.sweep({ now: night(1) });
    expect((await t.show(202)).status).toBe("gone");
    addGrant(t.org, 202, "mallory", "mystery", { id: grant.id });

    const report = await t.sweep({ now: night(8) });

    expect(report.revoked.map((r) => [r.tokenId, r.reason])).toEqual([[202, "unregistered"]]);
    expect((await t.show(202)).history.map((e) => e.action)).toContain("listed-again");
  });

  it("an entry whose token id never appears in the org becomes gone", async () => {
    const t = await setup();
    addGrant(t.org, 203, "amy", "real");
    expect(
      (await t.importCsv(`${HEADER}\nreal,amy,203,real,lead,no\nghost,amy,299,typo,lead,no\n`)).code,
    ).toBe(0);

    await t.sweep();

    expect((await t.show(299)).status).toBe("gone");
    expect((await t.show(203)).status).toBe("active");
  });
});

describe("3. import loses nothing", () => {
  it("reads the runbook's own headers: creation date, renewal and needed-until are kept", async () => {
    const t = await setup();
    const csv = [
      "Name of the token,Owner of the token,Purpose of the token,Scope of access,Token permissions,Date of creation,Risks,Approved by,Expiry date,Renew?,Needed until",
      `deploy,amy,deploys the api,subset: api,contents:read,2026-01-05,low,lead,${iso(-1).slice(0, 10)},yes,2027-06-30`,
    ].join("\n");
    expect((await t.importCsv(csv)).code).toBe(0);

    const [entry] = await t.exportJson();
    expect(entry).toMatchObject({
      createdAt: "2026-01-05T00:00:00.000Z",
      renew: true,
      neededUntil: "2027-06-30T00:00:00.000Z",
      scope: { selection: "subset", repositories: ["api"] },
      permissions: { "repository.contents": "read" },
    });
    // Marked for renewal: expired, it is awaited, not revoked.
    addGrant(t.org, 301, "amy", "deploy", { tokenExpired: true, tokenExpiresAt: iso(-1) });
    const report = await t.sweep();
    expect(report.revoked).toEqual([]);
    expect(report.alerts.map((a) => a.kind)).toContain("expired-awaiting-renewal");
  });

  it("refuses a column that matches no field, naming it and the nearest one, and imports nothing", async () => {
    const t = await setup();
    const run = await t.importCsv("token_name,owner,Expiry dat,Cost centre\ndeploy,amy,2027-01-01,42\n");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'column "Expiry dat" (column 3) is not a ledger field; did you mean expires_at?',
    );
    expect(run.stderr).toContain(
      '(to leave a column out on purpose: --ignore-column "Expiry dat" "Cost centre")',
    );
    expect(await t.exportJson()).toEqual([]);
    const skipped = await t.importCsv(
      "token_name,owner,Expiry date,Cost centre\ndeploy,amy,2027-01-01,42\n",
      "--ignore-column",
      "Cost centre",
    );
    expect(skipped.code).toBe(0);
    expect((await t.exportJson())[0]?.expiresAt).toBe("2027-01-01T00:00:00.000Z");
  });
});

describe("4. an unregistered token can be adopted", () => {
  it("by register, update or re-import; then revoke.unregistered leaves it alone", async () => {
    const t = await setup({ revoke: { unregistered: true }, unregisteredGraceDays: 7 });
    addGrant(t.org, 401, "amy", "a");
    addGrant(t.org, 402, "amy", "b");
    addGrant(t.org, 403, "amy", "c");
    await t.sweep();
    const statuses = async () =>
      Object.fromEntries((await t.exportJson()).map((e) => [e.tokenName, e.status]));
    expect(await statuses()).toEqual({ a: "unregistered", b: "unregistered", c: "unregistered" });

    await t.ok([
      "ledger",
      "register",
      "--org",
      t.orgName,
      "--token-name",
      "a",
      "--owner",
      "amy",
      "--purpose",
      "deploys",
      "--by",
      "lead",
    ]);
    await t.ok([
      "ledger",
      "update",
      "--org",
      t.orgName,
      "--token-id",
      "402",
      "--purpose",
      "reports",
      "--approved-by",
      "lead",
      "--by",
      "lead",
      "--reason",
      "approved at the review",
    ]);
    expect((await t.importCsv("token_name,owner,purpose,approved_by\nc,amy,builds,lead\n")).code).toBe(0);
    expect(await statuses()).toEqual({ a: "active", b: "active", c: "active" });

    // A week later, past the grace: adopted tokens are approved, so nothing is revoked as unregistered.
    const report = await t.sweep({ now: new Date(Date.now() + 8 * DAY) });
    expect(report.revoked).toEqual([]);
    expect(report.errors).toEqual([]);
  });
});

describe("5. an org's login in any case is one ledger", () => {
  it("--org ACME reads and writes the ledger of acme", async () => {
    const t = await setup();
    addGrant(t.org, 501, "amy", "deploy");
    expect((await t.importCsv(`${HEADER}\ndeploy,amy,501,deploys,lead,no\n`)).code).toBe(0);

    const report = await t.sweep({ org: t.orgName.toUpperCase() });

    expect(report.alerts.filter((a) => a.kind === "unregistered")).toEqual([]);
    expect(await t.exportJson(t.orgName.toUpperCase())).toHaveLength(1);
    expect((await t.exportJson())[0]?.status).toBe("active");
  });
});

describe("5b. a ledger kept under the org as typed, before logins were canonical", () => {
  it("is refused until moved, then is the org's ledger under any case", async () => {
    const t = await setup();
    const typed = t.orgName.replace(/^trust/, "Trust");
    addGrant(t.org, 551, "amy", "deploy");
    // As the CLI wrote it before: the partition key in the case the org was typed, the old text forms.
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint, ...AWS }));
    await doc.send(
      new PutCommand({
        TableName: t.env.PATROL_TABLE,
        Item: {
          pk: `ORG#${typed}`,
          sk: "ENTRY#token-551",
          // Every field an entry had then, in the forms it had them.
          org: typed,
          entryId: "token-551",
          tokenId: 551,
          patId: null,
          requestId: null,
          tokenName: "deploy",
          owner: "amy",
          purpose: "deploys",
          scope: "all",
          permissions: "contents:read",
          createdAt: null,
          expiresAt: null,
          approvedBy: "lead",
          risks: "",
          renew: false,
          neededUntil: null,
          slack: "",
          notes: "",
          status: "retired",
          firstSeenAt: null,
          alertsSent: {},
          pendingRevocation: null,
          revokedReason: null,
          revokedAt: null,
          revokedBy: null,
          version: 1,
          updatedAt: "2026-11-01T00:00:00.000Z",
          updatedBy: "importer",
        },
      }),
    );

    const refused = await t.patrol(["ledger", "export", "--org", typed, "--format", "json"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`run patrol ledger move-case --org ${typed}`);

    expect(await t.ok(["ledger", "move-case", "--org", typed])).toContain("1 entries and 0 events moved");
    const [moved] = await t.exportJson(typed);
    expect(moved).toMatchObject({
      entryId: "token-551",
      status: "retired",
      permissions: { "repository.contents": "read" },
    });
    const report = await t.sweep({ org: typed.toUpperCase() });
    expect(report.revoked.map((r) => [r.tokenId, r.reason])).toEqual([[551, "not-needed"]]);
  });
});

describe("one grant GitHub refuses does not block its batch", () => {
  it("the batch is split until the refused grant is alone; the others, flagged ones included, go the same run", async () => {
    const t = await setup();
    const rows = [
      "a,amy,1201,x,lead,no,flagged",
      "b,amy,1202,x,lead,no,retired",
      "c,amy,1203,x,lead,no,retired",
    ];
    rows.push("d,amy,1204,x,lead,no,retired", "e,amy,1205,x,lead,no,flagged");
    const grants = [1201, 1202, 1203, 1204, 1205].map((id, i) =>
      addGrant(t.org, id, "amy", "abcde"[i] ?? "x"),
    );
    expect((await t.importCsv(`${HEADER},status\n${rows.join("\n")}\n`)).code).toBe(0);
    const refused = grants[2];
    if (!refused) throw new Error("no grant");
    t.org.unrevokable.add(refused.id);

    const report = await t.sweep();

    expect(report.revoked.map((r) => r.tokenId).sort()).toEqual([1201, 1202, 1204, 1205]);
    expect(report.errors).toEqual([
      expect.objectContaining({
        stage: "revoke",
        patId: refused.id,
        message: expect.stringContaining(`revoking grant ${refused.id}`),
      }),
    ]);
    expect(t.org.grants().map((g) => g.id)).toEqual([refused.id]);
    // The refused one keeps its intent: the next run tries again.
    expect((await t.show(1203)).pendingRevocation).toMatchObject({ reason: "not-needed", patId: refused.id });
  });
});

describe("a ledger table that is not there", () => {
  it("is named, with where its name came from, and nothing is revoked", async () => {
    const t = await setup();
    const grant = addGrant(t.org, 561, "amy", "deploy", { tokenExpired: true, tokenExpiresAt: iso(-1) });
    const run = await runCli(["sweep", "--org", t.orgName, "--json"], {
      ...t.env,
      PATROL_TABLE: "no-such-table",
    });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as SweepReport;
    expect(report.errors[0]?.message).toContain(
      'the ledger table "no-such-table" does not exist (PATROL_TABLE',
    );
    expect(t.org.grants().map((g) => g.id)).toContain(grant.id);
  });
});

describe("6. reasons are codes", () => {
  it("an expired token's entry says revokedReason expired, and the sentence apart", async () => {
    const t = await setup();
    addGrant(t.org, 601, "amy", "old", { tokenExpired: true, tokenExpiresAt: iso(-2) });
    expect((await t.importCsv(`${HEADER}\nold,amy,601,old,lead,no\n`)).code).toBe(0);

    const report = await t.sweep();

    // One entry, written for its intent, its outcome and its alert: one entry written.
    expect(report.ledger).toMatchObject({ entries: 1, written: 1 });
    const [entry] = await t.exportJson();
    expect(entry?.revokedReason).toBe("expired");
    expect(entry?.revokedDetail).toMatch(/^expired \d{4}-\d{2}-\d{2} and not marked for renewal$/);
  });
});

describe("7. sizes are bounded before anything happens", () => {
  it("a 450 KB revoke reason is refused with exit 2 and nothing is revoked", async () => {
    const t = await setup();
    const grant = addGrant(t.org, 701, "amy", "deploy");
    expect((await t.importCsv(`${HEADER}\ndeploy,amy,701,deploys,lead,no\n`)).code).toBe(0);
    const before = loopback.github.requests.length;

    const run = await t.patrol([
      "revoke",
      "--org",
      t.orgName,
      "--token-id",
      "701",
      "--reason",
      "x".repeat(450_000),
      "--by",
      "jane",
    ]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--reason: 450,000 characters; at most 1,024");
    expect(loopback.github.requests.length).toBe(before);
    expect(t.org.grants().map((g) => g.id)).toContain(grant.id);
    expect((await t.show(701)).status).toBe("active");
  });

  it.each([
    {
      what: "a 300-character --by",
      args: ["ledger", "flag", "--token-id", "1", "--by", "b".repeat(300), "--reason", "x"],
      message: "--by: expected who acts, in 1 to 255 characters",
    },
    {
      what: "a 300-character --token-name",
      args: ["ledger", "register", "--token-name", "t".repeat(300), "--owner", "amy", "--by", "lead"],
      message: "--token-name:",
    },
    {
      what: "an --owner that is no login",
      args: ["ledger", "register", "--token-name", "t", "--owner", "not a login", "--by", "lead"],
      message: "--owner:",
    },
    {
      what: "5,000 characters of --notes",
      args: [
        "ledger",
        "update",
        "--token-id",
        "1",
        "--notes",
        "n".repeat(5000),
        "--by",
        "b",
        "--reason",
        "x",
      ],
      message: "--notes:",
    },
  ])("$what is refused before anything is read", async ({ args, message }) => {
    const t = await setup();
    const run = await t.patrol([...args.slice(0, 2), "--org", t.orgName, ...args.slice(2)]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(await t.exportJson()).toEqual([]);
  });

  it("a CSV with one 450 KB field is refused whole, naming the row and column", async () => {
    const t = await setup();
    const rows = Array.from({ length: 200 }, (_, i) => `t${i},amy,,ok`);
    rows.push(`big,amy,,${"n".repeat(450_000)}`);
    const run = await t.importCsv(`token_name,owner,token_id,notes\n${rows.join("\n")}\n`);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("row 202, column notes:");
    expect(run.stderr).toContain("has 450,000 characters; at most 4,096");
    expect(await t.exportJson()).toEqual([]);
  });
});

describe("8. import accepts only what a spreadsheet may say", () => {
  it.each([
    ["status", "requested", '"requested" is a status patrol sets from what it sees on GitHub'],
    ["status", "gone", '"gone" is a status patrol sets'],
    ["status", "revoked", '"revoked" is a status patrol sets'],
    ["permissions", "read:contents", 'did you mean "contents:read"?'],
    ["permissions", "bogus:read", '"bogus" is not a GitHub fine-grained permission'],
    ["slack", "alice", '"alice" is not a Slack member id'],
  ])("refuses %s %s", async (column, value, message) => {
    const t = await setup();
    const run = await t.importCsv(`token_name,owner,${column}\ndeploy,amy,${value}\n`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(await t.exportJson()).toEqual([]);
  });
});

describe("9. a review is always on record", () => {
  it("approving a request whose entry is already active records the approval", async () => {
    const t = await setup();
    const request = t.org.addRequest({
      tokenId: 901,
      owner: "amy",
      tokenName: "ci",
      reason: "runs CI",
      tokenExpiresAt: iso(30),
    });
    await t.ok([
      "ledger",
      "register",
      "--org",
      t.orgName,
      "--token-name",
      "ci",
      "--owner",
      "amy",
      "--token-id",
      "901",
      "--purpose",
      "runs CI",
      "--risks",
      "reads logs",
      "--by",
      "lead",
    ]);

    await t.ok(["ledger", "approve", "--org", t.orgName, "--request-id", String(request.id), "--by", "lead"]);

    const entry = await t.show(901);
    const actions = entry.history.map((e) => e.action);
    expect(actions).toContain("approving");
    expect(actions).toContain("approved");
    expect(actions.indexOf("approved")).toBeGreaterThan(actions.indexOf("approving"));
  });
});
