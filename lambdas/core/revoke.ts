import * as z from "zod";
import { nearest } from "./ledger/access";
import { type ChangeContext, discoveredEntry, LedgerChanges } from "./ledger/changes";
import { newEntry, REASON_MAX } from "./ledger/fields";
import { entryIdForClassic } from "./ledger/ids";
import { LedgerIndex } from "./ledger/match";
import { canonicalOrg, LoginSchema, OrgSchema } from "./login";
import type { EntryWrite, Grant, LedgerEntry } from "./types";

/**
 * On-demand revocation after a compromise: the event, and the pure planning of what to revoke and what
 * the ledger must remember. The I/O is in lambdas/app/run-revoke.ts.
 */

const login = LoginSchema;
const ids = (what: string) =>
  z
    .array(
      z
        .number({ message: `expected ${what} as positive whole numbers` })
        .int(`expected ${what} as positive whole numbers`)
        .positive(`expected ${what} as positive whole numbers`),
      {
        message: `expected an array of ${what}`,
      },
    )
    .min(1, `expected at least one ${what.replace(/s$/, "")}`)
    .max(10_000, `expected at most 10,000 ${what}`);

const SELECTORS = {
  patIds: z.object({ patIds: ids("grant ids") }).strict(),
  tokenIds: z.object({ tokenIds: ids("token ids") }).strict(),
  owner: z.object({ owner: login }).strict(),
  tokenName: z
    .object({ tokenName: z.string().trim().min(1, "expected a token name"), owner: login.optional() })
    .strict(),
  all: z
    .object({
      all: z.literal(true, { message: "expected true" }),
      confirm: z.string({ message: 'expected "confirm": the organization\'s name, repeated' }),
    })
    .strict(),
} as const;

export type Selector =
  | z.output<(typeof SELECTORS)["patIds"]>
  | z.output<(typeof SELECTORS)["tokenIds"]>
  | z.output<(typeof SELECTORS)["owner"]>
  | z.output<(typeof SELECTORS)["tokenName"]>
  | z.output<(typeof SELECTORS)["all"]>;

export interface RevokeRequest {
  org: string;
  selector: Selector;
  reason: string;
  requestedBy: string;
  dryRun: boolean;
}

export class InvalidRevokeError extends Error {
  override name = "InvalidRevokeError";
}

/** A selector that names something neither GitHub nor the ledger knows: a typo, refused before anything. */
export class NothingMatchedError extends Error {
  override name = "NothingMatchedError";
}

/**
 * What the selector names that matches nothing, listed or in the ledger, with the nearest thing that
 * exists; null when everything it names is known. A revocation that names a stranger is bad input: it
 * changes nothing, tells Slack nothing, and says what was looked for.
 */
export function nothingMatched(
  org: string,
  selector: Selector,
  grants: readonly Grant[],
  ledger: readonly LedgerEntry[],
): string | null {
  const near = (word: string, candidates: Iterable<string>) => {
    const found = nearest(word, candidates);
    return found !== undefined ? `; did you mean ${found}?` : "";
  };
  /** Ids that name nothing, the nearest that exists, and ids of the other kind given by mistake. */
  const unknownIds = (
    noun: "grant" | "token",
    ids: readonly number[],
    known: ReadonlySet<number>,
    ofOtherKind: (id: number) => boolean,
  ): string | null => {
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length === 0) return null;
    const mistaken = unknown.filter(ofOtherKind);
    const other = noun === "grant" ? "token id: --token-id" : "grant id: --pat-id";
    return `no ${noun} ${unknown.join(", ")} in ${org} (neither listed nor in the ledger)${
      mistaken.length
        ? `; ${mistaken.join(", ")} is a ${other}`
        : near(String(unknown[0]), [...known].map(String))
    }`;
  };
  const ids = (pick: (x: { patId: number | null; tokenId: number | null }) => number | null) =>
    new Set([...grants, ...ledger].flatMap((x) => pick(x) ?? []));
  if ("patIds" in selector) {
    const tokens = ids((x) => x.tokenId);
    return unknownIds(
      "grant",
      selector.patIds,
      ids((x) => x.patId),
      (id) => tokens.has(id),
    );
  }
  if ("tokenIds" in selector) {
    return unknownIds(
      "token",
      selector.tokenIds,
      ids((x) => x.tokenId),
      (id) => grants.some((g) => g.patId === id),
    );
  }
  if ("all" in selector) return null;
  const owners = new Set([
    ...grants.map((g) => g.owner.toLowerCase()),
    ...ledger.map((e) => e.owner.toLowerCase()),
  ]);
  const owner = selector.owner?.toLowerCase();
  if (owner !== undefined && !owners.has(owner)) {
    return `no token of ${selector.owner} in ${org} (neither listed nor in the ledger)${near(owner, owners)}`;
  }
  if ("tokenName" in selector) {
    const mine = (o: string) => owner === undefined || o.toLowerCase() === owner;
    const names = new Set([
      ...grants.filter((g) => mine(g.owner)).map((g) => g.tokenName),
      ...ledger.filter((e) => mine(e.owner)).map((e) => e.tokenName),
    ]);
    if (!names.has(selector.tokenName)) {
      return `no token named ${JSON.stringify(selector.tokenName)}${selector.owner ? ` of ${selector.owner}` : ""} in ${org} (neither listed nor in the ledger)${near(selector.tokenName, names)}`;
    }
  }
  return null;
}

