import type { components } from "@octokit/openapi-types";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  flattenPermissions,
  formatPermissions,
  formatScope,
  type PermissionName,
  parsePermissions,
  parseScope,
  permissionDrift,
  selectionExceeds,
} from "../../lambdas/core/ledger/access";
import type { PermissionMap, RepositorySelection } from "../../lambdas/core/types";
import { perms, scope } from "./fixtures";

/** GitHub's permission names (the App permissions schema), those of an enterprise aside. */
type GitHubPermission = Exclude<keyof components["schemas"]["app-permissions"], `enterprise_${string}`>;
// Fails to compile when GitHub's published schema names a permission the catalog lacks, or the reverse.
const catalogMatchesGitHub: [
  Exclude<GitHubPermission, PermissionName>,
  Exclude<PermissionName, GitHubPermission>,
] extends [never, never]
  ? true
  : false = true;

describe("the permission catalog", () => {
  it("names every fine-grained permission of GitHub's schema (checked by the compiler)", () => {
    expect(catalogMatchesGitHub).toBe(true);
  });
});

describe("flattenPermissions", () => {
  it.each<{ groups: Record<string, Record<string, string> | undefined>; flat: PermissionMap }>([
    { groups: {}, flat: {} },
    {
      groups: { repository: { contents: "read", issues: "write" } },
      flat: { "repository.contents": "read", "repository.issues": "write" },
    },
    {
      groups: { organization: { members: "read" }, repository: { metadata: "read" }, other: {} },
      flat: { "organization.members": "read", "repository.metadata": "read" },
    },
  ])("$groups → $flat", ({ groups, flat }) => {
    expect(flattenPermissions(groups)).toEqual(flat);
  });
});

