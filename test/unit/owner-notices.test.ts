import { describe, expect, it } from "vitest";
import { ownerNotice } from "../../lambdas/core/digest";
import { renewalUrl } from "../../lambdas/core/slack-console";
import { markAlertsDelivered, type OwnerTold, ownerNoticeKey } from "../../lambdas/core/sweep";
import type { LedgerEntry } from "../../lambdas/core/types";
import { applyWrites, context, DAY_MS, days, entry, grant, NOW, plan, request } from "./fixtures";

/** A registered token of alice expiring `daysLeft` days from `now`, reachable as the entry says. */
function expiring(daysLeft: number, reach: { slack?: string; email?: string } = { slack: "U0ALICE" }) {
  const expiresAt = days(daysLeft);
  return {
    grant: grant({ tokenExpiresAt: expiresAt }),
    entry: entry({ expiresAt, slack: "", email: "", ...reach }),
  };
}

describe("owner notices: expiry warnings told to the owner, once per threshold", () => {
  it("an expiring token whose owner has a Slack id is a notice, apart from the digest's alert", () => {
    const { grant: g, entry: e } = expiring(5);
    const result = plan({ grants: [g], ledger: [e] });
    expect(result.alerts.map((a) => a.kind)).toEqual(["expiring"]);
    expect(result.ownerNotices).toHaveLength(1);
    expect(result.ownerNotices[0]).toMatchObject({ kind: "expiring", daysLeft: 5, entryId: "token-101" });
  });

  it("an owner with only an email is a notice too (their id is looked up); one with neither is not", () => {
    const byEmail = expiring(5, { email: "alice@example.com" });
    expect(plan({ grants: [byEmail.grant], ledger: [byEmail.entry] }).ownerNotices).toHaveLength(1);
    const unreachable = expiring(5, {});
    const result = plan({ grants: [unreachable.grant], ledger: [unreachable.entry] });
    expect(result.alerts).toHaveLength(1);
    expect(result.ownerNotices).toEqual([]);
  });

  it("the digest having said it does not stop the DM, nor the DM the digest: each is remembered on its own", () => {
    const { grant: g, entry: e } = expiring(5);
    const key = plan({ grants: [g], ledger: [e] }).alerts[0]?.key ?? "";
    const digestSent = plan({ grants: [g], ledger: [{ ...e, alertsSent: { [key]: days(-1) } }] });
    expect(digestSent.alerts).toEqual([]);
    expect(digestSent.ownerNotices).toHaveLength(1);
    const dmSent = plan({ grants: [g], ledger: [{ ...e, alertsSent: { [ownerNoticeKey(key)]: days(-1) } }] });
    expect(dmSent.alerts).toHaveLength(1);
    expect(dmSent.ownerNotices).toEqual([]);
  });

  it("told at 14 days, the owner is told again at 7 and not again the same night", () => {
    const expiresAt = new Date(NOW.getTime() + 20 * DAY_MS).toISOString();
    const g = grant({ tokenExpiresAt: expiresAt });
    let ledger = [entry({ expiresAt, slack: "U0ALICE" })];
    const nights = [10, 10, 5, 5].map((left) => new Date(Date.parse(expiresAt) - left * DAY_MS));
    const told: string[][] = [];
    for (const now of nights) {
      const result = plan({ grants: [g], ledger, now });
      told.push(result.ownerNotices.map((n) => n.key));
      const writes = markOwnersTold(
        result.entries,
        result.ownerNotices.map((n) => ({ ...n, outcome: "sent" as const })),
        context(now),
      );
      ledger = applyWrites(result.entries, writes);
    }
    expect(told).toEqual([[`expiring:${expiresAt}:14`], [], [`expiring:${expiresAt}:7`], []]);
  });

  it("an expired token awaiting renewal is a notice; other alerts (unregistered, requests) are not", () => {
    const expiresAt = days(-1);
    const renewing = plan({
      grants: [grant({ tokenExpiresAt: expiresAt, tokenExpired: true })],
      ledger: [entry({ expiresAt, renew: true, slack: "U0ALICE" })],
    });
    expect(renewing.ownerNotices.map((n) => n.kind)).toEqual(["expired-awaiting-renewal"]);
    const other = plan({
      grants: [grant({ tokenId: 999, patId: 9 })],
      requests: [request({ createdAt: days(-3) })],
    });
    expect(other.alerts.length).toBeGreaterThan(0);
    expect(other.ownerNotices).toEqual([]);
  });
});