const SELECTOR_HELP =
  'exactly one of { "patIds": [n…] }, { "tokenIds": [n…] }, { "owner": "login" }, { "tokenName": "name", "owner"?: "login" }, { "all": true, "confirm": "<org>" }';

function issues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((i) => `${[prefix, ...i.path].filter((p) => p !== "").join(".") || "event"}: ${i.message}`)
    .join("; ");
}

const EVENT_HELP = '{ "org", "selector", "reason", "requestedBy", "dryRun"? }';

/** Validates a revoke event; the message names each bad field and what was expected. Nothing is revoked on error. */
export function parseRevokeRequest(event: unknown): RevokeRequest {
  const Envelope = z
    .object({
      org: OrgSchema,
      selector: z.record(z.string(), z.unknown(), { message: `expected an object: ${SELECTOR_HELP}` }),
      reason: z
        .string({ message: "expected why, as text" })
        .trim()
        .min(1, "expected why, as text")
        .max(REASON_MAX, `expected why in at most ${REASON_MAX.toLocaleString("en")} characters`),
      requestedBy: z
        .string({ message: "expected who asks, as text" })
        .trim()
        .min(1, "expected who asks, as text")
        .max(255, "expected who asks in at most 255 characters"),
      dryRun: z.boolean({ message: "expected true or false" }).optional(),
    })
    .strict();
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new InvalidRevokeError(`invalid revoke request: event: expected a JSON object ${EVENT_HELP}`);
  }
  const envelope = Envelope.safeParse(event);
  if (!envelope.success) {
    throw new InvalidRevokeError(
      `invalid revoke request: ${issues(envelope.error, "")} (expected ${EVENT_HELP})`,
    );
  }
  const { org, selector: raw, reason, requestedBy, dryRun } = envelope.data;

  const keys = Object.keys(raw);
  const kind = (["all", "patIds", "tokenIds", "tokenName", "owner"] as const).find((k) => k in raw);
  if (!kind) {
    throw new InvalidRevokeError(
      `invalid revoke request: selector: expected ${SELECTOR_HELP}; got ${keys.length ? keys.join(", ") : "an empty object"}`,
    );
  }
  const parsed = SELECTORS[kind].safeParse(raw);
  if (!parsed.success) {
    throw new InvalidRevokeError(
      `invalid revoke request: ${issues(parsed.error, "selector")} (selector: ${SELECTOR_HELP})`,
    );
  }
  const selector = parsed.data as Selector;
  if ("all" in selector && canonicalOrg(selector.confirm.trim()) !== canonicalOrg(org)) {
    throw new InvalidRevokeError(
      `invalid revoke request: selector.confirm: revoking every token in the organization needs "confirm": "${org}" (the organization's name, repeated)`,
    );
  }
  return { org, selector, reason, requestedBy, dryRun: dryRun ?? false };
}

export function describeSelector(selector: Selector): string {
  if ("all" in selector) return "every token in the organization";
  if ("patIds" in selector) return `grant ids ${selector.patIds.join(", ")}`;
  if ("tokenIds" in selector) return `token ids ${selector.tokenIds.join(", ")}`;
  if ("tokenName" in selector)
    return `token "${selector.tokenName}"${selector.owner ? ` of ${selector.owner}` : ""}`;
  return `every token of ${selector.owner}`;
}

