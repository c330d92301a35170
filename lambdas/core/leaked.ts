import { createHash } from "node:crypto";
import { type ChangeContext, LedgerChanges } from "./ledger/changes";
import { REASON_MAX } from "./ledger/fields";
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

/**
 * The values of a leaked-token file: one a line, blank lines and `#` comments skipped, each checked by its
 * prefix. A line that is not a token value refuses the whole file, naming the line (never its text).
 */
export function parseLeakedTokens(text: string, source: string): string[] {
  const values: string[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const prefix = LEAKED_PREFIXES.find((p) => line.startsWith(p));
    if (!prefix) {
      const ghs = line.startsWith("ghs_")
        ? " (ghs_ is an App installation token: it expires within the hour and is not revoked this way)"
        : "";
      problems.push(
        `line ${i + 1}: not a token value GitHub can revoke; expected one starting ${LEAKED_PREFIXES.join(", ")}${ghs}`,
      );
    } else if (!BODY.test(line.slice(prefix.length))) {
      problems.push(
        `line ${i + 1}: starts ${prefix} but is not a whole token (letters, digits and _ after the prefix)`,
      );
    } else {
      values.push(line);
    }
  });
  if (problems.length > 0) {
    throw new LeakedInputError(
      `${source}: ${plural(problems.length, "line")} refused, nothing was revoked\n  ${problems.join("\n  ")}`,
    );
  }
  if (values.length === 0) throw new LeakedInputError(`${source}: no token value in it (one a line)`);
  return [...new Set(values)];
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
