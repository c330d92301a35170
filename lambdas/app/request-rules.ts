import type { ChangeContext } from "../core/ledger/changes";
import {
  explainRules,
  needsRepositoryCount,
  type RequestRule,
  type RuleDecision,
  type RuleSubject,
  type RuleVerdict,
  recordRuleDecision,
} from "../core/request-rules";
import type { PatRequest } from "../core/types";
import { commit } from "./commit";
import { reviewRequest } from "./keep-register";
import type { GrantSource, Ledger } from "./ports";

/** What a rule decision needs: GitHub (to review, to count a request's repositories) and the ledger. */
export interface RuleDeps {
  github: GrantSource;
  ledger: Ledger;
}

/** What a rule decided, as a delivery and a sweep report it. */
export interface RuleOutcome {
  outcome: string;
  entryId: string | null;
  rule: { name: string; decision: "approve" | "deny"; reason: string };
  /** False in report mode: the rule's decision is only said, and a person decides. */
  applied: boolean;
}

/**
 * What the rules are shown of a request: the request, and (only when a rule asks and the request names
 * repositories) how many it names, which GitHub's listing does not say: one call, made only then.
 */
export async function ruleSubject(
  deps: Pick<RuleDeps, "github">,
  rules: readonly RequestRule[],
  org: string,
  request: PatRequest,
  knownCount?: number | null,
): Promise<RuleSubject> {
  if (knownCount != null || request.repositorySelection !== "subset" || !needsRepositoryCount(rules)) {
    return { request, repositoryCount: knownCount ?? null };
  }
  return { request, repositoryCount: await deps.github.requestRepositoryCount(org, request.requestId) };
}

/** `patrol requests explain`: which rule would decide the pending request, and why each did or did not. */
export async function explainRequest(
  deps: Pick<RuleDeps, "github">,
  rules: readonly RequestRule[],
  org: string,
  requestId: number,
): Promise<{ request: PatRequest; repositoryCount: number | null; verdicts: RuleVerdict[] } | null> {
  const request = (await deps.github.listRequests(org)).find((r) => r.requestId === requestId);
  if (!request) return null;
  const subject = await ruleSubject(deps, rules, org, request);
  return { request, repositoryCount: subject.repositoryCount, verdicts: explainRules(rules, subject) };
}

/**
 * A rule's decision carried out as a person's review is (`patrol ledger approve`/`deny`): the intent and
 * the rule as actor recorded first, then GitHub told, with the reason, then the outcome recorded.
 */
export async function applyRule(
  deps: RuleDeps,
  org: string,
  request: PatRequest,
  entryId: string,
  decided: RuleDecision,
  ctx: ChangeContext,
  mode: "enforce" | "report",
): Promise<RuleOutcome> {
  const rule = { name: decided.rule.name, decision: decided.decision, reason: decided.reason };
  const done = decided.decision === "approve" ? "approved" : "denied";
  // Report mode changes nothing at GitHub: the rule's decision is said, and a person makes it.
  if (mode === "report") {
    await rememberVerdict(deps, org, entryId, { requestId: request.requestId, decided, applied: false }, ctx);
    return {
      outcome: `request ${request.requestId} would be ${done} by rule ${rule.name} (report mode: a person decides)`,
      entryId: null,
      rule,
      applied: false,
    };
  }
  const { entry } = await reviewRequest(
    deps,
    { org, by: decided.actor, writer: "review", runId: ctx.runId ?? "rule", now: ctx.now },
    {
      requestId: request.requestId,
      decision: decided.decision,
      fields: decided.decision === "approve" ? { risks: decided.risks } : {},
      reason: decided.reason,
      githubReason: decided.reason,
    },
  );
  await rememberVerdict(
    deps,
    org,
    entry.entryId,
    { requestId: request.requestId, decided, applied: true },
    ctx,
  );
  return {
    outcome: `request ${request.requestId} ${done} by rule ${rule.name}: ${entry.entryId} is ${entry.status}`,
    entryId: entry.entryId,
    rule,
    applied: true,
  };
}

/**
 * The rules' verdict kept in the entry (`recordRuleDecision`): a request is put to the rules once, and the
 * digest says once what they decided. A verdict that could not be kept is put again by the next sweep,
 * which finds the request reviewed (or, in report mode, says it again): nothing is decided twice.
 */
export async function rememberVerdict(
  deps: Pick<RuleDeps, "ledger">,
  org: string,
  entryId: string,
  verdict: { requestId: number; decided: RuleDecision | null; applied: boolean },
  ctx: ChangeContext,
): Promise<void> {
  const view = new Map((await deps.ledger.read(org, [entryId])).map((e) => [e.entryId, e]));
  await commit(deps.ledger, org, view, (current) => ({
    writes: recordRuleDecision([...current.values()], entryId, verdict, ctx),
    result: null,
  }));
}
