/**
 * The Slack simulator itself: the Web API methods through `@slack/web-api`'s real `WebClient`, and interactions
 * (block_actions / view_submission) sent the way Slack sends them to an app behind a simulated Lambda Function URL,
 * whose handler here checks Slack's signature itself.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KnownBlock, View } from "@slack/types";
import { ErrorCode, LogLevel, WebClient } from "@slack/web-api";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FunctionUrl, startFunctionUrl } from "../sim/function-url";
import {
  type BlockActionsPayload,
  RESPONSE_URL_MAX_USES,
  SIM_APP_ID,
  SIM_TEAM_ID,
  type SlackSim,
  startSlackSim,
  type ViewSubmissionPayload,
} from "../sim/slack-sim";

const TOKEN = "xoxb-test-token";
const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const ALICE = { id: "U0ALICE", name: "alice" };
const CHANNEL = "C0PATROL";

let sim: SlackSim;
/** Shifts the sim's clock (trigger_id and response_url expiry). */
let skew = 0;

beforeEach(async () => {
  skew = 0;
  sim = await startSlackSim({ validTokens: [TOKEN], clock: () => Date.now() + skew });
});
afterEach(async () => {
  await sim.close();
});

const web = (extra: Record<string, unknown> = {}) =>
  new WebClient(TOKEN, {
    slackApiUrl: sim.url,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
    ...extra,
  });

// ---- An app behind a Function URL that verifies Slack's signature itself ----

interface Received {
  event: APIGatewayProxyEventV2;
  rawBody: string;
  verified: boolean;
  payload?: Record<string, unknown>;
}

