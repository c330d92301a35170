import { isLive } from "./ledger/lifecycle";
import type { Policy } from "./policy";
import { plural } from "./text";
import type { Grant, LedgerEntry, PatRequest } from "./types";

/**
 * Whether a night's listing of the org can be believed before anything is marked `gone`. A listing can
 * miss grants: pages are numbered, so a grant revoked on page 1 while page 2 is fetched moves one grant of
 * page 2 onto page 1, already read; GitHub can have a bad minute and list nothing. So entries the ledger
 * expects and the listing did not show are confirmed one by one with GitHub's `token_id[]` filter, and a
 * listing that lost a large share of what the ledger knows to be live is not believed at all.
 */

/** Token ids of live entries (the ledger expects GitHub to list them) that the listing did not show. */
export function unlistedTokenIds(
  entries: readonly LedgerEntry[],
  grants: readonly Grant[],
  requests: readonly PatRequest[],
): number[] {
  const listed = new Set<number>([...grants.map((g) => g.tokenId), ...requests.map((r) => r.tokenId)]);
  const ids = new Set<number>();
  for (const entry of entries) {
    if (isLive(entry.status) && entry.tokenId !== null && !listed.has(entry.tokenId)) ids.add(entry.tokenId);
  }
  return [...ids];
}

export interface ListingVerdict {
  /** Live grants the ledger knows (entries last seen with a grant, whose revocation is not in flight). */
  known: number;
  /** Of those, how many this listing did not show. */
  missing: number;
  /** Too many missing to believe: nothing is marked gone, and the sweep fails. */
  suspect: boolean;
  message?: string;
}

/**
 * A listing is suspect when it lost more than `policy.suspectListingShare` of the live grants the ledger
 * knows, and at least `policy.suspectListingMinimum` of them (so that a small org whose one token was
 * revoked by hand is not suspect every night).
 */
export function judgeListing(
  entries: readonly LedgerEntry[],
  grants: readonly Grant[],
  policy: Pick<Policy, "suspectListingShare" | "suspectListingMinimum">,
): ListingVerdict {
  const patIds = new Set(grants.map((g) => g.patId));
  const tokenIds = new Set(grants.map((g) => g.tokenId));
  let known = 0;
  let missing = 0;
  for (const entry of entries) {
    // An entry whose revocation by patrol was in flight is expected not to be listed.
    if (!isLive(entry.status) || entry.patId === null || entry.pendingRevocation) continue;
    known++;
    if (!patIds.has(entry.patId) && !(entry.tokenId !== null && tokenIds.has(entry.tokenId))) missing++;
  }
  const suspect = missing >= policy.suspectListingMinimum && missing > known * policy.suspectListingShare;
  if (!suspect) return { known, missing, suspect };
  const share = Math.round((missing / known) * 100);
  return {
    known,
    missing,
    suspect,
    message: `listing suspect: GitHub listed ${plural(grants.length, "grant")}, and ${missing} of the ${known} the ledger knows to be live (${share}%) are not among them, more than the policy's ${Math.round(policy.suspectListingShare * 100)}%: nothing was marked gone; the next sweep checks again`,
  };
}
