import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SweepReport } from "../../lambdas/core/report";
import type { LedgerEntry } from "../../lambdas/core/types";
import { DEMO_ORG, demoLedgerCsv, seedDemoOrg } from "../demo/demo-org";
import { type Loopback, SLACK_TOKEN, startLoopback } from "../sim/harness";
import { runCli } from "./cli-run";

const execFileAsync = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

const DAY = 86_400_000;
/** Real time: a sweep's `--now` is a what-if that changes nothing, so sweeps that act run as of now. */
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const NOW_ISO = NOW.toISOString();
const at = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();

/** One org per test: the GitHub sim keeps orgs for the life of the shared loopback. */
const ORGS = {
  ledger: "cli-ledger",
  badCsv: "cli-bad-csv",
  dry: "cli-dry",
  badInput: "cli-bad-input",
  cap: "cli-cap",
  fault: "cli-fault",
  slack: "cli-slack",
  human: "cli-human",
  resync: "cli-resync",
} as const;

let loopback: Loopback;
let dataDir: string;
/** Everything the CLI printed during the current test, checked for secrets after each test. */
let transcript: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

beforeAll(async () => {
  loopback = await startLoopback({ orgs: [DEMO_ORG, ...Object.values(ORGS)] });
});

afterAll(async () => {
  await loopback?.close();
});

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "patrol-cli-"));
  transcript = [];
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
  expectNoSecrets(transcript.join("\n"));
});

/** A distinctive slice of the App's private key: one whole base64 line from the middle of the PEM. */
function privateKeySlice(): string {
  const lines = loopback.env.GITHUB_APP_PRIVATE_KEY?.split("\n").filter((l) => l && !l.startsWith("-----"));
  const middle = lines?.[Math.floor(lines.length / 2)];
  if (!middle || middle.length < 40) throw new Error("unexpected private key shape");
  return middle;
}

function expectNoSecrets(output: string): void {
  expect(output).not.toContain(privateKeySlice());
  expect(output).not.toContain("PRIVATE KEY");
  expect(output).not.toContain(SLACK_TOKEN);
  expect(output).not.toContain("xoxb-");
}

/** Runs `patrol …` in-process against the loopback sims and a ledger under this test's data dir. */
async function patrol(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const run = await runCli(args, { ...loopback.env, PATROL_DATA_DIR: dataDir, ...extraEnv });
  transcript.push(run.stdout, run.stderr);
  return run;
}

async function writeCsv(name: string, text: string): Promise<string> {
  const file = join(dataDir, name);
  await writeFile(file, text);
  return file;
}

