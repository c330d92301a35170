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

/**
 * The level the register approves for a live permission: by its full name, by its name without the group,
 * or implicitly. The short name is only cut out when the full name is not approved (it is a new string).
 */
function approvedLevel(approved: PermissionMap, qualifiedName: string): string {
  return (
    approved[qualifiedName] ??
    approved[qualifiedName.slice(qualifiedName.indexOf(".") + 1)] ??
    IMPLICIT[qualifiedName] ??
    "none"
  );
}

/**
 * Register texts repeat across a ledger (a few shapes of token, a few scopes): each is read once, and the
 * sweep looks the reading up for every token. The result is shared: read-only.
 */
function readOnce<T>(read: (text: string) => T): (text: string) => T {
  const cache = new Map<string, T>();
  return (text) => {
    let value = cache.get(text);
    if (value === undefined) {
      if (cache.size >= 10_000) cache.clear();
      value = read(text);
      cache.set(text, value);
    }
    return value;
  };
}

const approvedPermissions = readOnce(parsePermissions);

/** Live permissions above what the register approved, e.g. `repository.contents: write > read`, by name. */
export function permissionDrift(live: PermissionMap, approvedText: string): string[] {
  const approved = approvedPermissions(approvedText);
  const over: string[] = [];
  for (const name of Object.keys(live)) {
    if ((LEVELS[live[name] ?? "none"] ?? 0) > (LEVELS[approvedLevel(approved, name)] ?? 0)) over.push(name);
  }
  // Sorting only the names that drifted (most tokens have none) lists them in the same order.
  return over.sort().map((name) => `${name}: ${live[name] ?? "none"} > ${approvedLevel(approved, name)}`);
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

const approvedSelectionOnce = readOnce(approvedSelection);

export function selectionExceeds(live: RepositorySelection, scope: string): boolean {
  const approved = approvedSelectionOnce(scope);
  return approved !== null && SELECTION_RANK[live] > SELECTION_RANK[approved];
}
