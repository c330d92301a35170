/**
 * Issue 12's observations: the CLI as a new operator meets it. Where the observation is about the binary
 * (pipes, the current directory, progress on a non-terminal), the real `bin/patrol.mjs` runs in a process
 * of its own; elsewhere the CLI runs in-process against the loopback simulators and an embedded ledger.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SweepReport } from "../../lambdas/core/report";
import { type Loopback, startLoopback } from "../sim/harness";
import { runCli } from "./cli-run";

const execFileAsync = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DAY = 86_400_000;
const iso = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const ORGS = ["op-whatif", "op-mode", "op-typo", "op-nocreds", "op-pipe", "op-cwd", "op-cap"];

let loopback: Loopback;
let dataDir: string;

beforeAll(async () => {
  loopback = await startLoopback({ orgs: ORGS });
  dataDir = await mkdtemp(join(tmpdir(), "patrol-operator-"));
});
afterAll(async () => {
  await loopback?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** The environment a user sets, with the ledger in this suite's data dir. */
const envOf = (extra: Record<string, string> = {}): Record<string, string> => ({
  ...loopback.env,
  PATROL_DATA_DIR: dataDir,
  ...extra,
});

/** `n` grants and the ledger rows registering them; `expired` of them expired and not to be renewed. */
async function seed(org: string, n: number, options: { expired?: number; expiresInDays?: number } = {}) {
  const sim = loopback.github.org(org);
  const rows = ["token_name,owner,approved_by,purpose,token_id,renew"];
  for (let i = 0; i < n; i++) {
    const expired = i < (options.expired ?? 0);
    sim.addGrant({
      tokenId: 40_000 + ORGS.indexOf(org) * 5_000 + i,
      owner: `dev${i % 3}`,
      tokenName: `svc-${i}`,
      accessGrantedAt: iso(-20),
      tokenExpiresAt: expired ? iso(-1) : iso(options.expiresInDays ?? 200),
      tokenExpired: expired,
      tokenLastUsedAt: iso(-1),
    });
    rows.push(`svc-${i},dev${i % 3},ops,ci,${40_000 + ORGS.indexOf(org) * 5_000 + i},false`);
  }
  const csv = join(dataDir, `${org}.csv`);
  await writeFile(csv, rows.join("\n"));
  const imported = await runCli(["ledger", "import", csv, "--org", org, "--by", "ops"], envOf());
  expect(imported.code, imported.stderr).toBe(0);
  return sim;
}

const postsFor = (org: string) =>
  loopback.slack.posts().filter((c) => new RegExp(`\\b${org}\\b`).test(String(c.args.text ?? "")));

describe("1–2. safe by default", () => {
  it("a what-if (--now) revokes nothing, changes nothing, and the report says it was a dry run", async () => {
    const sim = await seed("op-whatif", 4, { expiresInDays: 30 });
    const run = await runCli(["sweep", "--org", "op-whatif", "--now", iso(60), "--json"], envOf());
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as SweepReport;
    expect(report.dryRun).toBe(true);
    expect(report.revoked.length).toBe(4); // what would go by then
    expect(sim.revokedPatIds).toEqual([]); // and nothing went
    expect(postsFor("op-whatif")).toEqual([]);
    expect(run.stderr).toContain("a what-if: --now implies --dry-run");
  });

  it("report is the default mode; the sweep says which mode is in force before it acts", async () => {
    const sim = await seed("op-mode", 3, { expired: 2 });
    const { PATROL_MODE: _chosen, ...unset } = envOf();
    const run = await runCli(["sweep", "--org", "op-mode", "--json"], unset);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^patrol: sweeping op-mode in report mode \(the default\): alerts only/);
    const report = JSON.parse(run.stdout) as SweepReport;
    expect(report.mode).toBe("report");
    expect(sim.revokedPatIds).toEqual([]);
    expect(report.held.map((h) => h.heldBy)).toEqual(["report-mode", "report-mode"]);
    const enforced = await runCli(["sweep", "--org", "op-mode", "--json"], {
      ...unset,
      PATROL_MODE: "enforce",
    });
    expect(enforced.stderr).toMatch(/in enforce mode: due tokens will be revoked/);
    expect(sim.revokedPatIds).toHaveLength(2);
  });
});