async function importCsv(org: string, csv: string): Promise<void> {
  const file = await writeCsv(`${org}.csv`, csv);
  const run = await patrol(["ledger", "import", file, "--org", org, "--by", "tester"]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
}

async function exportJson(org: string): Promise<{ text: string; entries: LedgerEntry[] }> {
  const run = await patrol(["ledger", "export", "--org", org, "--format", "json"]);
  expect(run.code).toBe(0);
  expect(run.stderr).toBe("");
  return { text: run.stdout, entries: JSON.parse(run.stdout) as LedgerEntry[] };
}

async function sweepJson(org: string, extra: string[] = [], env: Record<string, string> = {}) {
  const run = await patrol(["sweep", "--org", org, "--json", ...extra], env);
  return { ...run, report: JSON.parse(run.stdout) as SweepReport };
}

function orgPosts(org: string) {
  return loopback.github.requests.filter((r) => r.method === "POST" && r.path.startsWith(`/orgs/${org}/`));
}

/** A token registered in the ledger; `expired` ones are revoked by the default policy. */
function addToken(
  org: string,
  t: { tokenId: number; owner: string; tokenName: string; expired?: boolean; expiresInDays?: number },
) {
  return loopback.github.org(org).addGrant({
    tokenId: t.tokenId,
    owner: t.owner,
    tokenName: t.tokenName,
    accessGrantedAt: at(-60),
    tokenExpiresAt: at(t.expired ? -2 : (t.expiresInDays ?? 100)),
    tokenExpired: t.expired ?? false,
    tokenLastUsedAt: at(-1),
  });
}

describe("patrol ledger import / export", () => {
  it("imports the demo spreadsheet, and importing it again changes nothing", async () => {
    const file = await writeCsv("demo.csv", demoLedgerCsv(NOW));
    const args = ["ledger", "import", file, "--org", ORGS.ledger, "--by", "tester"];

    const first = await patrol(args);

    expect(first.code).toBe(0);
    expect(first.stderr).toBe("");
    const names = [
      "alice/deploy-bot",
      "bob/ci-release",
      "carol/old-migration",
      "dave/analytics-export",
      "erin/leaked-token",
      "frank/docs-sync",
      "grace/nightly-backup",
      "heidi/forever-token",
      "ivan/metrics-reader",
      "judy/release-notes",
      "ken/terraform-plan",
      "olivia/long-lived-ci",
    ];
    names.forEach((name, i) => {
      expect(first.stdout).toContain(`row ${i + 2}: added ${name}`);
    });
    expect(first.stdout).toContain("row 6: added erin/leaked-token (status flagged)");
    expect(first.stdout).toContain("12 added, 0 updated, 0 unchanged");
    const before = await exportJson(ORGS.ledger);
    expect(before.entries).toHaveLength(12);
    expect(before.entries.find((e) => e.tokenName === "old-migration")?.status).toBe("retired");

    const second = await patrol(args);

    expect(second.code).toBe(0);
    names.forEach((name, i) => {
      expect(second.stdout).toContain(`row ${i + 2}: unchanged ${name}`);
    });
    expect(second.stdout).not.toMatch(/: (added|updated) /);
    expect(second.stdout).toContain("0 added, 0 updated, 12 unchanged");
    const after = await exportJson(ORGS.ledger);
    expect(after.text).toBe(before.text);
  });

  it("refuses a CSV without the owner column, naming the column, and writes nothing", async () => {
    const file = await writeCsv("no-owner.csv", "token_name,purpose\ndeploy-bot,deploys\n");

    const run = await patrol(["ledger", "import", file, "--org", ORGS.badCsv]);

    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/row 1: missing required column owner/);
    expect((await exportJson(ORGS.badCsv)).entries).toEqual([]);
  });

  it("refuses a CSV with a bad date, naming the row and column, and writes none of its rows", async () => {
    const file = await writeCsv(
      "bad-date.csv",
      "token_name,owner,expires_at\ngood-one,alice,2027-01-31\nbad-one,bob,2027-02-30\n",
    );

    const run = await patrol(["ledger", "import", file, "--org", ORGS.badCsv]);

    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("row 3, column expires_at");
    expect(run.stderr).toContain('"2027-02-30" is not a date');
    expect(run.stderr).toContain("nothing was imported");
    expect((await exportJson(ORGS.badCsv)).text.trim()).toBe("[]");
  });

  it("refuses a file that does not exist", async () => {
    const missing = join(dataDir, "no-such-file.csv");

    const run = await patrol(["ledger", "import", missing, "--org", ORGS.badCsv]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot read ${missing}: ENOENT`);
    expect((await exportJson(ORGS.badCsv)).entries).toEqual([]);
  });
});

describe("patrol sweep", () => {
  it("sweeps the demo org: one JSON document on stdout, with every kind of revocation", async () => {
    seedDemoOrg(loopback.github, NOW);
    await importCsv(DEMO_ORG, demoLedgerCsv(NOW));

    const run = await patrol(["sweep", "--org", DEMO_ORG, "--json"]);

    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as SweepReport; // the whole of stdout is one document
    expect(report.org).toBe(DEMO_ORG);
    expect(report.dryRun).toBe(false);
    expect(Date.parse(report.now)).toBeGreaterThanOrEqual(NOW.getTime());
    expect(report.scanned).toBe(13);
    expect(report.errors).toEqual([]);
    expect(report.revoked.map((r) => [r.tokenName, r.reason]).sort()).toEqual([
      ["analytics-export", "not-needed"],
      ["ci-release", "expired"],
      ["leaked-token", "flagged"],
      ["old-migration", "not-needed"],
    ]);
    expect(report.alerts.map((a) => [a.kind, a.tokenName]).sort()).toEqual([
      ["expired-awaiting-renewal", "docs-sync"],
      ["expiring", "release-notes"],
      ["expiring", "terraform-plan"],
      ["no-expiry", "forever-token"],
      ["over-lifetime", "long-lived-ci"],
      ["over-lifetime", "nightly-backup"],
      ["permission-drift", "metrics-reader"],
      ["request-waiting", "issue-triage"],
      ["unregistered", "mystery-token"],
      ["unused", "nightly-backup"],
    ]);
    expect(report.slack.sent).toBe(true);
    expect(run.stderr).not.toMatch(/[{}]/);
    const live = loopback.github
      .org(DEMO_ORG)
      .grants()
      .map((g) => g.token_name);
    expect(live).toHaveLength(9);
    expect(live).not.toContain("leaked-token");
    const exported = await exportJson(DEMO_ORG);
    const leaked = exported.entries.find((e) => e.tokenName === "leaked-token");
    // Revoked, and still flagged: should the token ever be granted access again, it is revoked again.
    expect(leaked?.status).toBe("flagged");
    expect(leaked?.revokedReason).toBe("flagged");
    expect(leaked?.revokedBy).toBe("patrol-sweep");
    expect(leaked?.revokedAt).toBe(report.now);
  });

  it("--dry-run lists what it would revoke and changes nothing anywhere", async () => {
    const org = loopback.github.org(ORGS.dry);
    addToken(ORGS.dry, { tokenId: 7101, owner: "amy", tokenName: "old-ci", expired: true });
    addToken(ORGS.dry, { tokenId: 7102, owner: "amy", tokenName: "leaked", expiresInDays: 50 });
    addToken(ORGS.dry, { tokenId: 7103, owner: "bo", tokenName: "healthy", expiresInDays: 200 });
    addToken(ORGS.dry, { tokenId: 7104, owner: "cy", tokenName: "stranger", expiresInDays: 200 });
    await importCsv(
      ORGS.dry,
      "token_name,owner,status,renew,token_id\nold-ci,amy,active,no,7101\nleaked,amy,flagged,no,7102\nhealthy,bo,active,yes,7103\n",
    );
    const ledgerBefore = await exportJson(ORGS.dry);
    const postsBefore = orgPosts(ORGS.dry).length;
    const slackBefore = loopback.slack.calls.length;

    const { code, report, stderr } = await sweepJson(ORGS.dry, ["--dry-run"]);

    expect(code).toBe(0);
    expect(stderr).toBe("patrol: sweeping cli-dry, dry run: nothing will be changed\n");
    expect(report.dryRun).toBe(true);
    expect(report.revoked.map((r) => [r.tokenName, r.reason]).sort()).toEqual([
      ["leaked", "flagged"],
      ["old-ci", "expired"],
    ]);
    expect(report.alerts.map((a) => [a.kind, a.tokenName])).toContainEqual(["unregistered", "stranger"]);
    expect(org.grants()).toHaveLength(4);
    expect(org.revokedPatIds).toEqual([]);
    expect(orgPosts(ORGS.dry)).toHaveLength(postsBefore);
    expect(loopback.slack.calls).toHaveLength(slackBefore);
    expect((await exportJson(ORGS.dry)).text).toBe(ledgerBefore.text);
  });

  it("bad input exits 2 and changes nothing", async () => {
    addToken(ORGS.badInput, { tokenId: 7201, owner: "amy", tokenName: "old-ci", expired: true });
    await importCsv(ORGS.badInput, "token_name,owner,renew,token_id\nold-ci,amy,no,7201\n");
    const ledgerBefore = await exportJson(ORGS.badInput);
    const githubBefore = loopback.github.requests.length;
    const slackBefore = loopback.slack.calls.length;
    const sweep = ["sweep", "--org", ORGS.badInput, "--now", NOW_ISO];
    const cases: { args: string[]; env?: Record<string, string>; stderr: RegExp }[] = [
      { args: ["sweep", "--now", NOW_ISO], stderr: /required option '--org <org>' not specified/ },
      { args: ["sweep", "--org", "not valid!"], stderr: /--org: "not valid!" is not a GitHub organization/ },
      { args: ["sweep", "--org", ORGS.badInput, "--now", "yesterday"], stderr: /--now: "yesterday"/ },
      // A date-time without a zone would be read in the machine's local time: refused.
      { args: ["sweep", "--org", ORGS.badInput, "--now", "2026-11-22T03:00:00"], stderr: /with a zone/ },
      { args: ["frobnicate", "--org", ORGS.badInput], stderr: /unknown command 'frobnicate'/ },
      { args: sweep, env: { PATROL_POLICY: "{maxRevocationsPerRun: 1" }, stderr: /PATROL_POLICY/ },
      {
        args: sweep,
        env: { PATROL_POLICY: '{"maxRevocations":1}' },
        stderr: /PATROL_POLICY.*maxRevocations/,
      },
      {
        args: ["ledger", "export", "--org", ORGS.badInput, "--format", "xml"],
        stderr: /'xml' is invalid.*csv, json/,
      },
    ];

    for (const c of cases) {
      const run = await patrol(c.args, c.env);

      expect(run.code, c.args.join(" ")).toBe(2);
      expect(run.stderr, c.args.join(" ")).toMatch(c.stderr);
      expect(run.stdout, c.args.join(" ")).toBe("");
    }
    expect(loopback.github.requests).toHaveLength(githubBefore);
    expect(loopback.github.org(ORGS.badInput).grants()).toHaveLength(1);
    expect(loopback.slack.calls).toHaveLength(slackBefore);
    expect((await exportJson(ORGS.badInput)).text).toBe(ledgerBefore.text);
  });

  it("holds policy revocations above the cap (exit 3) but still revokes a flagged token", async () => {
    const org = loopback.github.org(ORGS.cap);
    for (let i = 1; i <= 3; i++) {
      addToken(ORGS.cap, { tokenId: 7300 + i, owner: "amy", tokenName: `old-${i}`, expired: true });
    }
    const flagged = addToken(ORGS.cap, { tokenId: 7309, owner: "eve", tokenName: "leaked" });
    await importCsv(
      ORGS.cap,
      [
        "token_name,owner,status,renew,token_id",
        "old-1,amy,active,no,7301",
        "old-2,amy,active,no,7302",
        "old-3,amy,active,no,7303",
        "leaked,eve,flagged,no,7309",
      ].join("\n"),
    );

    const { code, report } = await sweepJson(ORGS.cap, [], { PATROL_POLICY: '{"maxRevocationsPerRun":1}' });

    expect(code).toBe(3);
    expect(report.errors).toEqual([]);
    expect(report.held.map((h) => [h.tokenName, h.reason, h.heldBy]).sort()).toEqual([
      ["old-1", "expired", "cap"],
      ["old-2", "expired", "cap"],
      ["old-3", "expired", "cap"],
    ]);
    expect(report.revoked.map((r) => [r.tokenName, r.reason])).toEqual([["leaked", "flagged"]]);
    expect(org.revokedPatIds).toEqual([flagged.id]);
    expect(
      org
        .grants()
        .map((g) => g.token_name)
        .sort(),
    ).toEqual(["old-1", "old-2", "old-3"]);
  });

  it("a failed revocation exits 1 with the failure in the report; the next sweep revokes it", async () => {
    const org = loopback.github.org(ORGS.fault);
    const grant = addToken(ORGS.fault, { tokenId: 7401, owner: "amy", tokenName: "old-ci", expired: true });
    await importCsv(ORGS.fault, "token_name,owner,renew,token_id\nold-ci,amy,no,7401\n");
    // A status Octokit does not retry: a 5xx would be retried three times with 1 + 4 + 9 s of waits,
    // and the CLI offers no way to shorten them.
    loopback.github.addFault({
      method: "POST",
      path: `/orgs/${ORGS.fault}/personal-access-tokens`,
      status: 422,
      body: { message: "Validation Failed", status: "422" },
    });

    const failed = await sweepJson(ORGS.fault);

    expect(failed.code).toBe(1);
    expect(failed.report.revoked).toEqual([]);
    expect(failed.report.errors).toEqual([
      {
        stage: "revoke",
        patId: grant.id,
        message: expect.stringMatching(/revoking grant \d+ in cli-fault failed: HTTP 422.*Validation Failed/),
      },
    ]);
    expect(org.grants()).toHaveLength(1);
    expect(orgPosts(ORGS.fault).map((r) => r.status)).toEqual([422]);

    const retried = await sweepJson(ORGS.fault);

    expect(retried.code).toBe(0);
    expect(retried.report.errors).toEqual([]);
    expect(retried.report.revoked.map((r) => [r.tokenName, r.reason])).toEqual([["old-ci", "expired"]]);
    expect(org.grants()).toEqual([]);
    expect(org.revokedPatIds).toEqual([grant.id]);
    const entry = (await exportJson(ORGS.fault)).entries.find((e) => e.tokenId === 7401);
    expect(entry?.status).toBe("revoked");
    expect(entry?.revokedReason).toBe("expired");
  });

  it("reports a Slack failure (exit 1) without printing the Slack token", async () => {
    addToken(ORGS.slack, { tokenId: 7501, owner: "amy", tokenName: "stranger", expiresInDays: 200 });
    const slackBefore = loopback.slack.calls.length;

    const { code, report, stdout, stderr } = await sweepJson(ORGS.slack, [], {
      SLACK_BOT_TOKEN: "xoxb-wrong",
    });

    expect(code).toBe(1);
    expect(report.alerts.map((a) => [a.kind, a.tokenName])).toEqual([["unregistered", "stranger"]]);
    expect(report.slack.sent).toBe(false);
    expect(report.slack.error).toContain("invalid_auth");
    expect(report.errors).toEqual([{ stage: "slack", message: expect.stringContaining("invalid_auth") }]);
    // The wrong token did reach Slack (so the check below means something), and was refused there.
    const calls = loopback.slack.calls.slice(slackBefore);
    expect(calls.map((c) => [c.token, c.error])).toEqual([["xoxb-wrong", "invalid_auth"]]);
    expect(`${stdout}${stderr}`).not.toContain("xoxb-wrong");
  });

  // Known bug (lambdas/core/sweep.ts, the "synced" facts in reconcileGrant): the sweep stores GitHub's
  // `token_expires_at` verbatim ("2026-12-22T03:00:00Z") while the CSV import stores the same instant
  // normalized ("2026-12-22T03:00:00.000Z"), so every import after a sweep "updates" expiresAt and the
  // next sweep writes it back: import → sweep → import is not idempotent. Remove `.fails` once fixed.
  it("re-importing the spreadsheet after a sweep leaves every row unchanged", async () => {
    const expires = at(100);
    // As GitHub writes timestamps: whole seconds, no milliseconds.
    loopback.github.org(ORGS.resync).addGrant({
      tokenId: 7701,
      owner: "amy",
      tokenName: "deploy",
      accessGrantedAt: at(-60),
      tokenExpiresAt: expires.replace(".000Z", "Z"),
      tokenLastUsedAt: at(-1),
    });
    const csv = `token_name,owner,renew,token_id,expires_at\ndeploy,amy,yes,7701,${expires}\n`;
    await importCsv(ORGS.resync, csv);
    const sweep = await sweepJson(ORGS.resync);
    expect(sweep.code).toBe(0);
    const file = await writeCsv("again.csv", csv);

    const again = await patrol(["ledger", "import", file, "--org", ORGS.resync, "--by", "tester"]);

    expect(again.code).toBe(0);
    expect(again.stdout).toContain("0 added, 0 updated, 1 unchanged");
  });

  it("prints a human report with the Revoked table and its reasons", async () => {
    addToken(ORGS.human, { tokenId: 7601, owner: "amy", tokenName: "old-ci", expired: true });
    addToken(ORGS.human, { tokenId: 7602, owner: "eve", tokenName: "leaked", expiresInDays: 40 });
    await importCsv(
      ORGS.human,
      "token_name,owner,status,renew,token_id\nold-ci,amy,active,no,7601\nleaked,eve,flagged,no,7602\n",
    );

    const run = await patrol(["sweep", "--org", ORGS.human]);

    expect(run.code).toBe(0);
    expect(run.stderr).toBe("patrol: sweeping cli-human in enforce mode: due tokens will be revoked\n");
    expect(run.stdout).toContain(`patrol sweep · ${ORGS.human} · ${NOW_ISO.slice(0, 10)}`);
    expect(run.stdout).toContain("2 tokens scanned");
    expect(run.stdout).toMatch(/^Revoked \(2\)$/m);
    expect(run.stdout).toMatch(/^ {2}TOKEN\s+OWNER\s+REASON\s+WHY$/m);
    expect(run.stdout).toMatch(/^ {2}old-ci\s+amy\s+expired\s+\S/m);
    expect(run.stdout).toMatch(/^ {2}leaked\s+eve\s+flagged\s+\S/m);
    expect(run.stdout).toContain("Slack: digest sent");
    expect(() => JSON.parse(run.stdout)).toThrow();
  });
});

describe("the patrol binary", () => {
  it("prints help (exit 0) and refuses a sweep without --org (exit 2)", async () => {
    const env = {
      ...process.env,
      PATROL_DATA_DIR: dataDir,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    const options = { cwd: REPO_ROOT, env, timeout: 20_000 };

    const help = await execFileAsync(process.execPath, ["bin/patrol.mjs", "--help"], options);
    const refused = await execFileAsync(process.execPath, ["bin/patrol.mjs", "sweep"], options).then(
      () => {
        throw new Error("patrol sweep without --org succeeded");
      },
      (error: { code?: number; stdout?: string; stderr?: string }) => error,
    );
    transcript.push(help.stdout, help.stderr, refused.stdout ?? "", refused.stderr ?? "");

    expect(help.stdout).toMatch(/^Usage: patrol/m);
    expect(help.stdout).toMatch(/^\s+sweep\b/m);
    expect(help.stdout).toMatch(/^\s+ledger\b/m);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("required option '--org <org>' not specified");
  });
});
