/**
 * Approval rules: a short, declarative list that decides the routine requests, so a person decides only
 * the rest. Each rule names a decision and the conditions under which it applies (all must hold); the
 * first rule that matches decides; no match leaves the request to a person. Off unless rules are given.
 *
 *   [{ "name": "no-endless-tokens", "decision": "deny", "when": { "lifetimeOverDays": 90 } },
 *    { "name": "no-admin", "decision": "deny", "when": { "anyPermission": ["administration:write", "organization_*:write"] } },
 *    { "name": "small-read-only", "decision": "approve",
 *      "when": { "readOnly": true, "maxRepositories": 3, "reasonGiven": true, "expiresWithinDays": 30 } }]
 */
import * as z from "zod";
import { levelAtLeast, nearest, PERMISSION_NAMES, shortName } from "./ledger/access";
import { type ChangeContext, LedgerChanges } from "./ledger/changes";
import { REASON_MAX } from "./ledger/fields";
import type { EntryWrite, LedgerEntry, PatRequest } from "./types";

const DAY_MS = 86_400_000;
/** " (patrol rule <name>)", with the longest name: what a reason must leave room for within GitHub's 1,024. */
const RULE_SUFFIX_MAX = " (patrol rule )".length + 63;
const LEVEL_NAMES = ["read", "write", "admin"] as const;

/** `name[:level]`: a permission's short name (`*` matches any run of characters) and the least level. */
const PermissionPattern = z
  .string()
  .regex(/^[a-z_*]+(?::(?:read|write|admin))?$/, "expected name or name:level, e.g. administration:write")
  .superRefine((pattern, ctx) => {
    const name = pattern.split(":")[0] ?? "";
    if (!PERMISSION_NAMES.some((p) => globOf(name).test(p))) {
      const near = nearest(name, PERMISSION_NAMES);
      ctx.addIssue({
        code: "custom",
        message: `${pattern} matches no fine-grained permission${near ? ` (did you mean ${near}?)` : ""}`,
      });
    }
  });

const ConditionsSchema = z
  .object({
    /** The token never expires. */
    noExpiry: z.literal(true).optional(),
    /** From the request to the token's expiry is longer than this (a token without expiry is too). */
    lifetimeOverDays: z.number().int().positive().optional(),
    /** Any requested permission matches one of these patterns at its level or above. */
    anyPermission: z.array(PermissionPattern).nonempty().optional(),
    /** Every requested permission is read-only. */
    readOnly: z.literal(true).optional(),
    /** At most this many repositories, named one by one (`all` never qualifies). */
    maxRepositories: z.number().int().nonnegative().optional(),
    /** The requester stated a reason. */
    reasonGiven: z.literal(true).optional(),
    /** The token expires within this many days of the request. */
    expiresWithinDays: z.number().int().positive().optional(),
  })
  .strict()
  .refine((when) => Object.keys(when).length > 0, "a rule needs at least one condition");

export const RequestRuleSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "expected a short name: lower-case letters, digits, hyphens"),
    decision: z.enum(["approve", "deny"]),
    when: ConditionsSchema,
    /** What GitHub tells the requester, and the ledger records; a default says what matched. */
    reason: z
      .string()
      .trim()
      .min(1)
      .max(REASON_MAX - RULE_SUFFIX_MAX)
      .optional(),
    /** An approval's risks, as the runbook asks of every approval; a default says what the rule allows. */
    risks: z.string().trim().min(1).max(REASON_MAX).optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    // An automatic approval is the runbook's approval without a person: it needs the stated reason (the
    // purpose) and an end, or it would grant what a person would have questioned.
    if (
      rule.decision === "approve" &&
      (!rule.when.reasonGiven || rule.when.expiresWithinDays === undefined)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["when"],
        message: "an approve rule must require reasonGiven: true and an expiresWithinDays",
      });
    }
    // Nor may it approve any access at all: it bounds what is granted, by level or by repositories.
    if (rule.decision === "approve" && !rule.when.readOnly && rule.when.maxRepositories === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["when"],
        message: "an approve rule must bound the access: readOnly: true or a maxRepositories",
      });
    }
  });

