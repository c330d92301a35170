import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  approvedSelection,
  flattenPermissions,
  formatPermissions,
  parsePermissions,
  permissionDrift,
  selectionExceeds,
} from "../../lambdas/core/permissions";
import type { PermissionMap, RepositorySelection } from "../../lambdas/core/types";

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
    {
      groups: { organization: undefined, repository: { contents: "admin" } },
      flat: { "repository.contents": "admin" },
    },
  ])("$groups → $flat", ({ groups, flat }) => {
    expect(flattenPermissions(groups)).toEqual(flat);
  });
});

describe("formatPermissions", () => {
  it.each<{ perms: PermissionMap; text: string }>([
    { perms: {}, text: "" },
    { perms: { "repository.contents": "read" }, text: "repository.contents:read" },
    {
      perms: { "repository.issues": "write", "organization.members": "read", "repository.contents": "read" },
      text: "organization.members:read; repository.contents:read; repository.issues:write",
    },
  ])("$perms → '$text'", ({ perms, text }) => {
    expect(formatPermissions(perms)).toBe(text);
  });

  it("does not depend on the order of the keys", () => {
    expect(formatPermissions({ b: "read", a: "write" })).toBe(formatPermissions({ a: "write", b: "read" }));
  });
});

describe("parsePermissions", () => {
  it.each([
    { text: "", perms: {} },
    { text: "contents:read", perms: { contents: "read" } },
    { text: "contents:read; issues:write", perms: { contents: "read", issues: "write" } },
    { text: "contents:read, issues:write", perms: { contents: "read", issues: "write" } },
    { text: "contents:read\nissues:write", perms: { contents: "read", issues: "write" } },
    { text: "repository.contents=read", perms: { "repository.contents": "read" } },
    { text: "  Contents : READ ;  ", perms: { contents: "read" } },
    { text: "contents; :read; issues:", perms: {} },
    { text: ";;,\n", perms: {} },
    { text: "contents:read; contents:write", perms: { contents: "write" } },
  ])("'$text' → $perms", ({ text, perms }) => {
    expect(parsePermissions(text)).toEqual(perms);
  });

  const nameArb = fc
    .tuple(fc.constantFrom("repository", "organization", "other"), fc.stringMatching(/^[a-z][a-z_]{0,15}$/))
    .map(([group, name]) => `${group}.${name}`);
  const permsArb: fc.Arbitrary<PermissionMap> = fc.dictionary(
    nameArb,
    fc.constantFrom("read", "write", "admin"),
    { maxKeys: 8 },
  );

  it("reads back what formatPermissions wrote", () => {
    fc.assert(
      fc.property(permsArb, (perms) => {
        expect(parsePermissions(formatPermissions(perms))).toEqual(perms);
      }),
    );
  });

  it("formatPermissions is stable over a round trip", () => {
    fc.assert(
      fc.property(permsArb, (perms) => {
        const text = formatPermissions(perms);
        expect(formatPermissions(parsePermissions(text))).toBe(text);
      }),
    );
  });
});

describe("permissionDrift", () => {
  it.each<{ live: PermissionMap; approved: string; drift: string[] }>([
    { live: {}, approved: "contents:read", drift: [] },
    { live: { "repository.contents": "read" }, approved: "contents:read", drift: [] },
    { live: { "repository.contents": "read" }, approved: "repository.contents:read", drift: [] },
    { live: { "repository.contents": "read" }, approved: "contents:write", drift: [] },
    { live: { "repository.contents": "write" }, approved: "contents:admin", drift: [] },
    {
      live: { "repository.contents": "write" },
      approved: "contents:read",
      drift: ["repository.contents: write > read"],
    },
    {
      live: { "repository.contents": "admin" },
      approved: "repository.contents=write",
      drift: ["repository.contents: admin > write"],
    },
    {
      live: { "repository.contents": "write" },
      approved: "CONTENTS:READ",
      drift: ["repository.contents: write > read"],
    },
    { live: { "repository.metadata": "read" }, approved: "contents:read", drift: [] },
    { live: { "repository.metadata": "read" }, approved: "", drift: [] },
    {
      live: { "repository.metadata": "write" },
      approved: "contents:read",
      drift: ["repository.metadata: write > read"],
    },
    {
      live: { "repository.issues": "read" },
      approved: "contents:read",
      drift: ["repository.issues: read > none"],
    },
    { live: { "repository.contents": "none" }, approved: "", drift: [] },
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
    expect(permissionDrift(live, approved)).toEqual(drift);
  });

  it("a qualified approval applies to its group only", () => {
    expect(permissionDrift({ "organization.contents": "read" }, "repository.contents:read")).toEqual([
      "organization.contents: read > none",
    ]);
  });

  it("nothing drifts from its own formatted permissions", () => {
    const permsArb = fc.dictionary(
      fc.constantFrom(
        "repository.contents",
        "repository.issues",
        "organization.members",
        "repository.metadata",
      ),
      fc.constantFrom("read", "write", "admin"),
    );
    fc.assert(
      fc.property(permsArb, (perms) => {
        expect(permissionDrift(perms, formatPermissions(perms))).toEqual([]);
      }),
    );
  });
});

describe("approvedSelection", () => {
  it.each([
    { scope: "all", selection: "all" },
    { scope: "  ALL repositories ", selection: "all" },
    { scope: "subset: api, web", selection: "subset" },
    { scope: "Subset", selection: "subset" },
    { scope: "selected(3)", selection: "subset" },
    { scope: "selected repositories: api", selection: "subset" },
    { scope: "only api", selection: "subset" },
    { scope: "none", selection: "none" },
    { scope: "public", selection: "none" },
    { scope: "public repositories (read-only)", selection: "none" },
    { scope: "", selection: null },
    { scope: "   ", selection: null },
    { scope: "api, web", selection: null },
    { scope: "allrepos", selection: null },
  ])("'$scope' → $selection", ({ scope, selection }) => {
    expect(approvedSelection(scope)).toBe(selection);
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
    { live: "all", scope: "see the wiki", exceeds: false },
  ] satisfies { live: RepositorySelection; scope: string; exceeds: boolean }[])(
    "live $live, scope '$scope' → $exceeds",
    ({ live, scope, exceeds }) => {
      expect(selectionExceeds(live, scope)).toBe(exceeds);
    },
  );
});
