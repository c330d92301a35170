/** How entries are named: one id per token, by its token id, its name, or its classic credential. */

/** The entry id of a token patrol knows by id. */
export function entryIdForToken(tokenId: number): string {
  return `token-${tokenId}`;
}

/** The entry id of a classic PAT's SSO authorization, by its credential id. */
export function entryIdForClassic(credentialId: number): string {
  return `${CLASSIC_PREFIX}${credentialId}`;
}

const CLASSIC_PREFIX = "classic-";

/** Whether an entry is a classic PAT's (not a fine-grained token's: never matched by name to one). */
export function isClassicEntry(entryId: string): boolean {
  return entryId.startsWith(CLASSIC_PREFIX);
}

/** The entry id of a token registered by name, before its token id is known. */
export function entryIdForName(owner: string, tokenName: string): string {
  return `name-${owner.toLowerCase()}-${tokenName.replace(/[^A-Za-z0-9._-]+/g, "_")}`;
}
