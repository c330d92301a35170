import type { PermissionMap, RepositorySelection } from "./types";

const LEVELS: Record<string, number> = { none: 0, read: 1, write: 2, admin: 3 };
/** Every fine-grained token carries metadata:read; a register need not spell it out. */
const IMPLICIT: PermissionMap = { "repository.metadata": "read" };

/** `{ repository: { contents: "read" } }` → `{ "repository.contents": "read" }`. */
export function flattenPermissions(
  groups: Record<string, Record<string, string> | undefined>,
): PermissionMap {
  const flat: PermissionMap = {};
  for (const [group, perms] of Object.entries(groups)) {
    for (const [name, level] of Object.entries(perms ?? {})) flat[`${group}.${name}`] = level;
  }
  return flat;
}

/** A stable text form, as the ledger and its CSV keep it: `repository.contents:read; repository.issues:write`. */
export function formatPermissions(perms: PermissionMap): string {
  return Object.keys(perms)
    .sort()
    .map((name) => `${name}:${perms[name]}`)
    .join("; ");
}

/**
 * Reads what a person wrote in the register: `contents:read; issues:write`, `repository.contents=read`,
 * separated by `;`, `,` or new lines. Names without a group match any group.
 */
export function parsePermissions(text: string): PermissionMap {
  const perms: PermissionMap = {};
  for (const part of text.split(/[;,\n]/)) {
    const [name, level] = part.split(/[:=]/).map((s) => s.trim().toLowerCase());
    if (name && level) perms[name] = level;
  }
  return perms;
}

function approvedLevel(approved: PermissionMap, qualifiedName: string): number {
  const shortName = qualifiedName.slice(qualifiedName.indexOf(".") + 1);
  const level = approved[qualifiedName] ?? approved[shortName] ?? IMPLICIT[qualifiedName] ?? "none";
  return LEVELS[level] ?? 0;
}

/** Approved texts repeat across a ledger (a few shapes of token): each is parsed once. Read-only. */
const approvedCache = new Map<string, PermissionMap>();
function approvedPermissions(text: string): PermissionMap {
  let parsed = approvedCache.get(text);
  if (!parsed) {
    if (approvedCache.size >= 10_000) approvedCache.clear();
    parsed = parsePermissions(text);
    approvedCache.set(text, parsed);
  }
  return parsed;
}

/** Live permissions above what the register approved, e.g. `repository.contents: write > read`. */
export function permissionDrift(live: PermissionMap, approvedText: string): string[] {
  const approved = approvedPermissions(approvedText);
  const drift: string[] = [];
  for (const name of Object.keys(live).sort()) {
    const level = live[name] ?? "none";
    if ((LEVELS[level] ?? 0) > approvedLevel(approved, name)) {
      const shortName = name.slice(name.indexOf(".") + 1);
      const was = approved[name] ?? approved[shortName] ?? IMPLICIT[name] ?? "none";
      drift.push(`${name}: ${level} > ${was}`);
    }
  }
  return drift;
}

const SELECTION_RANK: Record<RepositorySelection, number> = { none: 0, subset: 1, all: 2 };

/** The repository selection a register's scope text approves (`all`, `subset: a, b`, `selected`…), if any. */
export function approvedSelection(scope: string): RepositorySelection | null {
  const word =
    scope
      .trim()
      .toLowerCase()
      .split(/[\s:;,(]/)[0] ?? "";
  if (word === "all") return "all";
  if (word === "none" || word === "public") return "none";
  if (word === "subset" || word === "selected" || word === "only") return "subset";
  return null;
}

export function selectionExceeds(live: RepositorySelection, scope: string): boolean {
  const approved = approvedSelection(scope);
  return approved !== null && SELECTION_RANK[live] > SELECTION_RANK[approved];
}
