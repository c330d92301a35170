import { createHash } from "node:crypto";
import * as z from "zod";
import { type ChangeContext, LedgerChanges } from "./ledger/changes";
import { REASON_MAX } from "./ledger/fields";
import { OrgSchema } from "./login";
import { plural } from "./text";
import type { EntryWrite, LedgerEntry } from "./types";

/**
 * Leaked token values: what GitHub's credential revocation API takes, and how patrol refers to one without
 * ever holding it. A value is checked by its prefix, sent to GitHub once, and otherwise known only by the
 * hash GitHub's audit log uses (`hashed_token`: base64 of its SHA-256), so the trail can be searched. No
 * value, or any part of one, is ever stored, logged, echoed or told to Slack: messages name a value by its
 * line and its prefix only.
 */

/** The prefixes the credential revocation API takes (fine-grained and classic PATs, OAuth and App user tokens). */
export const LEAKED_PREFIXES = ["github_pat_", "ghp_", "gho_", "ghu_", "ghr_"] as const;
/** GitHub's API takes at most 1,000 values a call. */
export const CREDENTIALS_PER_CALL = 1000;
/** A token's body after its prefix: letters, digits and underscores, as GitHub mints them. */
const BODY = /^[A-Za-z0-9_]{20,255}$/;

export class LeakedInputError extends Error {
  override name = "LeakedInputError";
}

/** `hashed_token` as GitHub's audit log writes it: base64(SHA-256(value)). */
export function hashedToken(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("base64");
}

/** Checks values one by one (each named by `where`, never by its text); refuses all if one is not a value. */
function checkedValues(values: readonly { where: string; value: string }[], source: string): string[] {
  const problems: string[] = [];
  for (const { where, value } of values) {
    const prefix = LEAKED_PREFIXES.find((p) => value.startsWith(p));
    if (!prefix) {
      const ghs = value.startsWith("ghs_")
        ? " (ghs_ is an App installation token: it expires within the hour and is not revoked this way)"
        : "";
      problems.push(
        `${where}: not a token value GitHub can revoke; expected one starting ${LEAKED_PREFIXES.join(", ")}${ghs}`,
      );
    } else if (!BODY.test(value.slice(prefix.length))) {
      problems.push(
        `${where}: starts ${prefix} but is not a whole token (letters, digits and _ after the prefix)`,
      );
    }
  }
  if (problems.length > 0) {
    throw new LeakedInputError(
      `${source}: ${plural(problems.length, "value")} refused, nothing was revoked\n  ${problems.join("\n  ")}`,
    );
  }
  if (values.length === 0) throw new LeakedInputError(`${source}: no token value in it (one a line)`);
  if (values.length > 10 * CREDENTIALS_PER_CALL) {
    throw new LeakedInputError(
      `${source}: ${values.length} values; at most ${10 * CREDENTIALS_PER_CALL} at once`,
    );
  }
  return [...new Set(values.map((v) => v.value))];
}

/**
 * The values of a leaked-token file: one a line, blank lines and `#` comments skipped, each checked by its
 * prefix. A line that is not a token value refuses the whole file, naming the line (never its text).
 */
export function parseLeakedTokens(text: string, source: string): string[] {
  const values = text
    .split(/\r?\n/)
    .map((raw, i) => ({ where: `line ${i + 1}`, value: raw.trim() }))
    .filter(({ value }) => value !== "" && !value.startsWith("#"));
  return checkedValues(values, source);
}

/** The revoke Lambda's leaked-token event: the values, why, who, and optionally the token's entry. */
export interface LeakedEvent {
  org: string;
  values: string[];
  reason: string;
  requestedBy: string;
  entry?: { tokenId: number } | { owner: string; tokenName: string };
}

const LeakedEventSchema = z
  .object({
    org: OrgSchema,
    leakedTokens: z.array(z.string({ message: "expected a token value, as text" }), {
      message: "expected a list of token values",
    }),
    reason: z
      .string({ message: "expected why, as text" })
      .trim()
      .min(1, "expected why, as text")
      .max(REASON_MAX),
    requestedBy: z
      .string({ message: "expected who asks, as text" })
      .trim()
      .min(1, "expected who asks")
      .max(255),
    tokenId: z.number().int().positive().optional(),
    owner: z.string().min(1).optional(),
    tokenName: z.string().min(1).optional(),
  })
  .strict();

/**
 * `{ "org", "leakedTokens": ["ghp_…"], "reason", "requestedBy", "tokenId"? | "owner" + "tokenName"? }`, or
 * null when the event is not about leaked values. A bad event names the field and, for a value, its index:
 * a value is never echoed.
 */
export function parseLeakedEvent(event: unknown): LeakedEvent | null {
  if (typeof event !== "object" || event === null || !("leakedTokens" in event)) return null;
  const parsed = LeakedEventSchema.safeParse(event);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "event"}: ${i.message}`)
      .join("; ");
    throw new LeakedInputError(`invalid leaked-token revocation: ${problems}`);
  }
  const { org, leakedTokens, reason, requestedBy, tokenId, owner, tokenName } = parsed.data;
  if ((owner === undefined) !== (tokenName === undefined) || (tokenId !== undefined && owner !== undefined)) {
    throw new LeakedInputError(
      'invalid leaked-token revocation: name the entry by "tokenId", or by "owner" and "tokenName"',
    );
  }
  const values = checkedValues(
    leakedTokens.map((value, i) => ({ where: `leakedTokens[${i}]`, value: value.trim() })),
    "leakedTokens",
  );
  return {
    org,
    values,
    reason,
    requestedBy,
    ...(tokenId !== undefined
      ? { entry: { tokenId } }
      : owner && tokenName
        ? { entry: { owner, tokenName } }
        : {}),
  };
}

/** What the ledger keeps of one leaked value: its hash, and who reported it, when and why. */
export interface LeakRecord {
  hashedToken: string;
  at: string;
  by: string;
  reason: string;
  runId: string;
  /** The entry the operator named as the token's, if any. */
  entryId?: string;
}

/**
 * The named entry, flagged as leaked: the value is revoked at GitHub (its access everywhere ends), and
 * should a token of that entry ever be listed again it is revoked again. The hashes go into the detail,
 * so the entry's history leads to GitHub's audit log.
 */
export function flagLeakedEntry(
  entries: readonly LedgerEntry[],
  entryId: string,
  hashes: readonly string[],
  request: { reason: string; requestedBy: string },
  ctx: ChangeContext,
): EntryWrite[] {
  const changes = new LedgerChanges(entries, ctx);
  const entry = changes.get(entryId);
  if (!entry) return [];
  const detail = `${request.reason} (the value was revoked at GitHub; hashed_token ${hashes.join(", ")})`;
  changes.update(
    entryId,
    {
      status: "flagged",
      revokedReason: "leaked",
      revokedDetail: detail.slice(0, REASON_MAX),
      revokedAt: ctx.now.toISOString(),
      revokedBy: request.requestedBy,
      pendingRevocation: null,
    },
    "flagged",
    `leaked: ${detail}`.slice(0, REASON_MAX),
  );
  return changes.writes();
}
