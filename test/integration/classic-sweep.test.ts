/**
 * Classic PATs in the nightly sweep, through the real sweep handler: on a SAML SSO org the simulated GitHub
 * lists credential authorizations; patrol keeps them as entries of their own kind, alerts on what the
 * policy flags, and removes an authorization only where the policy says. On an org without SAML SSO the
 * sweep says once that classic PATs cannot be seen there, and goes on.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { entryIdForClassic } from "../../lambdas/core/ledger/ids";
import { type Stage, stage, startWorld, type World } from "../faults/world";
import { SLACK_CHANNEL } from "../sim/harness";
import { runCli } from "./cli-run";

const ORG = "acme";
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

let world: World;
let s: Stage;

beforeEach(async () => {
  world = await startWorld([ORG]);
});

afterEach(async () => {
  await world?.close();
});

const gh = () => world.loopback.github.org(ORG);
const entry = async (id: string) => (await s.ledger.load(ORG)).find((e) => e.entryId === id);

function seedClassic() {
  gh().samlSso = true;
  const now = Date.now();
  const forever = gh().addCredentialAuthorization({
    login: "olga",
    tokenLastEight: "a1b2c3d4",
    scopes: ["repo", "admin:org"],
    authorizedAt: iso(now - 400 * DAY),
    accessedAt: iso(now - 2 * DAY),
    expiresAt: null,
    note: "old deploy script",
  });
  const idle = gh().addCredentialAuthorization({
    login: "ivan",
    tokenLastEight: "e5f6a7b8",
    scopes: ["read:org"],
    authorizedAt: iso(now - 200 * DAY),
    accessedAt: iso(now - 120 * DAY),
    expiresAt: iso(now + 60 * DAY),
  });
  const fine = gh().addCredentialAuthorization({
    login: "fay",
    tokenLastEight: "c9d0e1f2",
    scopes: ["repo"],
    authorizedAt: iso(now - 10 * DAY),
    accessedAt: iso(now - DAY),
    expiresAt: iso(now + 20 * DAY),
  });
  // Not a PAT: an SSH key's authorization is not patrol's.
  gh().addCredentialAuthorization({ login: "sam", credentialType: "SSH key" });
  return { forever, idle, fine };
}

describe("classic PATs on a SAML SSO org", () => {
  it("are kept as their own kind, alerted in their own section, and removed only where policy says", async () => {
    s = await stage(world, { PATROL_POLICY: JSON.stringify({ revoke: { noExpiry: true } }) });
    const { forever, idle, fine } = seedClassic();
    const night = await s.sweep(ORG);
    expect(night.error).toBeUndefined();
    expect(night.report?.classic).toMatchObject({ visible: true, scanned: 3, held: 0 });
    expect(night.report?.classic?.revoked).toEqual([
      { credentialId: forever.credential_id, login: "olga", lastEight: "a1b2c3d4", reason: "no-expiry" },
    ]);
    expect(gh().removedCredentialIds).toEqual([forever.credential_id]);

    const removed = await entry(entryIdForClassic(forever.credential_id));
    expect(removed).toMatchObject({
      status: "revoked",
      revokedReason: "no-expiry",
      revokedBy: "patrol-sweep",
      owner: "olga",
      tokenName: "old deploy script",
      classic: { credentialId: forever.credential_id, lastEight: "a1b2c3d4", scopes: ["repo", "admin:org"] },
    });
    // The intent was on record before GitHub was asked.
    const actions = (await s.ledger.history(ORG, removed?.entryId ?? "")).map((e) => e.action);
    expect(actions.indexOf("revoking")).toBeLessThan(actions.indexOf("revoked"));
    expect(await entry(entryIdForClassic(idle.credential_id))).toMatchObject({
      status: "unregistered",
      expiresAt: idle.authorized_credential_expires_at,
      classic: { lastAccessedAt: idle.credential_accessed_at },
    });
    expect((await entry(entryIdForClassic(fine.credential_id)))?.status).toBe("unregistered");
    expect((await s.ledger.load(ORG)).filter((e) => e.classic !== null)).toHaveLength(3);

    const digest = JSON.stringify(world.loopback.slack.messages(SLACK_CHANNEL).at(-1)?.blocks);
    expect(digest).toContain("Classic PATs (SAML SSO authorizations)");
    expect(digest).toMatch(/ending e5f6a7b8.*last used/);
    expect(digest).toMatch(/ending a1b2c3d4: revoked \(no-expiry/);
    const kinds = night.report?.alerts.filter((a) => a.kind === "classic").map((a) => a.detail) ?? [];
    expect(kinds.some((d) => d.includes("c9d0e1f2") && d.includes("not in the ledger"))).toBe(true);

    // The next night: nothing said twice (the removal included), nothing removed twice.
    const again = await s.sweep(ORG);
    expect(again.report?.alerts.filter((a) => a.kind === "classic")).toEqual([]);
    expect(again.report?.slack).toMatchObject({ sent: false, skipped: "nothing new" });
    expect(gh().removedCredentialIds).toHaveLength(1);
  });

  it("a dry run says what would be removed, and changes nothing anywhere", async () => {
    s = await stage(world, { PATROL_POLICY: JSON.stringify({ revoke: { noExpiry: true } }) });
    const { forever } = seedClassic();
    const what = await s.sweep(ORG, { now: new Date() });
    expect(what.error).toBeUndefined();
    expect(what.report?.dryRun).toBe(true);
    expect(what.report?.classic).toMatchObject({
      visible: true,
      scanned: 3,
      revoked: [{ credentialId: forever.credential_id, reason: "no-expiry" }],
    });
    expect(gh().removedCredentialIds).toEqual([]);
    expect(await s.ledger.load(ORG)).toEqual([]);
  });

  it("in report mode (the default) nothing is removed: the removal is held and said", async () => {
    s = await stage(world, {
      PATROL_MODE: "report",
      PATROL_POLICY: JSON.stringify({ revoke: { noExpiry: true } }),
    });
    const { forever } = seedClassic();
    const night = await s.sweep(ORG);
    expect(night.report?.classic).toMatchObject({ visible: true, revoked: [], held: 1 });
    expect(gh().removedCredentialIds).toEqual([]);
    expect((await entry(entryIdForClassic(forever.credential_id)))?.status).toBe("unregistered");
    expect(
      night.report?.alerts.some((a) => /a1b2c3d4: would be revoked .*held by report mode/.test(a.detail)),
    ).toBe(true);
  });

  it("a flagged classic PAT is removed whatever the policy, and one no longer listed is gone", async () => {
    s = await stage(world);
    const { idle, fine } = seedClassic();
    await s.sweep(ORG);
    const idleEntry = await entry(entryIdForClassic(idle.credential_id));
    if (!idleEntry) throw new Error("seed");
    await s.ledger.write([
      {
        entry: { ...idleEntry, status: "flagged", version: idleEntry.version + 1 },
        expectedVersion: idleEntry.version,
        events: [],
      },
    ]);
    // fay's authorization is removed by an org owner, outside patrol: it is no longer listed.
    await s.deps.github.removeClassicCredential(ORG, fine.credential_id);
    const night = await s.sweep(ORG);
    expect(night.error).toBeUndefined();
    expect(gh().removedCredentialIds).toEqual([fine.credential_id, idle.credential_id]);
    expect(await entry(entryIdForClassic(idle.credential_id))).toMatchObject({
      status: "flagged",
      revokedReason: "flagged",
    });
    expect((await entry(entryIdForClassic(fine.credential_id)))?.status).toBe("gone");
  });

  it("one approved with `patrol ledger update` is registered, and stays so through the next sweep", async () => {
    s = await stage(world);
    const { fine } = seedClassic();
    await s.sweep(ORG);
    const run = await runCli(
      [
        "ledger",
        "update",
        "--org",
        ORG,
        "--entry",
        entryIdForClassic(fine.credential_id),
        "--purpose",
        "terraform state reads",
        "--approved-by",
        "lee",
        "--by",
        "lee",
        "--reason",
        "reviewed",
      ],
      { ...world.env, PATROL_TABLE: s.table },
    );
    expect(run.stderr).toBe("");
    expect(await entry(entryIdForClassic(fine.credential_id))).toMatchObject({
      status: "active",
      approvedBy: "lee",
    });
    const next = await s.sweep(ORG);
    expect(next.error).toBeUndefined();
    expect(await entry(entryIdForClassic(fine.credential_id))).toMatchObject({
      status: "active",
      purpose: "terraform state reads",
      classic: { credentialId: fine.credential_id },
    });
  });
});

describe("classic PATs on an org without SAML SSO", () => {
  it("the sweep says once that they cannot be seen, and goes on", async () => {
    s = await stage(world);
    gh().addGrant({
      tokenId: 101,
      owner: "amy",
      tokenName: "deploy",
      tokenExpiresAt: iso(Date.now() + 90 * DAY),
    });
    const night = await s.sweep(ORG);
    expect(night.error).toBeUndefined();
    expect(night.report?.errors).toEqual([]);
    expect(night.report?.classic).toEqual({
      visible: false,
      note: expect.stringMatching(/no SAML SSO.*no classic PATs/),
    });
    expect(night.report?.scanned).toBe(1);
  });
});