describe("8. the cap, a circuit breaker that says how to release it", () => {
  it("a night over the cap holds every policy revocation, names the command, and that command releases them on record", async () => {
    const sim = await seed("op-cap", 5, { expired: 4 });
    const env = envOf({ PATROL_POLICY: JSON.stringify({ maxRevocationsPerRun: 2 }) });
    const held = await runCli(["sweep", "--org", "op-cap"], env);
    expect(held.code).toBe(3);
    expect(held.stdout).toContain("patrol sweep --org op-cap --allow-revocations 4 --by YOU");
    expect(sim.revokedPatIds).toEqual([]);
    const unsigned = await runCli(["sweep", "--org", "op-cap", "--allow-revocations", "4"], env);
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toContain("--allow-revocations needs --by WHO");
    const released = await runCli(
      ["sweep", "--org", "op-cap", "--allow-revocations", "4", "--by", "jane", "--json"],
      env,
    );
    expect(released.code, released.stderr).toBe(0);
    expect(sim.revokedPatIds).toHaveLength(4);
    const exported = await runCli(["ledger", "export", "--org", "op-cap", "--format", "json"], env);
    const revokedBy = (JSON.parse(exported.stdout) as { revokedBy: string | null }[]).flatMap(
      (e) => e.revokedBy ?? [],
    );
    expect(revokedBy).toEqual(Array(4).fill("jane (patrol sweep --allow-revocations 4)"));
  });
});

describe("3. an honest revoke", () => {
  it("a token id that matches nothing is exit 2, says what was looked for and what is near, and tells Slack nothing", async () => {
    const sim = await seed("op-typo", 3);
    const known = sim.grants()[0]?.token_id ?? 0;
    const typo = known * 10 + 1;
    const before = loopback.slack.posts().length;
    const run = await runCli(
      ["revoke", "--org", "op-typo", "--token-id", String(typo), "--reason", "leak", "--by", "jane"],
      envOf(),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `no token ${typo} in op-typo (neither listed nor in the ledger); did you mean`,
    );
    expect(run.stdout).toBe("");
    const owner = await runCli(
      ["revoke", "--org", "op-typo", "--owner", "nobody", "--reason", "leak", "--by", "jane"],
      envOf(),
    );
    expect(owner.code).toBe(2);
    expect(owner.stderr).toContain("no token of nobody in op-typo");
    expect(loopback.slack.posts().length).toBe(before);
    expect(sim.revokedPatIds).toEqual([]);
  });
});

describe("4–5. the ledger without GitHub, and in one place", () => {
  it("import, export, report and show need no GitHub credentials", async () => {
    const env = { PATROL_DATA_DIR: dataDir };
    const csv = join(dataDir, "nocreds.csv");
    await writeFile(csv, "token_name,owner,token_id\nci,amy,91001\n");
    for (const args of [
      ["ledger", "import", csv, "--org", "op-nocreds", "--by", "ops"],
      ["ledger", "export", "--org", "op-nocreds"],
      ["ledger", "report", "--org", "op-nocreds"],
      ["ledger", "show", "--org", "op-nocreds", "--token-id", "91001"],
    ]) {
      const run = await runCli(args, env);
      expect(run.stderr, args.join(" ")).toBe("");
      expect(run.code, args.join(" ")).toBe(0);
    }
    const sweep = await runCli(["sweep", "--org", "op-nocreds"], env);
    expect(sweep.code).toBe(2);
    expect(sweep.stderr).toContain("no GitHub credentials");
  });

  it("the embedded ledger is the same from any directory, and none is made where the command runs", async () => {
    const root = join(REPO_ROOT, ".patrol");
    const hadRoot = existsSync(root);
    const { PATROL_DATA_DIR: _moved, ...env } = { ...process.env, ...loopback.env };
    const csv = join(dataDir, "cwd.csv");
    await writeFile(csv, "token_name,owner,token_id\ncwd-check,amy,92001\n");
    try {
      const options = { env, timeout: 30_000 };
      await execFileAsync(
        process.execPath,
        [join(REPO_ROOT, "bin/patrol.mjs"), "ledger", "import", csv, "--org", "op-cwd", "--by", "ops"],
        { ...options, cwd: REPO_ROOT },
      );
      const fromInfra = await execFileAsync(
        process.execPath,
        [join(REPO_ROOT, "bin/patrol.mjs"), "ledger", "export", "--org", "op-cwd"],
        { ...options, cwd: join(REPO_ROOT, "infra") },
      );
      expect(fromInfra.stdout).toContain("cwd-check");
      expect(existsSync(join(REPO_ROOT, "infra", ".patrol"))).toBe(false);
    } finally {
      if (!hadRoot) await rm(root, { recursive: true, force: true });
    }
  });
});

