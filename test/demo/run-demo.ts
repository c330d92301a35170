import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLoopback } from "../sim/harness";
import { DEMO_ORG, demoLedgerCsv, seedDemoOrg } from "./demo-org";
import { renderSlackMessage } from "./slack-render";

/**
 * `npm run demo`: a simulated GitHub org and Slack on 127.0.0.1, the team's spreadsheet imported into a
 * fresh embedded ledger, then the real `patrol` CLI sweeps the org, as an operator would run it.
 */
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function patrol(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/patrol.mjs", ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout }));
  });
}

async function main(): Promise<void> {
  const now = new Date();
  const dir = await mkdtemp(join(tmpdir(), "patrol-demo-"));
  const loopback = await startLoopback({ orgs: [DEMO_ORG] });
  try {
    seedDemoOrg(loopback.github, now);
    // The workspace: the security lead who acts from the digest, and two owners the sweep tells directly.
    loopback.slack.addUser({ id: "U0SAM", name: "sam" });
    loopback.slack.addUser({ id: "U0JUDY", name: "judy" });
    loopback.slack.addUser({ id: "U0KEN", name: "ken", email: "ken@example.com" });
    // report is the default mode everywhere; the demo asks for enforce, as a deployment must, and shows it.
    const env = { ...loopback.env, PATROL_MODE: "enforce", PATROL_DATA_DIR: join(dir, ".patrol") };
    const csv = join(dir, "approved-tokens.csv");
    await writeFile(csv, demoLedgerCsv(now));

    console.log(bold(`\n$ patrol ledger import approved-tokens.csv --org ${DEMO_ORG}`));
    const imported = await patrol(["ledger", "import", csv, "--org", DEMO_ORG, "--by", "ops-sam"], env);
    process.stdout.write(imported.stdout);
    if (imported.code !== 0) throw new Error(`ledger import exited ${imported.code}`);

    console.log(
      bold(`\n$ PATROL_MODE=enforce patrol sweep --org ${DEMO_ORG}   # report (alerts only) is the default`),
    );
    const sweep = await patrol(["sweep", "--org", DEMO_ORG], env);
    process.stdout.write(sweep.stdout);
    console.log(`(exit code ${sweep.code})`);

    const channel = loopback.env.SLACK_CHANNEL;
    const inChannel = loopback.slack.posts().filter((p) => p.args.channel === channel);
    console.log(bold(`\nSlack · #patrol (${inChannel.length} message${inChannel.length === 1 ? "" : "s"})`));
    for (const post of inChannel) console.log(renderSlackMessage(post.args.blocks));
    for (const [id, name] of [
      ["U0JUDY", "judy"],
      ["U0KEN", "ken (found by the ledger's email)"],
    ] as const) {
      console.log(bold(`\nSlack · DM to @${name}`));
      for (const dm of loopback.slack.dmsTo(id)) console.log(renderSlackMessage(dm.blocks));
    }

    console.log(bold(`\nSlack · @sam presses [Renewing] on release-notes`));
    // The Lambdas' structured logs are for CloudWatch, not for this terminal.
    process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";
    const { clickInDigest } = await import("./click");
    const clicked = await clickInDigest(loopback, env, {
      label: "Renewing",
      tokenName: "release-notes",
      user: { id: "U0SAM", name: "sam" },
      org: DEMO_ORG,
    });
    console.log(
      `  the endpoint answered ${clicked.status} in ${Math.round(clicked.ms)} ms; the worker did the rest:`,
    );
    for (const reply of clicked.replies) console.log(`  only @sam sees: ${reply}`);
    const item = clicked.message.findIndex((b) => JSON.stringify(b).includes("*release-notes*"));
    console.log(renderSlackMessage(clicked.message.slice(item, item + 2)));
    const last = clicked.events.at(-1);
    console.log(
      `  ledger: ${JSON.stringify({ tokenName: clicked.entry?.tokenName, renew: clicked.entry?.renew, actor: last?.actor, action: last?.action, reason: last?.reason })}`,
    );

    console.log(
      bold(
        `\n$ PATROL_MODE=enforce patrol sweep --org ${DEMO_ORG} --json | jq '{revoked: (.revoked | length), alerts: (.alerts | length), slack: .slack.sent}'   # the same night, again`,
      ),
    );
    const again = await patrol(["sweep", "--org", DEMO_ORG, "--json"], env);
    const second = JSON.parse(again.stdout) as {
      revoked: unknown[];
      alerts: unknown[];
      slack: { sent: boolean };
    };
    console.log(
      JSON.stringify(
        { revoked: second.revoked.length, alerts: second.alerts.length, slack: second.slack.sent },
        null,
        2,
      ),
    );
    console.log("(nothing twice: no revocation, no alert, no Slack message)");

    console.log(
      bold(`\n$ patrol revoke --org ${DEMO_ORG} --owner mallory --reason "laptop stolen" --by jane@security`),
    );
    const posted = loopback.slack.posts().length;
    const revoke = await patrol(
      [
        "revoke",
        "--org",
        DEMO_ORG,
        "--owner",
        "mallory",
        "--reason",
        "laptop stolen",
        "--by",
        "jane@security",
      ],
      env,
    );
    process.stdout.write(revoke.stdout);
    for (const post of loopback.slack.posts().slice(posted))
      console.log(renderSlackMessage(post.args.blocks));

    console.log(
      bold(
        `\n$ patrol ledger export --org ${DEMO_ORG} --format json | jq -c '.[] | select(.revokedAt) | {owner, tokenName, status, revokedReason, revokedBy}'`,
      ),
    );
    const exported = await patrol(["ledger", "export", "--org", DEMO_ORG, "--format", "json"], env);
    const entries = JSON.parse(exported.stdout) as Record<string, unknown>[];
    for (const { owner, tokenName, status, revokedReason, revokedBy } of entries.filter((x) => x.revokedAt)) {
      console.log(JSON.stringify({ owner, tokenName, status, revokedReason, revokedBy }));
    }
    const keep = process.env.PATROL_DEMO_KEEP === "1";
    console.log(
      `\nThe GitHub org and Slack were simulated on 127.0.0.1. The demo's ledger ${keep ? `is kept in ${join(dir, ".patrol")}` : "was removed (PATROL_DEMO_KEEP=1 keeps it)"}.`,
    );
  } finally {
    await loopback.close();
    if (process.env.PATROL_DEMO_KEEP !== "1") await rm(dir, { recursive: true, force: true });
  }
}

await main();
