/**
 * Owners told directly: the nightly sweep, through the real Lambda handler and the Slack simulator, sends
 * each expiry warning to the token's owner as a DM (conversations.open + chat.postMessage), finding their
 * Slack id by email once (users.lookupByEmail) and keeping it; each DM is remembered per threshold, apart
 * from the channel's digest.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ownerNoticeKey } from "../../lambdas/core/sweep";
import { type Stage, stage, startWorld, type World } from "../faults/world";
import { SLACK_CHANNEL } from "../sim/harness";

const ORG = "acme";
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

let world: World;
let s: Stage;

beforeEach(async () => {
  world = await startWorld([ORG]);
  world.loopback.slack.addUser({ id: "U0AMY", name: "amy" });
  world.loopback.slack.addUser({ id: "U0BOB", name: "bob", email: "bob@example.com" });
  s = await stage(world);
  const now = Date.now();
  const expires = iso(now + 5 * DAY);
  await s.importCsv(
    ORG,
    [
      "token_name,owner,approved_by,purpose,risks,token_id,created_at,expires_at,permissions,slack,email",
      `deploy,amy,lee,ship releases,writes,101,${iso(now - 85 * DAY)},${expires},contents:write,U0AMY,`,
      `reports,bob,lee,weekly reports,reads,102,${iso(now - 85 * DAY)},${expires},contents:read,,Bob@Example.com`,
      `backup,cy,lee,backups,reads,103,${iso(now - 85 * DAY)},${expires},contents:read,,cy@example.com`,
      `nightly,dee,lee,nightly build,reads,104,${iso(now - 85 * DAY)},${expires},contents:read,,`,
    ].join("\n"),
  );
  const gh = world.loopback.github.org(ORG);
  for (const [tokenId, owner, tokenName] of [
    [101, "amy", "deploy"],
    [102, "bob", "reports"],
    [103, "cy", "backup"],
    [104, "dee", "nightly"],
  ] as const) {
    gh.addGrant({
      tokenId,
      owner,
      tokenName,
      tokenExpiresAt: expires,
      permissions: { repository: { contents: "read" } },
    });
  }
});

afterEach(async () => {
  await world?.close();
});

const entry = async (entryId: string) => (await s.ledger.load(ORG)).find((e) => e.entryId === entryId);
const calls = (method: string) => world.loopback.slack.calls.filter((c) => c.method === method);

describe("expiry warnings told to the owner", () => {
  it("a DM to each owner Slack can name, the id found by email kept, once per threshold", async () => {
    const night = await s.sweep(ORG);
    expect(night.error).toBeUndefined();
    expect(night.report?.slack).toMatchObject({ sent: true, ownersTold: 2 });

    const [toAmy] = world.loopback.slack.dmsTo("U0AMY");
    expect(toAmy?.text).toContain("your token deploy");
    const amyBody = JSON.stringify(toAmy?.blocks);
    expect(amyBody).toContain("expires in 5 days");
    expect(amyBody).toContain(
      "/settings/personal-access-tokens/new?name=deploy&target_name=acme&expires_in=90",
    );
    expect(amyBody).toContain("contents=write");
    // Bob's id came from his email (any case), and is kept: the digest mentions him from now on.
    expect(world.loopback.slack.dmsTo("U0BOB")).toHaveLength(1);
    expect((await entry("token-102"))?.slack).toBe("U0BOB");
    const bobHistory = await s.ledger.history(ORG, "token-102");
    expect(bobHistory.at(-1)?.action).toBe("owner-told");
    expect(bobHistory.some((e) => e.action === "slack-found" && e.actor === "patrol-sweep")).toBe(true);
    // Cy is not in Slack: remembered with why, and the channel still has the warning.
    const cy = await entry("token-103");
    expect(Object.keys(cy?.alertsSent ?? {}).some((k) => k.startsWith("dm:expiring:"))).toBe(true);
    expect((await s.ledger.history(ORG, "token-103")).at(-1)?.reason).toContain(
      "no Slack user has the owner's email",
    );
    // Dee gave no way to reach her: the channel only.
    expect(Object.keys((await entry("token-104"))?.alertsSent ?? {}).some((k) => k.startsWith("dm:"))).toBe(
      false,
    );
    const digest = world.loopback.slack.messages(SLACK_CHANNEL).at(-1);
    for (const name of ["deploy", "reports", "backup", "nightly"])
      expect(JSON.stringify(digest?.blocks)).toContain(name);
    expect(calls("users.lookupByEmail")).toHaveLength(2);

    // The next night: nothing new to say, to anyone, and nobody looked up again.
    const dmsBefore = calls("chat.postMessage").length;
    const again = await s.sweep(ORG);
    expect(again.report?.slack.ownersTold).toBeUndefined();
    expect(calls("chat.postMessage")).toHaveLength(dmsBefore);
    expect(calls("users.lookupByEmail")).toHaveLength(2);
  });

  it("a DM that fails is reported and sent the next night; the digest is not sent twice", async () => {
    world.loopback.slack.failNext(1, { error: "internal_error", method: "conversations.open" });
    // The run fails loudly, as any failed Slack call does, with what happened and what comes next.
    const night = await s.sweep(ORG);
    expect(night.error?.message).toMatch(
      /1 error\(s\): slack: telling amy of deploy by DM failed: .*internal_error; the next sweep tries again/,
    );
    expect(calls("chat.postMessage").filter((c) => c.ok).length).toBeGreaterThan(0);
    const toldFirst = world.loopback.slack.dmsTo("U0AMY").length + world.loopback.slack.dmsTo("U0BOB").length;
    expect(toldFirst).toBe(1);
    const digests = world.loopback.slack.messages(SLACK_CHANNEL).length;

    const next = await s.sweep(ORG);
    expect(next.error).toBeUndefined();
    expect(next.report?.slack.ownersTold).toBe(1);
    expect(world.loopback.slack.dmsTo("U0AMY")).toHaveLength(1);
    expect(world.loopback.slack.dmsTo("U0BOB")).toHaveLength(1);
    expect(world.loopback.slack.messages(SLACK_CHANNEL)).toHaveLength(digests);
  });

  it("a digest that fails does not stop the DMs, and its retry the next night does not send them again", async () => {
    world.loopback.slack.failNext(1, { error: "channel_not_found", method: "chat.postMessage" });
    const night = await s.sweep(ORG);
    expect(night.error?.message).toContain("channel_not_found");
    expect(world.loopback.slack.messages(SLACK_CHANNEL)).toEqual([]);
    expect(world.loopback.slack.dmsTo("U0AMY")).toHaveLength(1);
    expect(world.loopback.slack.dmsTo("U0BOB")).toHaveLength(1);
    const amy = await entry("token-101");
    const keys = Object.keys(amy?.alertsSent ?? {});
    expect(keys.filter((k) => k.startsWith("dm:"))).toHaveLength(1);
    expect(keys.filter((k) => !k.startsWith("dm:"))).toHaveLength(0);

    const next = await s.sweep(ORG);
    expect(next.report?.slack.sent).toBe(true);
    expect(next.report?.slack.ownersTold).toBeUndefined();
    expect(world.loopback.slack.dmsTo("U0AMY")).toHaveLength(1);
    const remembered = Object.keys((await entry("token-101"))?.alertsSent ?? {});
    expect(remembered).toContain(ownerNoticeKey(remembered.find((k) => !k.startsWith("dm:")) ?? ""));
  });
});
