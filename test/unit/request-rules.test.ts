import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../lambdas/core/policy";
import {
  decideByRules,
  explainRules,
  type RequestRule,
  RequestRulesSchema,
} from "../../lambdas/core/request-rules";
import type { PatRequest } from "../../lambdas/core/types";
import { days, NOW, request } from "./fixtures";

const RULES = RequestRulesSchema.parse([
  { name: "no-endless-tokens", decision: "deny", when: { lifetimeOverDays: 90 } },
  {
    name: "no-admin",
    decision: "deny",
    when: { anyPermission: ["administration:write", "organization_*:write"] },
  },
  {
    name: "small-read-only",
    decision: "approve",
    when: { readOnly: true, maxRepositories: 3, reasonGiven: true, expiresWithinDays: 30 },
  },
]);

function subject(overrides: Partial<PatRequest> = {}, repositoryCount: number | null = 2) {
  return { request: request({ createdAt: NOW.toISOString(), ...overrides }), repositoryCount };
}

describe("approval rules: first match wins, no match leaves it to a person", () => {
  const cases: [string, Partial<PatRequest>, number | null, string | null][] = [
    ["a token without expiry is denied", { tokenExpiresAt: null }, 2, "no-endless-tokens"],
    ["a 200-day token is denied", { tokenExpiresAt: days(200) }, 2, "no-endless-tokens"],
    [
      "repository administration at write is denied",
      { permissions: { "repository.administration": "write" } },
      1,
      "no-admin",
    ],
    [
      "an organization permission at admin is denied (admin is at least write)",
      { permissions: { "organization.organization_hooks": "admin" } },
      1,
      "no-admin",
    ],
    ["read-only on 2 repos with a reason, 30 days: approved", {}, 2, "small-read-only"],
    ["read-only on 4 repos: a person decides", {}, 4, null],
    ["read-only on every repository: a person decides", { repositorySelection: "all" }, null, null],
    ["no reason given: a person decides", { reason: null }, 2, null],
    ["asks to write issues: a person decides", { permissions: { "repository.issues": "write" } }, 2, null],
    ["expires in 60 days: a person decides", { tokenExpiresAt: days(60) }, 2, null],
    ["an unknown repository count never approves", {}, null, null],
    // A level the rules do not know counts as the highest: it is never taken for read-only.
    [
      "a permission at an unknown level is not read-only",
      { permissions: { "repository.contents": "Write" } },
      1,
      null,
    ],
    [
      "an unknown level still meets a deny rule's floor",
      { permissions: { "repository.administration": "owner" } },
      1,
      "no-admin",
    ],
  ];
  it.each(cases)("%s", (_, overrides, count, expected) => {
    const decided = decideByRules(RULES, subject(overrides, count));
    expect(decided?.rule.name ?? null).toBe(expected);
    if (decided) {
      expect(decided.actor).toBe(`rule:${expected}`);
      expect(decided.reason).toContain(`(patrol rule ${expected})`);
      expect(decided.reason.length).toBeLessThanOrEqual(1024);
    }
  });

  it("says why each rule did or did not match, stopping at the first that did", () => {
    const verdicts = explainRules(RULES, subject({ tokenExpiresAt: days(20) }, 5));
    expect(verdicts.map((v) => [v.rule.name, v.matches])).toEqual([
      ["no-endless-tokens", false],
      ["no-admin", false],
      ["small-read-only", false],
    ]);
    const last = verdicts.at(-1)?.findings.find((f) => f.condition === "maxRepositories");
    expect(last).toEqual({ condition: "maxRepositories", holds: false, says: "5 repositories (at most 3)" });
  });

  it("a rule's own reason is what GitHub is told, marked with the rule", () => {
    const rules = RequestRulesSchema.parse([
      {
        name: "no-expiry",
        decision: "deny",
        when: { noExpiry: true },
        reason: "Tokens must expire; pick 90 days or less.",
      },
    ]);
    expect(decideByRules(rules, subject({ tokenExpiresAt: null }))?.reason).toBe(
      "Tokens must expire; pick 90 days or less. (patrol rule no-expiry)",
    );
  });

  it("no rules: every request is a person's", () => {
    expect(decideByRules(parsePolicy({}).requestRules, subject())).toBeNull();
  });
});

describe("a rule that cannot be evaluated is refused, naming it", () => {
  const refused: [string, unknown, RegExp][] = [
    ["an unknown condition", { name: "x", decision: "deny", when: { oldToken: true } }, /rule x.*oldToken/],
    ["no condition", { name: "y", decision: "deny", when: {} }, /rule y.*at least one condition/],
    [
      "a permission that does not exist",
      { name: "z", decision: "deny", when: { anyPermission: ["adminstration:write"] } },
      /rule z.*adminstration:write matches no fine-grained permission \(did you mean administration\?\)/,
    ],
    [
      "an approval without a reason or an end",
      { name: "yes-to-all", decision: "approve", when: { readOnly: true } },
      /rule yes-to-all.*must require reasonGiven: true and an expiresWithinDays/,
    ],
    [
      "a decision that is not one",
      { name: "w", decision: "maybe", when: { noExpiry: true } },
      /rule w.*decision/,
    ],
    [
      "an approval that bounds neither the level nor the repositories",
      { name: "any-30-days", decision: "approve", when: { reasonGiven: true, expiresWithinDays: 30 } },
      /rule any-30-days.*must bound the access: readOnly: true or a maxRepositories/,
    ],
    [
      "a bad name",
      { name: "Bad Name", decision: "deny", when: { noExpiry: true } },
      /rule Bad Name.*short name/,
    ],
  ];
  it.each(refused)("%s", (_, rule, message) => {
    expect(() => parsePolicy({ requestRules: [rule] })).toThrow(message);
  });

  it("two rules of one name", () => {
    const rule = { name: "dup", decision: "deny", when: { noExpiry: true } };
    expect(() => parsePolicy({ requestRules: [rule, rule] })).toThrow(/rule dup is named twice/);
  });

  it("keeps the rules as given, in order", () => {
    const rules: RequestRule[] = parsePolicy({ requestRules: RULES }).requestRules;
    expect(rules.map((r) => r.name)).toEqual(["no-endless-tokens", "no-admin", "small-read-only"]);
  });
});
