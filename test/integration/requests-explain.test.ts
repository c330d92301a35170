/** `patrol requests explain`: the real CLI against the GitHub simulator, with rules in PATROL_POLICY. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Loopback, startLoopback } from "../sim/harness";
import { runCli } from "./cli-run";

const ORG = "explain-org";
const DAY = 86_400_000;
const RULES = [
  { name: "no-endless-tokens", decision: "deny", when: { lifetimeOverDays: 90 } },
  {
    name: "small-read-only",
    decision: "approve",
    when: { readOnly: true, maxRepositories: 3, reasonGiven: true, expiresWithinDays: 30 },
  },
];

let loopback: Loopback;
let dataDir: string;

beforeAll(async () => {
  loopback = await startLoopback({ orgs: [ORG] });
  dataDir = await mkdtemp(join(tmpdir(), "patrol-explain-"));
});

afterAll(async () => {
  await loopback?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const patrol = (args: string[], policy: unknown = { requestRules: RULES }) =>
  runCli(args, { ...loopback.env, PATROL_DATA_DIR: dataDir, PATROL_POLICY: JSON.stringify(policy) });

describe("patrol requests explain", () => {
  it("names the rule that would decide, and what each condition found, counting the repositories", async () => {
    const request = loopback.github.org(ORG).addRequest({
      owner: "rob",
      tokenName: "docs-reader",
      reason: "builds the docs site",
      tokenExpiresAt: new Date(Date.now() + 20 * DAY).toISOString(),
      permissions: { repository: { contents: "read" } },
      repositories: ["docs", "web"],
    });
    const run = await patrol(["requests", "explain", "--org", ORG, "--request-id", String(request.id)]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `request ${request.id} · docs-reader of rob · contents:read on 2 repositories`,
    );
    expect(run.stdout).toMatch(
      /✗ no-endless-tokens \(deny\)\n\s+✗ lifetimeOverDays: a lifetime of 20 days \(within 90\)/,
    );
    expect(run.stdout).toMatch(/✓ small-read-only \(approve\)/);
    expect(run.stdout).toContain("✓ maxRepositories: 2 repositories (at most 3)");
    expect(run.stdout).toContain("→ rule small-read-only would approve it.");
    // It only explains: nothing is sent to GitHub.
    expect(loopback.github.org(ORG).reviews).toEqual([]);

    const json = await patrol([
      "requests",
      "explain",
      "--org",
      ORG,
      "--request-id",
      String(request.id),
      "--json",
    ]);
    const parsed = JSON.parse(json.stdout) as { verdicts: { rule: { name: string }; matches: boolean }[] };
    expect(parsed.verdicts.map((v) => [v.rule.name, v.matches])).toEqual([
      ["no-endless-tokens", false],
      ["small-read-only", true],
    ]);
  });

  it("with no rule matching, a person decides; with no rules, says so", async () => {
    const request = loopback.github.org(ORG).addRequest({
      owner: "pat",
      tokenName: "ci-writer",
      reason: "pushes tags",
      tokenExpiresAt: new Date(Date.now() + 20 * DAY).toISOString(),
      permissions: { repository: { contents: "write" } },
    });
    const run = await patrol(["requests", "explain", "--org", ORG, "--request-id", String(request.id)]);
    expect(run.stdout).toContain("→ no rule matches: a person decides");
    expect(run.stdout).toContain("✗ readOnly: asks to write: contents:write");
    const none = await patrol(["requests", "explain", "--org", ORG, "--request-id", String(request.id)], {});
    expect(none.stdout).toContain("No approval rules are configured");
  });

  it("a request that is not pending, a bad id or a rule that cannot be evaluated: exit 2, named", async () => {
    const missing = await patrol(["requests", "explain", "--org", ORG, "--request-id", "999999"]);
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toContain("request 999999 is not pending in explain-org");
    const bad = await patrol(["requests", "explain", "--org", ORG, "--request-id", "abc"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--request-id: "abc" is not a number');
    const broken = await patrol(["requests", "explain", "--org", ORG, "--request-id", "1"], {
      requestRules: [{ name: "typo", decision: "deny", when: { anyPermission: ["contens:write"] } }],
    });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(
      /rule typo .*contens:write matches no fine-grained permission \(did you mean contents\?\)/,
    );
  });
});
