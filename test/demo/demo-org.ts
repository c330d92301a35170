import type { GitHubSim } from "../sim/github-sim";

const DAY = 86_400_000;

/**
 * A small, realistic organization: a dozen tokens, each exercising one of the sweep's rules, and the
 * spreadsheet of approved tokens its platform team kept by hand.
 */
export const DEMO_ORG = "acme-corp";

export function seedDemoOrg(sim: GitHubSim, now: Date): void {
  const at = (days: number) => new Date(now.getTime() + days * DAY).toISOString();
  const org = sim.org(DEMO_ORG);
  const contents = (level: "read" | "write") => ({
    repository: { contents: level, metadata: "read" as const },
  });
  const seeds = [
    // healthy: registered, used yesterday, expires in two months
    { tokenId: 5001, owner: "alice", tokenName: "deploy-bot", exp: 60, used: -1, granted: -30 },
    // expired and not to be renewed → revoked (expired)
    { tokenId: 5002, owner: "bob", tokenName: "ci-release", exp: -3, used: -4, granted: -200, expired: true },
    // retired in the spreadsheet → revoked (not-needed)
    { tokenId: 5003, owner: "carol", tokenName: "old-migration", exp: 90, used: -40, granted: -100 },
    // needed only until last week → revoked (not-needed)
    { tokenId: 5004, owner: "dave", tokenName: "analytics-export", exp: 45, used: -8, granted: -60 },
    // flagged as compromised → revoked (flagged)
    { tokenId: 5005, owner: "erin", tokenName: "leaked-token", exp: 120, used: 0, granted: -20 },
    // expired, renewal expected → alert
    {
      tokenId: 5006,
      owner: "frank",
      tokenName: "docs-sync",
      exp: -2,
      used: -3,
      granted: -180,
      expired: true,
    },
    // not in the spreadsheet → alert (unregistered)
    { tokenId: 5007, owner: "mallory", tokenName: "mystery-token", exp: 200, used: -1, granted: -5 },
    // not used for 120 days → alert (unused)
    { tokenId: 5008, owner: "grace", tokenName: "nightly-backup", exp: 150, used: -120, granted: -300 },
    // never expires → alert (no expiry)
    { tokenId: 5009, owner: "heidi", tokenName: "forever-token", exp: null, used: -2, granted: -90 },
    // can write contents, approved to read → alert (permission drift)
    {
      tokenId: 5010,
      owner: "ivan",
      tokenName: "metrics-reader",
      exp: 80,
      used: -1,
      granted: -10,
      write: true,
    },
    // expires in 5 days → alert (expiring, 7-day threshold)
    { tokenId: 5011, owner: "judy", tokenName: "release-notes", exp: 5, used: -1, granted: -85 },
    // GitHub says "Ken", the spreadsheet "ken" and no token id: matched by name, expiring in 12 days
    { tokenId: 5012, owner: "Ken", tokenName: "terraform-plan", exp: 12, used: -1, granted: -78 },
    // a lifetime of 500 days, above the 366-day maximum → alert (over lifetime)
    { tokenId: 5013, owner: "olivia", tokenName: "long-lived-ci", exp: 480, used: -1, granted: -20 },
  ];
  for (const s of seeds) {
    org.addGrant({
      tokenId: s.tokenId,
      owner: s.owner,
      tokenName: s.tokenName,
      permissions: contents(s.write ? "write" : "read"),
      accessGrantedAt: at(s.granted),
      tokenExpiresAt: s.exp === null ? null : at(s.exp),
      tokenExpired: s.expired ?? false,
      tokenLastUsedAt: at(s.used),
    });
  }
  org.addRequest({
    tokenId: 5101,
    owner: "laura",
    tokenName: "issue-triage",
    reason: "Label and close stale issues in the support repositories",
    createdAt: at(-3),
    tokenExpiresAt: at(90),
    permissions: { repository: { issues: "write", metadata: "read" } },
  });
}

/** The spreadsheet the platform team kept by hand, exported as CSV (note the mixed header case). */
export function demoLedgerCsv(now: Date): string {
  const date = (days: number) => new Date(now.getTime() + days * DAY).toISOString().slice(0, 10);
  const rows = [
    "Token Name,Owner,Purpose,Scope,Permissions,Created_At,Risks,Approved_By,Expires_At,Needed_Until,Renew,Status,Token_Id,Slack,Notes,Owner Email",
    `deploy-bot,alice,Deploys services from CI,"subset: api, web",contents:read,${date(-30)},Deploy keys exposure,ops-sam,${date(60)},,yes,active,5001,U0ALICE,,`,
    `ci-release,bob,Publishes releases,subset: release-tools,contents:read,${date(-200)},Can tag releases,ops-sam,${date(-3)},,no,active,5002,,Replaced by the release GitHub App,`,
    `old-migration,carol,One-off repository migration,subset: legacy,contents:read,${date(-100)},Low,ops-kim,${date(90)},,no,retired,5003,,Migration finished,`,
    `analytics-export,dave,"Quarterly export, Q3 only",subset: analytics,contents:read,${date(-60)},Reads analytics data,ops-kim,${date(45)},${date(-7)},no,active,5004,,,`,
    `leaked-token,erin,Release automation,subset: web,contents:read,${date(-20)},High: pasted in a public gist,ops-sam,${date(120)},,no,flagged,5005,U0ERIN,Compromised: seen in a public gist,`,
    `docs-sync,frank,Syncs docs to the website,subset: docs,contents:read,${date(-180)},Low,ops-kim,${date(-2)},,yes,active,5006,,Renewal in progress,`,
    `nightly-backup,grace,Backs up repositories,all,contents:read,${date(-300)},Reads every repository,ops-sam,${date(150)},,yes,active,5008,,,`,
    `forever-token,heidi,Legacy integration,subset: legacy,contents:read,${date(-90)},No expiry,ops-sam,,,no,active,5009,,,`,
    `metrics-reader,ivan,Reads metrics,subset: metrics,contents:read,${date(-10)},Low,ops-kim,${date(80)},,yes,active,5010,U0IVAN,,`,
    `release-notes,judy,Drafts release notes,subset: web,contents:read,${date(-85)},Low,ops-kim,${date(5)},,no,active,5011,U0JUDY,,`,
    `terraform-plan,ken,Plans infrastructure changes,subset: infra,contents:read,${date(-78)},Reads infrastructure code,ops-sam,${date(12)},,yes,active,,,,ken@example.com`,
    `long-lived-ci,olivia,CI for the mobile app,subset: mobile,contents:read,${date(-20)},Low,ops-kim,${date(480)},,yes,active,5013,,,`,
  ];
  return `${rows.join("\r\n")}\r\n`;
}