describe("6–7. a binary that behaves in a pipe", () => {
  it("`patrol sweep | head -1` ends quietly (exit 0, no stack trace); progress goes to a non-terminal stderr", async () => {
    const sim = loopback.github.org("op-pipe");
    for (let i = 0; i < 2_500; i++) {
      sim.addGrant({
        tokenId: 70_000 + i,
        owner: `user${i % 50}`,
        tokenName: `t-${i}`,
        accessGrantedAt: iso(-5),
      });
    }
    const { stdout, stderr } = await execFileAsync(
      "bash",
      [
        "-c",
        `"${process.execPath}" bin/patrol.mjs sweep --org op-pipe --dry-run --json | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`,
      ],
      { cwd: REPO_ROOT, env: { ...process.env, ...envOf() } },
    );
    expect(stdout).toBe("{\n");
    expect(stderr).toContain("exit=0");
    expect(stderr).not.toMatch(/EPIPE|at .*\.(ts|js|mjs):\d+/);
    expect(stderr).toContain("listed 1000 tokens…");
    expect(stderr).toContain("listed 2000 tokens…");
  }, 60_000);
});

describe("9. dates and messages in the CLI's own words", () => {
  it.each([
    {
      what: "--all with the wrong --confirm",
      args: [
        "revoke",
        "--org",
        "op-typo",
        "--all",
        "--confirm",
        "acme",
        "--reason",
        "incident",
        "--by",
        "jane",
      ],
      says: '--confirm: "acme" is not op-typo; --all revokes every token in the org, so it needs the org\'s name again: --confirm op-typo',
    },
    {
      what: "an empty --reason",
      args: ["revoke", "--org", "op-typo", "--owner", "dev0", "--reason", "", "--by", "jane"],
      says: "--reason: expected why, in 1 to 1,024 characters; got an empty reason",
    },
  ])("$what: exit 2, naming the flag and what was expected", async ({ args, says }) => {
    const run = await runCli(args, envOf());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(says);
    expect(run.stderr).not.toMatch(/selector|expected \{/);
  });

  it("a private key that is not one, and a personal token where an App token belongs, are named at the start", async () => {
    const { GITHUB_APP_PRIVATE_KEY: _key, GITHUB_APP_ID: _id, ...noApp } = envOf();
    const badKey = await runCli(["sweep", "--org", "op-typo"], {
      ...noApp,
      GITHUB_APP_ID: "1",
      GITHUB_APP_PRIVATE_KEY: "not a key",
    });
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain("GITHUB_APP_PRIVATE_KEY is not a PEM private key");
    const secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    const pat = await runCli(["sweep", "--org", "op-typo"], { ...noApp, GITHUB_TOKEN: secret });
    expect(pat.code).toBe(2);
    expect(pat.stderr).toContain(
      "GitHub only accepts App installation tokens here: GITHUB_TOKEN is a personal access token (classic) (ghp_…)",
    );
    expect(`${pat.stdout}${pat.stderr}`).not.toContain(secret.slice(4));
  });

  it("--function without an AWS region says where a region comes from (exit 2)", async () => {
    const { AWS_REGION: _r, AWS_DEFAULT_REGION: _d, AWS_PROFILE: _p, ...env } = process.env;
    const run = await execFileAsync(
      process.execPath,
      [
        "bin/patrol.mjs",
        "revoke",
        "--org",
        "op-typo",
        "--owner",
        "dev0",
        "--reason",
        "x",
        "--by",
        "jane",
        "--function",
        "patrol-revoke",
      ],
      {
        cwd: REPO_ROOT,
        env: { ...env, AWS_CONFIG_FILE: "/nonexistent", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent" },
        timeout: 30_000,
      },
    ).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? "" }),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--function patrol-revoke: no AWS region to find it in; set AWS_REGION");
  });

  it("a date that does not exist is refused, not rolled over", async () => {
    const run = await runCli(["sweep", "--org", "op-whatif", "--now", "2026-02-30"], envOf());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--now: "2026-02-30" is not a date that exists');
  });
});