export type RequestRule = z.output<typeof RequestRuleSchema>;
type Conditions = RequestRule["when"];

/** The rules in order; a rule that cannot be evaluated is refused by its name, with what is wrong. */
export const RequestRulesSchema = z
  .array(z.unknown())
  .default([])
  .transform((items, ctx): RequestRule[] => {
    const rules: RequestRule[] = [];
    items.forEach((item, i) => {
      const named = (item as { name?: unknown } | null)?.name;
      const name = typeof named === "string" ? named : `#${i + 1}`;
      const parsed = RequestRuleSchema.safeParse(item);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const where = issue.path.length > 0 ? ` (${issue.path.join(".")})` : "";
          ctx.addIssue({
            code: "custom",
            path: [i, ...issue.path],
            message: `rule ${name}${where}: ${issue.message}`,
          });
        }
        return;
      }
      if (rules.some((r) => r.name === parsed.data.name)) {
        ctx.addIssue({ code: "custom", path: [i, "name"], message: `rule ${name} is named twice` });
        return;
      }
      rules.push(parsed.data);
    });
    return rules;
  });

/**
 * Whether a requested `level` reaches `floor`. A level GitHub may add one day (or a payload's odd case)
 * counts as the highest: a rule fails closed, never approving as read-only what it cannot read.
 */
function reaches(level: string, floor: (typeof LEVEL_NAMES)[number]): boolean {
  return (LEVEL_NAMES as readonly string[]).includes(level) ? levelAtLeast(level, floor) : true;
}

function globOf(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
}

/** What a request offers the rules: the request, and the number of repositories it names (if known). */
export interface RuleSubject {
  request: PatRequest;
  /** For a `subset` selection, how many repositories; null when not known. */
  repositoryCount: number | null;
}

/** One condition's finding, in words. */
export interface Finding {
  condition: keyof Conditions;
  holds: boolean;
  says: string;
}

function lifetimeDays(request: PatRequest): number | null {
  if (!request.tokenExpiresAt) return null;
  return (Date.parse(request.tokenExpiresAt) - Date.parse(request.createdAt)) / DAY_MS;
}

function permissionsText(request: PatRequest): string {
  const names = Object.entries(request.permissions).map(([name, level]) => `${shortName(name)}:${level}`);
  return names.length > 0 ? names.join(", ") : "no permissions";
}

function check(
  condition: keyof Conditions,
  when: Conditions,
  { request, repositoryCount }: RuleSubject,
): Finding {
  const found = (holds: boolean, says: string): Finding => ({ condition, holds, says });
  switch (condition) {
    case "noExpiry":
      return request.tokenExpiresAt === null
        ? found(true, "the token never expires")
        : found(false, `the token expires ${request.tokenExpiresAt.slice(0, 10)}`);
    case "lifetimeOverDays": {
      const limit = when.lifetimeOverDays ?? 0;
      const days = lifetimeDays(request);
      if (days === null) return found(true, `the token never expires (over ${limit} days)`);
      return found(
        days > limit,
        `a lifetime of ${Math.round(days)} days (${days > limit ? "over" : "within"} ${limit})`,
      );
    }
    case "anyPermission": {
      const patterns = when.anyPermission ?? [];
      const hits = Object.entries(request.permissions).filter(([name, level]) =>
        patterns.some((pattern) => {
          const [glob = "", floor] = pattern.split(":");
          return (
            globOf(glob).test(shortName(name)) &&
            reaches(level, (floor ?? "read") as (typeof LEVEL_NAMES)[number])
          );
        }),
      );
      return hits.length > 0
        ? found(true, `asks for ${hits.map(([n, l]) => `${shortName(n)}:${l}`).join(", ")}`)
        : found(false, `asks for none of ${patterns.join(", ")}`);
    }
    case "readOnly": {
      const writes = Object.entries(request.permissions).filter(([, level]) => reaches(level, "write"));
      return writes.length === 0
        ? found(true, `read-only (${permissionsText(request)})`)
        : found(false, `asks to write: ${writes.map(([n, l]) => `${shortName(n)}:${l}`).join(", ")}`);
    }
    case "maxRepositories": {
      const max = when.maxRepositories ?? 0;
      if (request.repositorySelection === "none") return found(true, "no repositories");
      if (request.repositorySelection === "all") return found(false, "every repository of the org");
      if (repositoryCount === null) return found(false, "an unknown number of repositories");
      return found(repositoryCount <= max, `${repositoryCount} repositories (at most ${max})`);
    }
    case "reasonGiven":
      return request.reason?.trim()
        ? found(true, `a reason is given: “${request.reason.trim().slice(0, 80)}”`)
        : found(false, "no reason given");
    case "expiresWithinDays": {
      const limit = when.expiresWithinDays ?? 0;
      const days = lifetimeDays(request);
      if (days === null) return found(false, "the token never expires");
      return found(
        days <= limit,
        `expires in ${Math.round(days)} days (${days <= limit ? "within" : "over"} ${limit})`,
      );
    }
  }
}

