/**
 * A leaked token's value revoked at GitHub (`patrol revoke --leaked-token-file`): GitHub's credential
 * revocation API on the simulator, the named entry flagged, the hashes on record, and the value itself
 * nowhere but in the one call to GitHub: not in any output, report, Slack message or byte of the ledger.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Loopback, startLoopback } from "../sim/harness";
import { runCli } from "./cli-run";

const ORG = "leaky";
const CLASSIC = `ghp_${"Ab3dE".repeat(7)}x`; // ghp_ and 36 characters
const FINE = `github_pat_11ABCDEFG0${"q7Rt2".repeat(16)}zz`;
const hashOf = (value: string) => createHash("sha256").update(value).digest("base64");

let loopback: Loopback;
let dataDir: string;

beforeAll(async () => {
  loopback = await startLoopback({ orgs: [ORG] });
  dataDir = await mkdtemp(join(tmpdir(), "patrol-leaked-"));
  const csv = join(dataDir, "ledger.csv");
  await writeFile(csv, "token_name,owner,token_id,approved_by,purpose\ndeploy,amy,7001,ops,deploys\n");
  const imported = await runCli(["ledger", "import", csv, "--org", ORG, "--by", "ops"], env());
  expect(imported.code, imported.stderr).toBe(0);
});
afterAll(async () => {
  await loopback?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function env(): Record<string, string> {
  return { ...loopback.env, PATROL_DATA_DIR: dataDir };
}

/** Every 8-character piece of a value's secret part: none may appear anywhere patrol writes. */
function fragments(value: string): string[] {
  const secret = value.replace(/^(github_pat_|ghp_)/, "");
  return Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8));
}

async function bytesUnder(dir: string): Promise<string> {
  let all = "";
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) all += (await readFile(join(entry.parentPath, entry.name))).toString("latin1");
  }
  return all;
}

describe("patrol revoke --leaked-token-file", () => {
  it("revokes the values at GitHub, flags the named entry, records the hashes, and the values appear nowhere else", async () => {
    const file = join(dataDir, "leaked.txt");
    await writeFile(file, `# found in a CI log\n${CLASSIC}\n\n${FINE}\n`);
    const run = await runCli(
      [
        "revoke",
        "--org",
        ORG,
        "--leaked-token-file",
        file,
        "--token-id",
        "7001",
        "--reason",
        "pasted in #general",
        "--by",
        "jane",
        "--json",
      ],
      env(),
    );
    await rm(file);
    expect(run.code, run.stderr).toBe(0);
    // GitHub got the values, unauthenticated as github.com requires (the simulator refuses otherwise).
    expect(loopback.github.revokedCredentials).toEqual([CLASSIC, FINE]);
    const call = loopback.github.requests.find((r) => r.path === "/credentials/revoke");
    expect(call?.status).toBe(202);

    const report = JSON.parse(run.stdout) as {
      revoked: number;
      hashedTokens: string[];
      flagged: { entryId: string };
    };
    expect(report.revoked).toBe(2);
    expect(report.hashedTokens).toEqual([hashOf(CLASSIC), hashOf(FINE)]);
    expect(report.flagged.entryId).toBeDefined();

    const shown = await runCli(["ledger", "show", "--org", ORG, "--token-id", "7001", "--json"], env());
    const entry = JSON.parse(shown.stdout) as {
      status: string;
      revokedReason: string;
      revokedDetail: string;
      revokedBy: string;
    };
    expect(entry).toMatchObject({ status: "flagged", revokedReason: "leaked", revokedBy: "jane" });
    expect(entry.revokedDetail).toContain(hashOf(CLASSIC));

    const slack = loopback.slack.posts().map((c) => JSON.stringify(c.args));
    expect(slack.some((m) => m.includes(hashOf(FINE)))).toBe(true);

    // Nowhere: the command's output, Slack, and every byte the ledger keeps on disk.
    const ledgerBytes = await bytesUnder(dataDir);
    // The scan reads what the ledger holds: the hashes are there, on disk.
    expect(ledgerBytes).toContain(hashOf(CLASSIC));
    const everything = [run.stdout, run.stderr, shown.stdout, ...slack, ledgerBytes].join("\n");
    for (const value of [CLASSIC, FINE]) {
      for (const piece of fragments(value))
        expect(everything.includes(piece), `a piece of a value: ${piece.slice(0, 2)}…`).toBe(false);
    }
  });

  it("reads the values from stdin with -, and a line that is not a value refuses the whole file by its line number", async () => {
    const before = loopback.github.revokedCredentials.length;
    const bad = await runCli(
      [
        "revoke",
        "--org",
        ORG,
        "--leaked-token-file",
        join(dataDir, "missing.txt"),
        "--reason",
        "x",
        "--by",
        "jane",
      ],
      env(),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--leaked-token-file: cannot read");

    const file = join(dataDir, "mixed.txt");
    await writeFile(file, `${CLASSIC}\nhunter2-not-a-token\n`);
    const mixed = await runCli(
      ["revoke", "--org", ORG, "--leaked-token-file", file, "--reason", "x", "--by", "jane"],
      env(),
    );
    await rm(file);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain("line 2: not a token value GitHub can revoke");
    expect(mixed.stderr).not.toContain("hunter2");
    expect(mixed.stderr).not.toContain(CLASSIC.slice(4, 12));
    expect(loopback.github.revokedCredentials.length).toBe(before);

    const viaStdin = await runCli(
      ["revoke", "--org", ORG, "--leaked-token-file", "-", "--reason", "paste", "--by", "jane"],
      {
        ...env(),
      },
    ).catch(() => null);
    // runCli's io has no stdin: an empty input is refused as holding no value.
    expect(viaStdin?.code).toBe(2);
    expect(viaStdin?.stderr).toContain("stdin: no token value in it");
  });

  it("takes values from a file only: a grant selector alongside is refused", async () => {
    const file = join(dataDir, "one.txt");
    await writeFile(file, `${CLASSIC}\n`);
    const withPat = await runCli(
      ["revoke", "--org", ORG, "--leaked-token-file", file, "--pat-id", "1", "--reason", "x", "--by", "jane"],
      env(),
    );
    expect(withPat.code).toBe(2);
    expect(withPat.stderr).toContain("--leaked-token-file revokes the values it holds");
    await rm(file);
  });
});