function verifySlackSignature(headers: Record<string, string | undefined>, rawBody: string): boolean {
  const timestamp = headers["x-slack-request-timestamp"];
  const signature = headers["x-slack-signature"];
  if (!timestamp || !signature) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false; // replay window
  const expected = Buffer.from(
    `v0=${createHmac("sha256", SIGNING_SECRET).update(`v0:${timestamp}:${rawBody}`).digest("hex")}`,
  );
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

let app: FunctionUrl;
let received: Received[] = [];
let reply: (payload: Record<string, unknown>) => Promise<APIGatewayProxyResultV2>;

beforeAll(async () => {
  app = await startFunctionUrl(async (event) => {
    const body = event.body ?? "";
    const rawBody = event.isBase64Encoded ? Buffer.from(body, "base64").toString("utf8") : body;
    const entry: Received = { event, rawBody, verified: verifySlackSignature(event.headers, rawBody) };
    received.push(entry);
    if (!entry.verified) return { statusCode: 401, body: "invalid signature" };
    entry.payload = JSON.parse(new URLSearchParams(rawBody).get("payload") ?? "{}") as Record<
      string,
      unknown
    >;
    return reply(entry.payload);
  });
});
afterAll(async () => {
  await app.close();
});
beforeEach(() => {
  received = [];
  reply = async () => ({ statusCode: 200, body: "" });
});

const lastReceived = (): Received => {
  const last = received.at(-1);
  if (!last) throw new Error("the app received nothing");
  return last;
};

const alertBlocks = (tokenId: string): KnownBlock[] => [
  {
    type: "section",
    block_id: `summary-${tokenId}`,
    text: { type: "mrkdwn", text: `*${tokenId}* has admin scope` },
    accessory: { type: "button", action_id: "details", text: { type: "plain_text", text: "Details" } },
  },
  {
    type: "actions",
    block_id: `actions-${tokenId}`,
    elements: [
      {
        type: "button",
        action_id: "revoke",
        value: tokenId,
        style: "danger",
        text: { type: "plain_text", text: "Revoke now" },
      },
      { type: "button", action_id: "keep", value: tokenId, text: { type: "plain_text", text: "Keep" } },
    ],
  },
];

async function postAlert(tokenId: string, channel = CHANNEL): Promise<string> {
  const res = await web().chat.postMessage({
    channel,
    text: `alert ${tokenId}`,
    blocks: alertBlocks(tokenId),
  });
  return res.ts as string;
}

const click = (extra: Partial<Parameters<SlackSim["click"]>[0]> = {}) =>
  sim.click({ url: app.url, signingSecret: SIGNING_SECRET, label: "Revoke now", user: ALICE, ...extra });

describe("Web API additions", () => {
  it("chat.update replaces the message in place, keeping omitted blocks and the earlier version", async () => {
    const ts = await postAlert("tok-1");
    const res = await web().chat.update({ channel: CHANNEL, ts, text: "revoked tok-1" });
    expect(res).toMatchObject({ ok: true, channel: CHANNEL, ts, text: "revoked tok-1" });
    expect(res.message?.blocks).toEqual(alertBlocks("tok-1"));

    const done: KnownBlock[] = [{ type: "section", text: { type: "mrkdwn", text: "Revoked" } }];
    await web().chat.update({ channel: CHANNEL, ts, text: "revoked", blocks: done });
    const history = await web().conversations.history({ channel: CHANNEL });
    expect(history.messages).toHaveLength(1);
    expect(history.messages?.[0]).toMatchObject({ ts, text: "revoked", blocks: done });
    expect(sim.updates.map((u) => [u.via, u.before.text, u.after.text])).toEqual([
      ["chat.update", "alert tok-1", "revoked tok-1"],
      ["chat.update", "revoked tok-1", "revoked"],
    ]);
    expect(sim.updates[0]?.before.blocks).toEqual(alertBlocks("tok-1"));

    await expect(web().chat.update({ channel: CHANNEL, ts: "1.000001", text: "x" })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: "message_not_found" },
    });
  });

  it("chat.postEphemeral records a message for one user only", async () => {
    const res = await web().chat.postEphemeral({ channel: CHANNEL, user: ALICE.id, text: "only you" });
    expect(res.ok).toBe(true);
    expect(res.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(sim.ephemerals).toEqual([
      expect.objectContaining({ channel: CHANNEL, user: ALICE.id, text: "only you", ts: res.message_ts }),
    ]);
    expect(sim.messages(CHANNEL)).toHaveLength(0);
    await expect(web().apiCall("chat.postEphemeral", { channel: CHANNEL, text: "x" })).rejects.toMatchObject({
      data: { error: "user_not_in_channel" },
    });
  });

  it("conversations.open answers the same DM for the same user, and the DM takes posts", async () => {
    const first = await web().conversations.open({ users: "U1" });
    const again = await web().conversations.open({ users: "U1" });
    const other = await web().conversations.open({ users: "U2" });
    expect(first.channel?.id).toMatch(/^D/);
    expect(again.channel?.id).toBe(first.channel?.id);
    expect(other.channel?.id).not.toBe(first.channel?.id);
    const dm = first.channel?.id as string;
    await web().chat.postMessage({ channel: dm, text: "your token expires" });
    const history = await web().conversations.history({ channel: dm });
    expect(history.messages?.map((m) => m.text)).toEqual(["your token expires"]);
  });

  it("users.lookupByEmail, users.info and usergroups.users.list read the configured directory", async () => {
    sim.addUser({ id: "U0BOB", name: "bob", email: "bob@example.com", realName: "Bob Builder" });
    sim.addUserGroup("S0ADMINS", ["U0BOB", ALICE.id]);

    const found = await web().users.lookupByEmail({ email: "bob@example.com" });
    expect(found.user).toMatchObject({
      id: "U0BOB",
      name: "bob",
      real_name: "Bob Builder",
      profile: { email: "bob@example.com" },
    });
    await expect(web().users.lookupByEmail({ email: "nobody@example.com" })).rejects.toMatchObject({
      data: { error: "users_not_found" },
    });

    expect((await web().users.info({ user: "U0BOB" })).user?.name).toBe("bob");
    await expect(web().users.info({ user: "U0NOBODY" })).rejects.toMatchObject({
      data: { error: "user_not_found" },
    });

    expect((await web().usergroups.users.list({ usergroup: "S0ADMINS" })).users).toEqual(["U0BOB", ALICE.id]);
    await expect(web().usergroups.users.list({ usergroup: "S0NONE" })).rejects.toMatchObject({
      data: { error: "no_such_subteam" },
    });
  });

  it("the new methods check the token like the others", async () => {
    const wrong = new WebClient("xoxb-wrong", { slackApiUrl: sim.url, retryConfig: { retries: 0 } });
    await expect(wrong.conversations.open({ users: "U1" })).rejects.toMatchObject({
      data: { error: "invalid_auth" },
    });
    expect(sim.calls.at(-1)).toMatchObject({
      method: "conversations.open",
      ok: false,
      error: "invalid_auth",
    });
  });

  it("filesUploadV2 works end to end: upload URL, bytes, completion, share in the thread", async () => {
    const thread = await postAlert("tok-9");
    const csv = Buffer.from("token,owner\ntok-9,alice\n\u00e9\n", "utf8");
    const res = await web().filesUploadV2({
      channel_id: CHANNEL,
      thread_ts: thread,
      filename: "report.csv",
      file: csv,
      title: "Weekly report",
      initial_comment: "Here is the report",
    });
    expect(res.ok).toBe(true);
    expect(sim.files).toHaveLength(1);
    const file = sim.files[0];
    expect(file).toMatchObject({
      filename: "report.csv",
      title: "Weekly report",
      channel: CHANNEL,
      threadTs: thread,
      initialComment: "Here is the report",
      content: csv.toString("utf8"),
      declaredLength: csv.length,
    });
    expect(file?.bytes.equals(csv)).toBe(true);
    expect(file?.id).toMatch(/^F/);
    // The upload went through the upload URL as multipart, which is not a Web API call.
    expect(sim.uploads.map((u) => u.contentType.split(";")[0])).toEqual(["multipart/form-data"]);
    expect(sim.calls.map((c) => c.method)).toEqual([
      "chat.postMessage",
      "files.getUploadURLExternal",
      "files.completeUploadExternal",
    ]);
    // The share is a message in the thread.
    expect(sim.messages(CHANNEL).at(-1)).toMatchObject({ thread_ts: thread, text: "Here is the report" });
  });

  it("filesUploadV2 also takes string content and a file path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "slack-sim-"));
    try {
      const path = join(dir, "notes.txt");
      writeFileSync(path, "from disk");
      await web().filesUploadV2({ channel_id: CHANNEL, filename: "inline.txt", content: "inline text" });
      await web().filesUploadV2({ channel_id: CHANNEL, filename: "notes.txt", file: path });
      expect(sim.files.map((f) => [f.filename, f.title, f.content])).toEqual([
        ["inline.txt", "inline.txt", "inline text"],
        ["notes.txt", "notes.txt", "from disk"],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("files.completeUploadExternal refuses a file whose bytes never arrived", async () => {
    const url = await web().files.getUploadURLExternal({ filename: "a.txt", length: 3 });
    expect(url.upload_url).toMatch(new RegExp(`^${sim.url.replace("/api/", "")}/upload/`));
    await expect(
      web().files.completeUploadExternal({ files: [{ id: url.file_id as string, title: "a" }] }),
    ).rejects.toMatchObject({ data: { error: "file_not_found" } });
    expect(sim.files).toHaveLength(0);
  });

  it("delayNext answers the next call of that method late, after having done its effect", async () => {
    sim.delayNext("chat.postMessage", 300);
    const fast = performance.now();
    await web().auth.test();
    const authMs = performance.now() - fast;

    const slow = performance.now();
    await web().chat.postMessage({ channel: CHANNEL, text: "late" });
    expect(performance.now() - slow).toBeGreaterThanOrEqual(290);
    expect(authMs).toBeLessThan(290);

    // A client that gives up first still posted the message: the case retries must not duplicate.
    sim.delayNext("chat.postMessage", 500);
    await expect(
      web({ timeout: 100 }).chat.postMessage({ channel: CHANNEL, text: "timed out" }),
    ).rejects.toMatchObject({ code: ErrorCode.RequestError });
    expect(sim.messages(CHANNEL).map((m) => m.text)).toEqual(["late", "timed out"]);

    const next = performance.now();
    await web().chat.postMessage({ channel: CHANNEL, text: "on time" });
    expect(performance.now() - next).toBeLessThan(290);
  });

  it("failNext with a method is consumed only by that method's calls", async () => {
    sim.failNext(1, { method: "chat.update", status: 500 });
    const ts = await postAlert("tok-2");
    await expect(web().auth.test()).resolves.toMatchObject({ ok: true });
    await expect(web().chat.update({ channel: CHANNEL, ts, text: "x" })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 500,
    });
    await expect(web().chat.update({ channel: CHANNEL, ts, text: "x" })).resolves.toMatchObject({ ok: true });

    // Without a method a failure still hits whatever call comes next.
    sim.failNext(1, { error: "fatal_error" });
    await expect(web().users.info({ user: "U1" })).rejects.toMatchObject({ data: { error: "fatal_error" } });
    sim.failNext(1, { method: "views.open", error: "internal_error" });
    await expect(web().views.open({ trigger_id: "x", view: modal([]) })).rejects.toMatchObject({
      data: { error: "internal_error" },
    });
  });
});

function modal(blocks: KnownBlock[], extra: Partial<View> = {}): View {
  return {
    type: "modal",
    callback_id: "revoke_reason",
    private_metadata: JSON.stringify({ tokenId: "tok-42" }),
    title: { type: "plain_text", text: "Revoke token" },
    submit: { type: "plain_text", text: "Revoke" },
    blocks,
    ...extra,
  } as View;
}

const reasonForm: KnownBlock[] = [
  {
    type: "input",
    block_id: "reason",
    label: { type: "plain_text", text: "Reason" },
    element: { type: "plain_text_input", action_id: "reason_input" },
  },
  {
    type: "input",
    block_id: "expiry",
    label: { type: "plain_text", text: "Expires" },
    element: { type: "datepicker", action_id: "expiry_date" },
  },
  {
    type: "input",
    block_id: "owner",
    label: { type: "plain_text", text: "Owner" },
    element: { type: "users_select", action_id: "owner_user" },
  },
  {
    type: "input",
    block_id: "scope",
    label: { type: "plain_text", text: "Scope" },
    element: {
      type: "static_select",
      action_id: "scope_select",
      options: [
        { text: { type: "plain_text", text: "Read only" }, value: "read" },
        { text: { type: "plain_text", text: "Read and write" }, value: "write" },
      ],
    },
  },
  {
    type: "input",
    block_id: "reviewers",
    label: { type: "plain_text", text: "Reviewers" },
    element: { type: "multi_users_select", action_id: "reviewer_users" },
  },
  {
    type: "input",
    block_id: "note",
    optional: true,
    label: { type: "plain_text", text: "Note" },
    element: { type: "plain_text_input", action_id: "note_input" },
  },
];

describe("interactions", () => {
  it("click sends a signed block_actions payload shaped like Slack's", async () => {
    const ts = await postAlert("tok-42");
    const result = await click();
    expect(result.status).toBe(200);
    expect(result.ms).toBeGreaterThan(0);

    const got = lastReceived();
    expect(got.verified).toBe(true);
    // Function URLs hand form bodies to the function base64-encoded.
    expect(got.event.isBase64Encoded).toBe(true);
    expect(got.event.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(got.rawBody).toBe(result.raw.body);
    expect(got.rawBody.startsWith("payload=")).toBe(true);

    const payload = got.payload as unknown as BlockActionsPayload;
    expect(payload).toEqual(result.payload);
    expect(payload).toMatchObject({
      type: "block_actions",
      user: { id: ALICE.id, username: "alice", name: "alice", team_id: SIM_TEAM_ID },
      api_app_id: SIM_APP_ID,
      container: { type: "message", message_ts: ts, channel_id: CHANNEL, is_ephemeral: false },
      team: { id: SIM_TEAM_ID },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: CHANNEL },
      message: { type: "message", ts, text: "alert tok-42", blocks: alertBlocks("tok-42") },
      state: { values: {} },
    });
    expect(payload.token).toEqual(expect.any(String));
    expect(payload.actions).toEqual([
      {
        action_id: "revoke",
        block_id: "actions-tok-42",
        value: "tok-42",
        type: "button",
        style: "danger",
        action_ts: expect.stringMatching(/^\d{10}\.\d{6}$/),
        text: { type: "plain_text", text: "Revoke now", emoji: true },
      },
    ]);
    expect(payload.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
    expect(payload.response_url).toMatch(new RegExp(`^${sim.url.replace("/api/", "")}/response/`));
    expect(sim.interactions).toEqual([result]);

    // An accessory button is found as well.
    await click({ label: "Details" });
    expect((lastReceived().payload as unknown as BlockActionsPayload).actions[0]).toMatchObject({
      action_id: "details",
      block_id: "summary-tok-42",
    });
    expect(lastReceived().payload).not.toHaveProperty("actions.0.value");
  });

  it("click picks the newest message with the label, or the one named by messageTs or blockId", async () => {
    const older = await postAlert("tok-1");
    const newer = await postAlert("tok-2");
    await click();
    expect((lastReceived().payload as unknown as BlockActionsPayload).container.message_ts).toBe(newer);
    await click({ messageTs: older });
    expect((lastReceived().payload as unknown as BlockActionsPayload).actions[0]?.value).toBe("tok-1");

    const both = [...alertBlocks("tok-3"), ...alertBlocks("tok-4")];
    const ts = (await web().chat.postMessage({ channel: "C0OTHER", text: "two", blocks: both })).ts as string;
    await click({ blockId: "actions-tok-3" });
    const picked = lastReceived().payload as unknown as BlockActionsPayload;
    expect([picked.container.message_ts, picked.channel.id, picked.actions[0]?.value]).toEqual([
      ts,
      "C0OTHER",
      "tok-3",
    ]);

    await expect(click({ label: "Revoke later" })).rejects.toThrow(
      /"Revoke now".*"Keep"|"Keep".*"Revoke now"/,
    );
    await expect(click({ label: "Revoke now", blockId: "nope" })).rejects.toThrow(/no button "Revoke now"/);
  });

  it("buttons without block_id or action_id get stable Slack-style ids", async () => {
    await web().chat.postMessage({
      channel: CHANNEL,
      text: "plain",
      blocks: [
        { type: "actions", elements: [{ type: "button", text: { type: "plain_text", text: "Ack" } }] },
      ],
    });
    await click({ label: "Ack" });
    await click({ label: "Ack" });
    const [a, b] = received.map((r) => (r.payload as unknown as BlockActionsPayload).actions[0]);
    expect(a?.block_id).toMatch(/^[A-Za-z0-9]{5}$/);
    expect(a?.action_id).toMatch(/^[A-Za-z0-9]{5}$/);
    expect([b?.block_id, b?.action_id]).toEqual([a?.block_id, a?.action_id]);
    expect(a).not.toHaveProperty("value");
  });

  it("tampered requests fail the app's own signature check", async () => {
    await postAlert("tok-42");
    for (const tamper of ["signature", "missing-timestamp", "missing-signature", "body"] as const) {
      const result = await click({ tamper });
      expect([tamper, result.status]).toEqual([tamper, 401]);
      expect(lastReceived().verified).toBe(false);
    }
    const headersOf = (i: number) => received[i]?.event.headers ?? {};
    expect(headersOf(1)).not.toHaveProperty("x-slack-request-timestamp");
    expect(headersOf(2)).not.toHaveProperty("x-slack-signature");
    expect(sim.interactions.at(-1)?.payload).toMatchObject({ user: { id: "U0TAMPERED" } });

    expect((await click()).status).toBe(200);
    expect(lastReceived().verified).toBe(true);
  });

  it("deliver replays the identical bytes and headers; only the timestamp window stops an old one", async () => {
    await postAlert("tok-42");
    const first = await click();
    const replay = await sim.deliver(first.raw);
    expect(replay.status).toBe(200);
    const [a, b] = received;
    expect(b?.rawBody).toBe(a?.rawBody);
    for (const h of ["x-slack-signature", "x-slack-request-timestamp", "content-type"]) {
      expect([h, b?.event.headers[h]]).toEqual([h, a?.event.headers[h]]);
    }
    expect(b?.verified).toBe(true);
    expect(replay.payload).toEqual(first.payload);

    const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);
    const stale = await click({ at: tenMinutesAgo });
    expect(stale.raw.headers["x-slack-request-timestamp"]).toBe(
      String(Math.floor(tenMinutesAgo.getTime() / 1000)),
    );
    expect(stale.status).toBe(401);
    expect(sim.interactions).toHaveLength(3);
  });

  it("retryNum adds Slack's retry headers", async () => {
    await postAlert("tok-42");
    await click();
    expect(lastReceived().event.headers).not.toHaveProperty("x-slack-retry-num");
    await click({ retryNum: 2 });
    expect(lastReceived().event.headers).toMatchObject({
      "x-slack-retry-num": "2",
      "x-slack-retry-reason": "http_timeout",
    });
    expect(lastReceived().verified).toBe(true);
  });

  it("views.open takes a click's trigger_id once, within 3 seconds", async () => {
    await postAlert("tok-42");
    let opened: Awaited<ReturnType<WebClient["views"]["open"]>> | undefined;
    reply = async (payload) => {
      opened = await web().views.open({ trigger_id: payload.trigger_id as string, view: modal(reasonForm) });
      return { statusCode: 200, body: "" };
    };
    await click();
    expect(opened?.view).toMatchObject({
      id: expect.stringMatching(/^V/),
      callback_id: "revoke_reason",
      private_metadata: JSON.stringify({ tokenId: "tok-42" }),
      state: { values: {} },
      title: { text: "Revoke token" },
    });
    expect(sim.views).toHaveLength(1);
    expect(sim.views[0]).toMatchObject({
      id: opened?.view?.id,
      callback_id: "revoke_reason",
      openedBy: ALICE,
      closed: false,
    });
    expect(sim.views[0]?.blocks).toEqual(reasonForm);

    const trigger = (lastReceived().payload as unknown as BlockActionsPayload).trigger_id;
    await expect(web().views.open({ trigger_id: trigger, view: modal(reasonForm) })).rejects.toMatchObject({
      data: { error: "expired_trigger_id" },
    });
    await expect(
      web().views.open({ trigger_id: "123.456.abc", view: modal(reasonForm) }),
    ).rejects.toMatchObject({ data: { error: "invalid_trigger_id" } });

    reply = async () => ({ statusCode: 200, body: "" });
    await click();
    const almost = (lastReceived().payload as unknown as BlockActionsPayload).trigger_id;
    await click();
    const late = (lastReceived().payload as unknown as BlockActionsPayload).trigger_id;
    skew = 2_900;
    await expect(web().views.open({ trigger_id: almost, view: modal(reasonForm) })).resolves.toMatchObject({
      ok: true,
    });
    skew = 3_100;
    await expect(web().views.open({ trigger_id: late, view: modal(reasonForm) })).rejects.toMatchObject({
      data: { error: "expired_trigger_id" },
    });
    expect(sim.views).toHaveLength(2);
  });

  async function openReasonForm(): Promise<string> {
    await postAlert("tok-42");
    reply = async (payload) => {
      await web().views.open({ trigger_id: payload.trigger_id as string, view: modal(reasonForm) });
      return { statusCode: 200, body: "" };
    };
    await click();
    reply = async () => ({ statusCode: 200, body: "" });
    const id = sim.views.at(-1)?.id;
    if (!id) throw new Error("no view opened");
    return id;
  }

  it("submit sends a view_submission whose state comes from the view's inputs", async () => {
    const viewId = await openReasonForm();
    const result = await sim.submit({
      url: app.url,
      signingSecret: SIGNING_SECRET,
      viewId,
      user: ALICE,
      values: {
        reason_input: "leaked in a gist",
        expiry_date: "2030-01-31",
        owner_user: "U0BOB",
        scope_select: "write",
        reviewer_users: "U0BOB,U0CAROL",
      },
    });
    expect(result.status).toBe(200);
    const got = lastReceived();
    expect(got.verified).toBe(true);
    const payload = got.payload as unknown as ViewSubmissionPayload;
    expect(payload).toMatchObject({
      type: "view_submission",
      user: { id: ALICE.id, username: "alice", team_id: SIM_TEAM_ID },
      team: { id: SIM_TEAM_ID },
      api_app_id: SIM_APP_ID,
      response_urls: [],
      is_enterprise_install: false,
      view: {
        id: viewId,
        team_id: SIM_TEAM_ID,
        type: "modal",
        callback_id: "revoke_reason",
        private_metadata: JSON.stringify({ tokenId: "tok-42" }),
        title: { type: "plain_text", text: "Revoke token" },
        blocks: reasonForm,
        hash: expect.any(String),
      },
    });
    expect(payload.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
    expect(payload.view.state.values).toEqual({
      reason: { reason_input: { type: "plain_text_input", value: "leaked in a gist" } },
      expiry: { expiry_date: { type: "datepicker", selected_date: "2030-01-31" } },
      owner: { owner_user: { type: "users_select", selected_user: "U0BOB" } },
      scope: {
        scope_select: {
          type: "static_select",
          selected_option: {
            text: { type: "plain_text", text: "Read and write", emoji: true },
            value: "write",
          },
        },
      },
      reviewers: { reviewer_users: { type: "multi_users_select", selected_users: ["U0BOB", "U0CAROL"] } },
      note: { note_input: { type: "plain_text_input", value: null } },
    });
    // An empty 200 closes the modal.
    expect(sim.views.find((v) => v.id === viewId)?.closed).toBe(true);
    await expect(
      sim.submit({ url: app.url, signingSecret: SIGNING_SECRET, viewId, user: ALICE, values: {} }),
    ).rejects.toThrow(/closed/);
  });

  it("submit leaves unset inputs null, keeps the view open on errors, and refuses unknown inputs", async () => {
    const viewId = await openReasonForm();
    reply = async () => ({
      statusCode: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ response_action: "errors", errors: { reason: "Say why" } }),
    });
    const submit = (values: Record<string, string>, tamper?: "body") =>
      sim.submit({ url: app.url, signingSecret: SIGNING_SECRET, viewId, user: ALICE, values, tamper });
    const result = await submit({});
    expect(JSON.parse(result.body)).toMatchObject({ response_action: "errors" });
    const values = (lastReceived().payload as unknown as ViewSubmissionPayload).view.state.values;
    expect(values).toMatchObject({
      expiry: { expiry_date: { type: "datepicker", selected_date: null } },
      owner: { owner_user: { type: "users_select", selected_user: null } },
      scope: { scope_select: { type: "static_select", selected_option: null } },
      reviewers: { reviewer_users: { type: "multi_users_select", selected_users: [] } },
    });
    expect(sim.views.find((v) => v.id === viewId)?.closed).toBe(false);

    await expect(submit({ reason: "by block id works", typo_input: "x" })).rejects.toThrow(/typo_input/);
    await expect(submit({ scope_select: "admin" })).rejects.toThrow(/no option "admin"/);
    expect((await submit({}, "body")).status).toBe(401);
  });

  it("response_url: replace_original updates the clicked message; the 6th use answers 404", async () => {
    const ts = await postAlert("tok-42");
    const result = await click();
    const responseUrl = (result.payload as unknown as BlockActionsPayload).response_url;
    const post = (body: unknown) =>
      fetch(responseUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    const replaced = await post({ replace_original: true, text: "Revoked by alice" });
    expect([replaced.status, await replaced.json()]).toEqual([200, { ok: true }]);
    expect(sim.messages(CHANNEL)).toEqual([expect.objectContaining({ ts, text: "Revoked by alice" })]);
    expect(sim.messages(CHANNEL)[0]).not.toHaveProperty("blocks");
    expect(sim.updates.at(-1)).toMatchObject({
      via: "response_url",
      ts,
      after: { text: "Revoked by alice" },
    });

    expect((await post({ text: "only you see this" })).status).toBe(200);
    expect(sim.ephemerals.at(-1)).toMatchObject({
      user: ALICE.id,
      text: "only you see this",
      via: "response_url",
    });
    expect((await post({ response_type: "in_channel", text: "for everyone" })).status).toBe(200);
    expect(sim.messages(CHANNEL).map((m) => m.text)).toEqual(["Revoked by alice", "for everyone"]);
    for (let i = 3; i < RESPONSE_URL_MAX_USES; i++)
      expect((await post({ text: `use ${i + 1}` })).status).toBe(200);

    const sixth = await post({ text: "one too many" });
    expect([sixth.status, await sixth.json()]).toEqual([404, { ok: false, error: "used_too_many_times" }]);
    expect(sim.responses).toHaveLength(5);
    expect(sim.responses.every((r) => r.clickId === result.clickId)).toBe(true);
    expect(sim.responses[0]?.body).toEqual({ replace_original: true, text: "Revoked by alice" });
    // Response URLs are not Web API calls.
    expect(sim.calls.map((c) => c.method)).toEqual(["chat.postMessage"]);
  });

  it("response_url expires after 30 minutes and delete_original removes the message", async () => {
    await postAlert("tok-1");
    await postAlert("tok-2");
    const one = (await click({ messageTs: sim.messages(CHANNEL)[0]?.ts }))
      .payload as unknown as BlockActionsPayload;
    const two = (await click()).payload as unknown as BlockActionsPayload;
    const post = (url: string, body: unknown) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    expect((await post(two.response_url, { delete_original: true })).status).toBe(200);
    expect(sim.messages(CHANNEL).map((m) => m.text)).toEqual(["alert tok-1"]);

    skew = 30 * 60 * 1000 + 1_000;
    const expired = await post(one.response_url, { text: "too late" });
    expect([expired.status, await expired.json()]).toEqual([404, { ok: false, error: "expired_url" }]);
    expect(sim.responses).toHaveLength(1);
  });
});

describe("function URL", () => {
  let fn: FunctionUrl;
  let seen: { remainingAtStart: number; remainingLater: number; functionName: string; requestId: string }[];
  beforeAll(async () => {
    seen = [];
    fn = await startFunctionUrl(
      async (event, context) => {
        const remainingAtStart = context.getRemainingTimeInMillis();
        const path = event.rawPath;
        if (path === "/throw") throw new Error("boom");
        if (path === "/slow") await new Promise((r) => setTimeout(r, 1_000));
        if (path === "/tick") {
          await new Promise((r) => setTimeout(r, 60));
          seen.push({
            remainingAtStart,
            remainingLater: context.getRemainingTimeInMillis(),
            functionName: context.functionName,
            requestId: context.awsRequestId,
          });
          return "ticked";
        }
        if (path === "/structured") {
          return {
            statusCode: 201,
            headers: { "Content-Type": "application/octet-stream", "X-Custom": 7 },
            body: Buffer.from([0, 1, 2, 250]).toString("base64"),
            isBase64Encoded: true,
            cookies: ["a=1; Path=/", "b=2"],
          };
        }
        // Without a statusCode, the whole object becomes the JSON body.
        return { echo: event } as unknown as APIGatewayProxyResultV2;
      },
      { timeoutMs: 300 },
    );
  });
  afterAll(async () => {
    await fn.close();
  });

  const echo = async (path: string, init?: RequestInit) => {
    const res = await fetch(new URL(path, fn.url), init);
    expect(res.headers.get("content-type")).toBe("application/json");
    return ((await res.json()) as { echo: APIGatewayProxyEventV2 }).echo;
  };

  it("builds payload format 2.0 events: base64 for forms, text for JSON, query parameters, headers", async () => {
    const form = await echo("/slack/interactions?x=1", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "Slackbot 1.0" },
      body: "payload=%7B%7D",
    });
    expect(form).toMatchObject({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/slack/interactions",
      rawQueryString: "x=1",
      queryStringParameters: { x: "1" },
      isBase64Encoded: true,
      requestContext: {
        accountId: "anonymous",
        routeKey: "$default",
        stage: "$default",
        http: {
          method: "POST",
          path: "/slack/interactions",
          protocol: "HTTP/1.1",
          sourceIp: "127.0.0.1",
          userAgent: "Slackbot 1.0",
        },
      },
    });
    expect(Buffer.from(form.body ?? "", "base64").toString("utf8")).toBe("payload=%7B%7D");
    expect(form.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(form.requestContext.domainName).toBe(
      `${form.requestContext.domainPrefix}.lambda-url.us-east-1.on.aws`,
    );
    expect(form.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(form.requestContext.timeEpoch - Date.now())).toBeLessThan(5_000);

    const json = await echo("/j", {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: '{"a":1}',
    });
    expect([json.isBase64Encoded, json.body]).toEqual([false, '{"a":1}']);

    const get = await echo("/q?a=1&a=2&b=x%20y");
    expect(get.queryStringParameters).toEqual({ a: "1,2", b: "x y" });
    expect(get.rawQueryString).toBe("a=1&a=2&b=x%20y");
    expect(get).not.toHaveProperty("body");
    expect(get.isBase64Encoded).toBe(false);

    const none = await echo("/plain");
    expect(none).not.toHaveProperty("queryStringParameters");
  });

  it("lower-cases header names, joins repeated ones with commas and moves cookies out", async () => {
    const event = await new Promise<APIGatewayProxyEventV2>((resolve, reject) => {
      const req = request(
        new URL("/h", fn.url),
        { method: "GET", headers: { "X-Dup": ["one", "two"], Cookie: "a=1; b=2" } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve(
              (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { echo: APIGatewayProxyEventV2 }).echo,
            ),
          );
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(event.headers["x-dup"]).toBe("one,two");
    expect(event.headers).not.toHaveProperty("X-Dup");
    expect(event.headers).not.toHaveProperty("cookie");
    expect(event.cookies).toEqual(["a=1", "b=2"]);
    expect(event.headers.host).toBe(event.requestContext.domainName);
  });

  it("maps structured results and strings as Function URLs do", async () => {
    const res = await fetch(new URL("/structured", fn.url));
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("x-custom")).toBe("7");
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2"]);
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([0, 1, 2, 250]);

    const tick = await fetch(new URL("/tick", fn.url));
    expect([tick.status, await tick.text()]).toEqual([200, "ticked"]);
    const last = seen.at(-1);
    expect(last?.functionName).toBe("slack-interactions");
    expect(last?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(last?.remainingAtStart).toBeLessThanOrEqual(300);
    expect(last?.remainingAtStart).toBeGreaterThan(200);
    expect(last?.remainingLater).toBeLessThanOrEqual((last?.remainingAtStart ?? 0) - 50);
  });

  it("answers 502 when the handler throws, and at the timeout when it runs too long", async () => {
    const thrown = await fetch(new URL("/throw", fn.url));
    expect([thrown.status, await thrown.json()]).toEqual([502, { Message: "Internal Server Error" }]);
    expect(fn.requests.at(-1)).toMatchObject({ status: 502, error: expect.any(Error) });

    const started = performance.now();
    const slow = await fetch(new URL("/slow", fn.url));
    const ms = performance.now() - started;
    expect([slow.status, await slow.json()]).toEqual([502, { Message: "Internal Server Error" }]);
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(900);
    expect(fn.requests.at(-1)).toMatchObject({ status: 502, timedOut: true });
    expect(fn.requests.at(-1)?.event.rawPath).toBe("/slow");
  });
});