/** Whether a listed grant is one the selector names (the list may be filtered more loosely than that). */
export function selects(selector: Selector, grant: Grant): boolean {
  if ("all" in selector) return true;
  if ("patIds" in selector) return selector.patIds.includes(grant.patId);
  if ("tokenIds" in selector) return selector.tokenIds.includes(grant.tokenId);
  if ("tokenName" in selector) {
    return (
      grant.tokenName === selector.tokenName &&
      (!selector.owner || grant.owner.toLowerCase() === selector.owner.toLowerCase())
    );
  }
  return grant.owner.toLowerCase() === selector.owner.toLowerCase();
}

export interface GoneTarget {
  patId?: number;
  tokenId?: number;
  tokenName?: string;
  owner?: string;
  note: string;
}

/** What the selector named that is no longer listed: the answer to "did it stay cut off?". */
export function alreadyGone(
  selector: Selector,
  grants: readonly Grant[],
  ledger: readonly LedgerEntry[],
): GoneTarget[] {
  const revokedBefore = (e: LedgerEntry) =>
    e.revokedAt
      ? `revoked ${e.revokedAt.slice(0, 10)} by ${e.revokedBy ?? "unknown"}`
      : `ledger status ${e.status}`;
  if ("patIds" in selector) {
    const listed = new Set(grants.map((g) => g.patId));
    return selector.patIds
      .filter((id) => !listed.has(id))
      .map((patId) => {
        const e = ledger.find((x) => x.patId === patId);
        return {
          patId,
          ...(e
            ? { tokenName: e.tokenName, owner: e.owner, note: revokedBefore(e) }
            : { note: "not listed" }),
        };
      });
  }
  if ("tokenIds" in selector) {
    const listed = new Set(grants.map((g) => g.tokenId));
    return selector.tokenIds
      .filter((id) => !listed.has(id))
      .map((tokenId) => {
        const e = new LedgerIndex(ledger).withTokenId(tokenId);
        return {
          tokenId,
          ...(e
            ? { tokenName: e.tokenName, owner: e.owner, note: revokedBefore(e) }
            : { note: "not listed" }),
        };
      });
  }
  if ("all" in selector) return [];
  // By owner or name: the ledger's tokens that match and are no longer listed, revoked before.
  const listed = new Set(grants.map((g) => g.tokenId));
  return ledger
    .filter((e) => (e.revokedAt || e.status === "gone") && (e.tokenId === null || !listed.has(e.tokenId)))
    .filter((e) =>
      "tokenName" in selector
        ? e.tokenName === selector.tokenName &&
          (!selector.owner || e.owner.toLowerCase() === selector.owner.toLowerCase())
        : e.owner.toLowerCase() === selector.owner.toLowerCase(),
    )
    .map((e) => ({
      ...(e.tokenId !== null ? { tokenId: e.tokenId } : {}),
      tokenName: e.tokenName,
      owner: e.owner,
      note: revokedBefore(e),
    }));
}

export interface RevokeTarget {
  entryId: string;
  patId: number;
  tokenId: number;
  tokenName: string;
  owner: string;
}

/** A classic PAT's SSO authorization (Enterprise Cloud orgs with SAML SSO). */
export interface ClassicCredential {
  credentialId: number;
  login: string;
  lastEight: string;
  note: string;
  scopes: string[];
  /** When the token was authorized for the org's SSO: the nearest GitHub says to its creation. */
  authorizedAt: string | null;
  /** Last use against the org; null when never used since authorized. */
  accessedAt: string | null;
  /** Null when the token never expires. */
  expiresAt: string | null;
}

/**
 * Before the revocation calls: every target gets an entry (tokens unknown to the ledger included) carrying
 * the intent, so the reason is on record even if the process dies before GitHub answers.
 */
export function planRevoke(
  request: RevokeRequest,
  grants: readonly Grant[],
  ledger: readonly LedgerEntry[],
  ctx: ChangeContext,
): { targets: RevokeTarget[]; writes: EntryWrite[] } {
  const changes = new LedgerChanges(ledger, ctx);
  const targets: RevokeTarget[] = [];
  const nowIso = ctx.now.toISOString();
  const detail = `${request.reason} (requested by ${request.requestedBy})`;
  for (const grant of grants.filter((g) => selects(request.selector, g))) {
    let entry = changes.index.match(grant);
    if (!entry) {
      entry = changes.create(
        discoveredEntry(changes, grant, ctx.now),
        "discovered",
        "revoked on demand before it was ever registered",
      );
    }
    // The intent is a compromise response: should the call fail or the process die, the next sweep revokes
    // the token anyway. An approved token is flagged at once, so that it stays cut off; one the ledger never
    // approved stays unregistered until the revocation is done.
    changes.update(
      entry.entryId,
      {
        tokenId: grant.tokenId,
        patId: grant.patId,
        status: entry.status === "unregistered" ? "unregistered" : "flagged",
        pendingRevocation: {
          reason: "on-demand",
          detail,
          patId: grant.patId,
          at: nowIso,
          by: request.requestedBy,
          runId: ctx.runId ?? "",
        },
      },
      "revoke-intent",
      `on-demand: ${detail}`,
    );
    targets.push({
      entryId: entry.entryId,
      patId: grant.patId,
      tokenId: grant.tokenId,
      tokenName: grant.tokenName,
      owner: grant.owner,
    });
  }
  return { targets, writes: changes.writes() };
}