/** Owners told, remembered by the sweep's one remembering step (with no digest alerts). */
const markOwnersTold = (entries: LedgerEntry[], told: OwnerTold[], ctx: ReturnType<typeof context>) =>
  markAlertsDelivered(entries, [], ctx, told);

describe("markAlertsDelivered: owners told", () => {
  const notice = {
    entryId: "token-101",
    key: "expiring:x:7",
    kind: "expiring" as const,
    detail: "expires soon",
  };

  it("keeps a Slack id found by email, and remembers the notice, in one write with its reasons", () => {
    const e = entry({ slack: "", email: "alice@example.com" });
    const writes = markOwnersTold([e], [{ ...notice, outcome: "sent", found: "U0ALICE" }], context());
    expect(writes).toHaveLength(1);
    expect(writes[0]?.entry.slack).toBe("U0ALICE");
    expect(writes[0]?.entry.alertsSent[ownerNoticeKey(notice.key)]).toBe(NOW.toISOString());
    expect(writes[0]?.events.map((ev) => ev.action)).toEqual(["slack-found", "owner-told"]);
    expect(writes[0]?.events.every((ev) => ev.actor === "patrol-sweep")).toBe(true);
  });

  it("an owner not in Slack is remembered for that notice, with why, so they are not looked up nightly", () => {
    const e = entry({ slack: "", email: "gone@example.com" });
    const [write] = markOwnersTold([e], [{ ...notice, outcome: "no-slack-user" }], context());
    expect(write?.entry.slack).toBe("");
    expect(write?.events[0]?.reason).toContain("no Slack user has the owner's email (gone@example.com)");
  });

  it("a Slack id the entry has meanwhile (an operator set it) is not replaced by one found by email", () => {
    const e = entry({ slack: "U0SETBYHAND", email: "alice@example.com" });
    const [write] = markOwnersTold([e], [{ ...notice, outcome: "sent", found: "U0OTHER" }], context());
    expect(write?.entry.slack).toBe("U0SETBYHAND");
  });

  it("a digest alert and its owner's DM of the same entry are one write", () => {
    const e = entry();
    const writes = markAlertsDelivered(
      [e],
      [{ entryId: notice.entryId, key: notice.key, kind: "expiring", detail: notice.detail }],
      context(),
      [{ ...notice, outcome: "sent" }],
    );
    expect(writes).toHaveLength(1);
    expect(Object.keys(writes[0]?.entry.alertsSent ?? {}).sort()).toEqual([
      ownerNoticeKey(notice.key),
      notice.key,
    ]);
    expect(writes[0]?.events.map((ev) => ev.action)).toEqual(["alerted", "owner-told"]);
  });

  it("a notice remembered already changes nothing", () => {
    const e = entry({ alertsSent: { [ownerNoticeKey(notice.key)]: days(-1) } });
    expect(markOwnersTold([e], [{ ...notice, outcome: "sent" }], context())).toEqual([]);
  });
});

describe("ownerNotice: the DM", () => {
  const alert = {
    kind: "expiring" as const,
    key: "expiring:x:7",
    entryId: "token-101",
    tokenId: 101,
    tokenName: "deploy <bot>",
    owner: "alice",
    slack: "U0ALICE",
    detail: "expires 2026-06-20",
    daysLeft: 5,
  };
  const links = {
    renew: renewalUrl("https://github.com", { ...entry(), org: "acme" }),
    tokens: "https://github.com/settings/personal-access-tokens",
  };

  it("says what runs out and when, links the renewal template and escapes the token's name", () => {
    const message = ownerNotice(alert, "acme", links);
    const body = JSON.stringify(message.blocks);
    expect(message.text).toContain("deploy <bot>");
    expect(body).toContain("deploy &lt;bot&gt;");
    expect(body).toContain("expires in 5 days");
    expect(body).toContain("/settings/personal-access-tokens/new?name=deploy-bot&target_name=acme");
    expect(body).toContain("patrol revokes it once it expires");
    expect(JSON.stringify(message)).not.toContain("actions");
  });

  it("an expired token awaiting renewal asks for the replacement", () => {
    const message = ownerNotice(
      {
        ...alert,
        kind: "expired-awaiting-renewal",
        detail: "expired 2026-06-14; renewal expected",
        daysLeft: undefined,
      },
      "acme",
      links,
    );
    expect(message.text).toContain("has expired");
    expect(JSON.stringify(message.blocks)).toContain("it is being renewed");
  });
});