export interface RuleVerdict {
  rule: RequestRule;
  findings: Finding[];
  matches: boolean;
}

/** Every rule's findings, in order, stopping at the first that matches: what `requests explain` shows. */
export function explainRules(rules: readonly RequestRule[], subject: RuleSubject): RuleVerdict[] {
  const verdicts: RuleVerdict[] = [];
  for (const rule of rules) {
    const findings = (Object.keys(rule.when) as (keyof Conditions)[]).map((c) =>
      check(c, rule.when, subject),
    );
    const matches = findings.every((f) => f.holds);
    verdicts.push({ rule, findings, matches });
    if (matches) break;
  }
  return verdicts;
}

/** The decision the rules make of a request, or null: a person decides. */
export interface RuleDecision {
  rule: RequestRule;
  decision: "approve" | "deny";
  /** Sent to GitHub (≤ 1,024 characters) and recorded in the ledger. */
  reason: string;
  /** For an approval: the ledger's `risks`. */
  risks: string;
  actor: string;
}

export function decideByRules(rules: readonly RequestRule[], subject: RuleSubject): RuleDecision | null {
  const verdict = explainRules(rules, subject).find((v) => v.matches);
  if (!verdict) return null;
  const { rule, findings } = verdict;
  const matched = findings.map((f) => f.says).join("; ");
  const reason = `${rule.reason ?? `${rule.decision === "approve" ? "Approved" : "Denied"} automatically: ${matched}`} (patrol rule ${rule.name})`;
  return {
    rule,
    decision: rule.decision,
    reason: reason.slice(0, REASON_MAX),
    risks: rule.risks ?? `within rule ${rule.name}: ${matched}`.slice(0, REASON_MAX),
    actor: `rule:${rule.name}`,
  };
}

/** Whether any rule looks at the number of repositories (which a listed request does not carry). */
export function needsRepositoryCount(rules: readonly RequestRule[]): boolean {
  return rules.some((r) => r.when.maxRepositories !== undefined);
}

/**
 * The rules' verdict on an entry's request, recorded once: a request is put to the rules once (by its
 * delivery, or by the sweep when no delivery did), and the digest says once what they decided.
 */
export function recordRuleDecision(
  entries: readonly LedgerEntry[],
  entryId: string,
  verdict: { requestId: number; decided: RuleDecision | null; applied: boolean },
  ctx: ChangeContext,
): EntryWrite[] {
  const changes = new LedgerChanges(entries, ctx);
  const entry = changes.get(entryId);
  if (!entry || entry.ruleDecision?.requestId === verdict.requestId) return [];
  const { decided } = verdict;
  changes.update(
    entryId,
    {
      ruleDecision: {
        requestId: verdict.requestId,
        rule: decided?.rule.name ?? null,
        decision: decided?.decision ?? null,
        reason: decided?.reason ?? "",
        at: ctx.now.toISOString(),
        applied: verdict.applied,
      },
    },
    "rules",
    decided
      ? `request ${verdict.requestId}: rule ${decided.rule.name} ${verdict.applied ? "decided" : "would decide (report mode)"}: ${decided.decision}`
      : `request ${verdict.requestId}: no approval rule matches; a person decides`,
  );
  return changes.writes();
}