/**
 * After the calls: each revoked token's entry records reason, requester and time, and is `flagged` so a
 * re-approved token is revoked again by the next sweep. Tokens the ledger never approved end `revoked`
 * (their reappearance is treated as flagged too). Failures keep their intent for the next attempt. Decided
 * on each entry as it now stands: a flag someone set meanwhile stays.
 */
export function completeRevoke(
  request: RevokeRequest,
  entries: readonly LedgerEntry[],
  targets: readonly RevokeTarget[],
  revokedPatIds: ReadonlySet<number>,
  failures: ReadonlyMap<number, string>,
  ctx: ChangeContext,
): EntryWrite[] {
  const changes = new LedgerChanges(entries, ctx);
  const nowIso = ctx.now.toISOString();
  for (const target of targets) {
    const entry = changes.get(target.entryId);
    if (!entry) continue;
    if (!revokedPatIds.has(target.patId)) {
      changes.note(target.entryId, "revoke-failed", failures.get(target.patId) ?? "no answer from GitHub");
      continue;
    }
    changes.update(
      target.entryId,
      {
        status: entry.status === "unregistered" || entry.status === "revoked" ? "revoked" : "flagged",
        revokedReason: "on-demand",
        revokedDetail: request.reason,
        revokedAt: nowIso,
        revokedBy: request.requestedBy,
        pendingRevocation: null,
      },
      "revoked",
      `on-demand: ${request.reason} (requested by ${request.requestedBy})`,
    );
  }
  return changes.writes();
}

/** Entries the selector names whose grants are already gone: flagged, so the token stays cut off. */
export function flagGoneEntries(
  request: RevokeRequest,
  entries: readonly LedgerEntry[],
  gone: readonly GoneTarget[],
  ctx: ChangeContext,
): EntryWrite[] {
  const changes = new LedgerChanges(entries, ctx);
  for (const target of gone) {
    const entry =
      target.tokenId !== undefined
        ? changes.index.withTokenId(target.tokenId)
        : entries.find((e) => target.patId !== undefined && e.patId === target.patId);
    if (!entry || entry.status === "flagged" || entry.status === "revoked") continue;
    changes.update(
      entry.entryId,
      { status: "flagged" },
      "flagged",
      `on-demand: ${request.reason} (requested by ${request.requestedBy}); the grant was already gone`,
    );
  }
  return changes.writes();
}

/** Classic PAT authorizations removed on demand get ledger entries too, so the audit trail is complete. */
export function recordClassic(
  request: RevokeRequest,
  entries: readonly LedgerEntry[],
  removed: readonly ClassicCredential[],
  ctx: ChangeContext,
): EntryWrite[] {
  const changes = new LedgerChanges(entries, ctx);
  const nowIso = ctx.now.toISOString();
  for (const cred of removed) {
    const entryId = entryIdForClassic(cred.credentialId);
    const fields = {
      status: "revoked" as const,
      revokedReason: "on-demand" as const,
      revokedDetail: request.reason,
      revokedAt: nowIso,
      revokedBy: request.requestedBy,
    };
    if (changes.get(entryId)) {
      changes.update(entryId, fields, "revoked", `classic PAT SSO authorization removed on demand`);
      continue;
    }
    changes.create(
      newEntry({
        org: ctx.org,
        entryId,
        tokenName: cred.note || `classic PAT …${cred.lastEight}`,
        owner: cred.login,
        notes: `classic PAT ending ${cred.lastEight}, SSO credential ${cred.credentialId}, scopes ${cred.scopes.join(", ") || "none"}`,
        firstSeenAt: nowIso,
        ...fields,
      }),
      "revoked",
      `classic PAT SSO authorization removed on demand: ${request.reason} (requested by ${request.requestedBy})`,
    );
  }
  return changes.writes();
}
