import type { PermissionMap, RepositorySelection } from "../types";

/**
 * What a token may reach, structured: its permissions (GitHub's fine-grained names, `group.name → level`)
 * and its repository scope. Parsed once, when a person writes them (CSV import, register, update); the
 * sweep compares structures, never text.
 */

/**
 * GitHub's fine-grained permission names by group, as `listPatGrants` reports them (`permissions.repository`,
 * `.organization`, `.other`). test/unit/access.test.ts checks this against @octokit/openapi-types.
 */
const CATALOG = {
  repository: [
    "actions",
    "administration",
    "artifact_metadata",
    "attestations",
    "checks",
    "code_quality",
    "codespaces",
    "contents",
    "dependabot_secrets",
    "deployments",
    "discussions",
    "environments",
    "issues",
    "merge_queues",
    "metadata",
    "packages",
    "pages",
    "pull_requests",
    "repository_custom_properties",
    "repository_hooks",
    "repository_projects",
    "secret_scanning_alerts",
    "secrets",
    "security_events",
    "single_file",
    "statuses",
    "vulnerability_alerts",
    "workflows",
  ],
  organization: [
    "custom_properties_for_organizations",
    "members",
    "organization_administration",
    "organization_announcement_banners",
    "organization_copilot_agent_settings",
    "organization_copilot_seat_management",
    "organization_custom_org_roles",
    "organization_custom_properties",
    "organization_custom_roles",
    "organization_events",
    "organization_hooks",
    "organization_packages",
    "organization_personal_access_token_requests",
    "organization_personal_access_tokens",
    "organization_plan",
    "organization_projects",
    "organization_secrets",
    "organization_self_hosted_runners",
    "organization_user_blocking",
  ],
  other: [
    "email_addresses",
    "followers",
    "git_ssh_keys",
    "gpg_keys",
    "interaction_limits",
    "profile",
    "starring",
  ],
} as const;

export const PERMISSION_GROUPS = Object.keys(CATALOG) as (keyof typeof CATALOG)[];
/** A fine-grained permission's short name, as GitHub's docs and the register write it. */
export type PermissionName = (typeof CATALOG)[keyof typeof CATALOG][number];

/** Short name (`contents`) → qualified name (`repository.contents`). Short names are unique across groups. */
const QUALIFIED = new Map<string, string>(
  PERMISSION_GROUPS.flatMap((group) => CATALOG[group].map((name) => [name, `${group}.${name}`] as const)),
);
/** `group.name` as GitHub lists permissions, in one of its groups. */
const QUALIFIED_NAME = new RegExp(`^(?:${PERMISSION_GROUPS.join("|")})\\.[a-z][a-z_]*$`);

const LEVELS = ["read", "write", "admin"] as const;
const RANK: Record<string, number> = { none: 0, read: 1, write: 2, admin: 3 };
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

/** Every permission's short name (`contents`, `organization_administration`), as a person writes it. */
export const PERMISSION_NAMES: readonly string[] = [...QUALIFIED.keys()];

/** Whether `level` grants at least `floor` (`admin` ≥ `write` ≥ `read`). */
export function levelAtLeast(level: string, floor: (typeof LEVELS)[number]): boolean {
  return (RANK[level] ?? 0) >= (RANK[floor] ?? 0);
}

/** How a person writes a permission: its short name where GitHub has it, else the qualified name. */
export function shortName(qualified: string): string {
  const short = qualified.slice(qualified.indexOf(".") + 1);
  return QUALIFIED.get(short) === qualified ? short : qualified;
}

/** The text form, as the CSV cell and the CLI take it: `contents:read; issues:write`, in a stable order. */
export function formatPermissions(perms: PermissionMap): string {
  return Object.keys(perms)
    .sort()
    .map((name) => `${shortName(name)}:${perms[name]}`)
    .join("; ");
}