describe("10. help as a newcomer reads it", () => {
  it("marks required options, points an error at the subcommand's own help, and describes approve as it is", async () => {
    const help = await runCli(["sweep", "--help"], envOf());
    expect(help.stdout).toMatch(/--org <org>\s+GitHub organization login \(required\)/);
    const revokeHelp = await runCli(["revoke", "--help"], envOf());
    expect(revokeHelp.stdout).toMatch(/--reason <text>.*\(required\)/s);
    const missing = await runCli(["ledger", "export"], envOf());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("(run patrol ledger export --help for usage)");
    const approve = await runCli(["ledger", "approve", "--help"], envOf());
    expect(approve.stdout).not.toContain("purpose, risks and approver (both required)");
    expect(approve.stdout).toContain("with --by as the approver");
    const update = await runCli(["ledger", "update", "--help"], envOf());
    expect(update.stdout).not.toMatch(/approved-by[^\n]*default/);
  });
});

describe("11. a CLI built once", () => {
  it("npm ci builds it (the prepare script); the binary runs the build and prints package.json's version", async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as {
      version: string;
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.prepare).toBe("node scripts/build-cli.mjs");
    await execFileAsync(process.execPath, ["scripts/build-cli.mjs"], { cwd: REPO_ROOT });
    expect(existsSync(join(REPO_ROOT, "dist/cli/main.js"))).toBe(true);
    const { stdout } = await execFileAsync(process.execPath, ["bin/patrol.mjs", "--version"], {
      cwd: REPO_ROOT,
    });
    expect(stdout.trim()).toBe(pkg.version);
  });
});

describe("12–13. no warning to wonder about, a demo that tells the truth", () => {
  it("asks for Node 22 or newer, and Biome's configuration raises no deprecation", async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toBe(">=22");
    const biome = await execFileAsync(
      process.execPath,
      [join(REPO_ROOT, "node_modules/@biomejs/biome/bin/biome"), "check", "biome.json"],
      {
        cwd: REPO_ROOT,
      },
    );
    expect(`${biome.stdout}${biome.stderr}`).not.toMatch(/deprecated/i);
  });

  it("the demo shows the commands whose output follows, and counts in English", async () => {
    const demo = await execFileAsync(process.execPath, ["bin/demo.mjs"], { cwd: REPO_ROOT, timeout: 60_000 });
    const out = demo.stdout;
    expect(out).toContain("1 pending request,");
    expect(out).not.toMatch(/\d day\(s\)|1 pending requests|entries written/);
    // The export is shown as the command that prints what follows it: JSON lines, one per revoked token.
    const exportAt = out.indexOf("$ patrol ledger export");
    expect(exportAt).toBeGreaterThan(0);
    const after = out.slice(exportAt).split("\n").slice(1, 3);
    for (const line of after) expect(() => JSON.parse(line)).not.toThrow();
    expect(out).toContain("$ PATROL_MODE=enforce patrol sweep");
    // Owners told directly (one found by email), and one click carried out end to end.
    expect(out).toMatch(/DM to @judy\n│ .*Your token release-notes for acme-corp expires in 5 days/);
    expect(out).toMatch(/DM to @ken \(found by the ledger's email\)\n│ .*Your token terraform-plan/);
    expect(out).toMatch(/the endpoint answered 200 in \d+ ms/);
    expect(out).toContain("only @sam sees: Marked as being renewed.");
    expect(out).toMatch(/Renewing: .* · @U0SAM · /);
    expect(out).toContain('"renew":true,"actor":"slack:U0SAM (sam)"');
    expect(out).not.toMatch(/"level":"INFO"/);
  }, 90_000);
});