describe("parsePermissions", () => {
  it.each<{ text: string; map: PermissionMap }>([
    { text: "", map: {} },
    { text: "contents:read", map: { "repository.contents": "read" } },
    {
      text: "contents:read; issues:write",
      map: { "repository.contents": "read", "repository.issues": "write" },
    },
    {
      text: "contents:read, members:write",
      map: { "repository.contents": "read", "organization.members": "write" },
    },
    {
      text: "contents:read\nissues:write",
      map: { "repository.contents": "read", "repository.issues": "write" },
    },
    { text: "repository.contents=read", map: { "repository.contents": "read" } },
    { text: "  Contents : READ ;  ", map: { "repository.contents": "read" } },
    { text: ";;,\n", map: {} },
    { text: "contents:read; contents:write", map: { "repository.contents": "write" } },
    { text: "email_addresses:read", map: { "other.email_addresses": "read" } },
    // GitHub's qualified names are its own, even one newer than the catalog: a request's permissions
    // exported and imported again come back.
    { text: "repository.brand_new_permission:write", map: { "repository.brand_new_permission": "write" } },
  ])("'$text' → $map", ({ text, map }) => {
    expect(parsePermissions(text)).toEqual({ ok: true, value: map });
  });

  it.each([
    { text: "read:contents", error: /names the level first; did you mean "contents:read"\?/ },
    {
      text: "contnets:read",
      error: /"contnets" is not a GitHub fine-grained permission; did you mean "contents"\?/,
    },
    { text: "bogus:read", error: /"bogus" is not a GitHub fine-grained permission \(e\.g\. contents/ },
    { text: "nogroup.contents:read", error: /"nogroup.contents" is not a GitHub fine-grained permission/ },
    { text: "contents:owner", error: /the level is read, write or admin/ },
    { text: "contents", error: /"contents" is not name:level/ },
    { text: "contents:read; pull_request:write", error: /did you mean "pull_requests"/ },
  ])("refuses '$text' with a suggestion", ({ text, error }) => {
    const parsed = parsePermissions(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(error);
  });

  const mapArb: fc.Arbitrary<PermissionMap> = fc.dictionary(
    fc.constantFrom(
      "repository.contents",
      "repository.issues",
      "repository.pull_requests",
      "organization.members",
      "organization.organization_secrets",
      "other.followers",
    ),
    fc.constantFrom("read", "write", "admin"),
    { maxKeys: 6 },
  );

  it("reads back what formatPermissions wrote, and the text is stable", () => {
    fc.assert(
      fc.property(mapArb, (map) => {
        const text = formatPermissions(map);
        expect(parsePermissions(text)).toEqual({ ok: true, value: map });
        expect(formatPermissions(perms(text))).toBe(text);
      }),
    );
  });
});

describe("permissionDrift", () => {
  it.each<{ live: PermissionMap; approved: string; drift: string[] }>([
    { live: {}, approved: "contents:read", drift: [] },
    { live: { "repository.contents": "read" }, approved: "contents:read", drift: [] },
    { live: { "repository.contents": "read" }, approved: "contents:write", drift: [] },
    { live: { "repository.contents": "write" }, approved: "contents:admin", drift: [] },
    {
      live: { "repository.contents": "write" },
      approved: "contents:read",
      drift: ["repository.contents: write > read"],
    },
    { live: { "repository.metadata": "read" }, approved: "contents:read", drift: [] },
    {
      live: { "repository.metadata": "write" },
      approved: "contents:read",
      drift: ["repository.metadata: write > read"],
    },
    {
      live: { "repository.issues": "write", "organization.members": "read", "repository.contents": "write" },
      approved: "contents:read",
      drift: [
        "organization.members: read > none",
        "repository.contents: write > read",
        "repository.issues: write > none",
      ],
    },
  ])("live $live, approved '$approved' → $drift", ({ live, approved, drift }) => {
    expect(permissionDrift(live, perms(approved))).toEqual(drift);
  });

  it("nothing drifts from what was approved", () => {
    const mapArb = fc.dictionary(
      fc.constantFrom(
        "repository.contents",
        "repository.issues",
        "organization.members",
        "repository.metadata",
      ),
      fc.constantFrom("read", "write", "admin"),
    );
    fc.assert(
      fc.property(mapArb, (map) => {
        expect(permissionDrift(map, map)).toEqual([]);
      }),
    );
  });
});

describe("parseScope", () => {
  it.each([
    { text: "all", selection: "all", repositories: [] },
    { text: "  ALL ", selection: "all", repositories: [] },
    { text: "subset: api, web", selection: "subset", repositories: ["api", "web"] },
    { text: "selected: api", selection: "subset", repositories: ["api"] },
    { text: "only: api web", selection: "subset", repositories: ["api", "web"] },
    { text: "All repositories", selection: "all", repositories: [] },
    { text: "Public repositories (read-only)", selection: "none", repositories: [] },
    { text: "Only select repositories", selection: "subset", repositories: [] },
    { text: "Only select repositories: api, web", selection: "subset", repositories: ["api", "web"] },
    { text: "selected(3)", selection: "subset", repositories: [] },
    { text: "Subset", selection: "subset", repositories: [] },
    { text: "none", selection: "none", repositories: [] },
    { text: "public", selection: "none", repositories: [] },
  ])("'$text' → $selection $repositories", ({ text, selection, repositories }) => {
    expect(parseScope(text)).toEqual({ ok: true, value: { selection, repositories } });
  });

  it.each(["api, web", "allrepos", "see the wiki", "all: api", "all except prod", "only api web"])(
    "refuses '%s', saying what a scope is",
    (text) => {
      const parsed = parseScope(text);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(/all, none, or subset: repo-a, repo-b|only a subset does/);
    },
  );

  it("formats what it reads", () => {
    for (const text of ["all", "none", "subset", "subset: api, web"]) {
      expect(formatScope(scope(text) ?? { selection: "none", repositories: [] })).toBe(text);
    }
  });
});

describe("selectionExceeds", () => {
  it.each([
    { live: "all", scope: "subset: api", exceeds: true },
    { live: "subset", scope: "none", exceeds: true },
    { live: "all", scope: "public", exceeds: true },
    { live: "all", scope: "all", exceeds: false },
    { live: "subset", scope: "subset: api", exceeds: false },
    { live: "subset", scope: "all", exceeds: false },
    { live: "none", scope: "subset", exceeds: false },
    { live: "all", scope: "", exceeds: false },
  ] satisfies { live: RepositorySelection; scope: string; exceeds: boolean }[])(
    "live $live, scope '$scope' → $exceeds",
    ({ live, scope: text, exceeds }) => {
      expect(selectionExceeds(live, scope(text))).toBe(exceeds);
    },
  );
});