/** Edit distance, for suggesting the permission a person meant. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/** The candidate nearest to `word`, when it is near enough to be a likely typo. */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = distance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function unknownPermission(name: string, level: string): string {
  if ((LEVELS as readonly string[]).includes(name) && QUALIFIED.has(level)) {
    return `"${name}:${level}" names the level first; did you mean "${level}:${name}"?`;
  }
  const suggestion = nearest(name.replace(/^[a-z]+\./, ""), QUALIFIED.keys());
  return `"${name}" is not a GitHub fine-grained permission${suggestion ? `; did you mean "${suggestion}"?` : " (e.g. contents, issues, pull_requests)"}`;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Reads the permissions a person wrote: `contents:read; issues:write` (`;`, `,` or new lines between,
 * `:` or `=` inside, names short or qualified, any case). Every name and level is checked against GitHub's.
 */
export function parsePermissions(text: string): Parsed<PermissionMap> {
  const perms: PermissionMap = {};
  const problems: string[] = [];
  for (const part of text.split(/[;,\n]/)) {
    if (part.trim() === "") continue;
    const [rawName = "", rawLevel = "", ...rest] = part.split(/[:=]/).map((s) => s.trim().toLowerCase());
    if (rawName === "" || rawLevel === "" || rest.length > 0) {
      problems.push(`"${part.trim()}" is not name:level (e.g. contents:read)`);
      continue;
    }
    // A qualified name is GitHub's own (a grant or request lists it so, and an export writes it back): taken
    // as it is, even one newer than the catalog. A short name must be one the catalog knows.
    const qualified = QUALIFIED_NAME.test(rawName) ? rawName : QUALIFIED.get(rawName);
    if (qualified === undefined) {
      problems.push(unknownPermission(rawName, rawLevel));
      continue;
    }
    if (!(LEVELS as readonly string[]).includes(rawLevel)) {
      problems.push(`"${rawName}:${rawLevel}": the level is read, write or admin`);
      continue;
    }
    perms[qualified] = rawLevel;
  }
  return problems.length > 0 ? { ok: false, error: problems.join("; ") } : { ok: true, value: perms };
}

/** Live permissions above what the register approved, e.g. `repository.contents: write > read`, by name. */
export function permissionDrift(live: PermissionMap, approved: PermissionMap): string[] {
  const approvedLevel = (name: string) => approved[name] ?? IMPLICIT[name] ?? "none";
  return Object.keys(live)
    .filter((name) => (RANK[live[name] ?? "none"] ?? 0) > (RANK[approvedLevel(name)] ?? 0))
    .sort()
    .map((name) => `${name}: ${live[name] ?? "none"} > ${approvedLevel(name)}`);
}

/** The repositories a token is approved for: all, none (public only) or a subset, with their names. */
export interface Scope {
  selection: RepositorySelection;
  repositories: string[];
}

const SELECTION_WORDS: Readonly<Record<string, RepositorySelection>> = {
  all: "all",
  none: "none",
  public: "none",
  subset: "subset",
  selected: "subset",
  only: "subset",
};

/** Words GitHub and runbooks put after the selection ("All repositories", "Only select repositories"). */
const SCOPE_WORDS = /^(?:select|selected|repository|repositories|repos?|only|read-only|\([^)]*\))$/i;

/**
 * `all`, `none`, `subset: api, web`, and GitHub's own wording: "All repositories", "Public repositories
 * (read-only)", "Only select repositories: api, web". Repositories are named after a colon, only for a
 * subset; any other word makes it not a scope, so that "all except prod" is never read as all.
 */
export function parseScope(text: string): Parsed<Scope> {
  const [head = "", list] = text.split(/:(.*)/s);
  const [, word = "", after = ""] = /^\s*([A-Za-z]*)(.*)$/s.exec(head) ?? [];
  const rest = after
    .trim()
    .split(/\s+(?![^(]*\))/)
    .filter(Boolean);
  const selection = SELECTION_WORDS[word.toLowerCase()];
  if (selection === undefined || !rest.every((w) => SCOPE_WORDS.test(w))) {
    return { ok: false, error: "is not a scope; expected all, none, or subset: repo-a, repo-b" };
  }
  const repositories = (list ?? "")
    .split(/[,;\s]+/)
    .map((r) => r.trim())
    .filter(Boolean);
  if (selection !== "subset" && repositories.length > 0) {
    return { ok: false, error: "names repositories, which only a subset does: subset: repo-a, repo-b" };
  }
  return { ok: true, value: { selection, repositories } };
}

/**
 * A scope as the register kept it before it was checked: by its first word, as the old sweep read it
 * (free text that names no selection approved none in particular: null).
 */
export function legacyScope(text: string): Scope | null {
  const parsed = parseScope(text);
  if (parsed.ok) return parsed.value;
  const selection =
    SELECTION_WORDS[
      text
        .trim()
        .toLowerCase()
        .split(/[\s:;,(]/)[0] ?? ""
    ];
  return selection ? { selection, repositories: [] } : null;
}

export function formatScope(scope: Scope): string {
  return scope.repositories.length > 0
    ? `${scope.selection}: ${scope.repositories.join(", ")}`
    : scope.selection;
}

const SELECTION_RANK: Record<RepositorySelection, number> = { none: 0, subset: 1, all: 2 };

/** Whether the live repository selection reaches beyond the approved scope. */
export function selectionExceeds(live: RepositorySelection, scope: Scope | null): boolean {
  return scope !== null && SELECTION_RANK[live] > SELECTION_RANK[scope.selection];
}
