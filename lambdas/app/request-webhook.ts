import { requestCard } from "../core/digest";
import type { ChangeContext } from "../core/ledger/changes";
import type { Policy } from "../core/policy";
import { decideByRules, type RuleDecision } from "../core/request-rules";
import { githubWebUrl } from "../core/slack-console";
import { markAlertsDelivered, planRequestEvent, type RequestEvent, renewalTokenIds } from "../core/sweep";
import type { Alert, LedgerEntry, PatRequest } from "../core/types";
import { commit, pick } from "./commit";
import { type Log, messageOf } from "./log";
import type { GrantSource, Ledger, Notifier } from "./ports";
import { applyRule, rememberVerdict, ruleSubject } from "./request-rules";

export interface RequestWebhookDeps {
  github: GrantSource;
  ledger: Ledger;
  /** With Slack configured, a new request is posted as a card with Approve… / Deny…. */
  notifier?: Notifier;
  githubApiUrl?: string | undefined;
  /** Its `requestRules` decide the routine requests as they arrive. */
  policy: Pick<Policy, "requestRules" | "mode">;
  log?: Log;
}

export interface DeliveryOutcome {
  /** What became of the delivery, in a sentence. */
  outcome: string;
  entryId: string | null;
  /** A new request's card in Slack. */
  card?: "posted" | "not configured" | "failed";
  /** The rule that decided a new request (or, in report mode, would have), and what it decided. */
  rule?: { name: string; decision: "approve" | "deny"; reason: string; applied: boolean };
}

/** The ledger changed under the delivery on every try: GitHub is told it failed, and the sweep catches up. */
export class DeliveryConflictError extends Error {
  override name = "DeliveryConflictError";
}

/**
 * One `personal_access_token_request` delivery carried into the ledger, as the sweep would carry the same
 * news: the entry is decided on the ledger as read, written conditionally, and decided again on a
 * conflict. A new request's stated reason (which the webhook does not carry) is read from GitHub's
 * listing; its card goes to Slack once the entry is written.
 */
export async function takeRequestEvent(
  deps: RequestWebhookDeps,
  org: string,
  event: RequestEvent,
  context: { deliveryId: string; now: Date; repositoryCount?: number | null },
): Promise<DeliveryOutcome> {
  const entries = await deps.ledger.load(org);
  const view = new Map(entries.map((e) => [e.entryId, e]));
  let request = event.request;
  if (event.action === "created") {
    const listed = await withReason(deps, org, event.request);
    // A `created` redelivered (or replayed) after the request was reviewed or withdrawn is old news: the
    // listing, not the delivery, says whether it is pending, and a closed request is not opened again.
    if (listed === "not pending") {
      return {
        outcome: `request ${event.request.requestId} is no longer pending on GitHub: nothing recorded`,
        entryId: null,
      };
    }
    request = listed;
  }
  const news: RequestEvent = { ...event, request };
  const tokenIds = [
    ...new Set([
      ...renewalTokenIds(entries, request.owner, request.tokenName),
      ...(event.action === "approved" ? [request.tokenId] : []),
    ]),
  ];
  const grants = tokenIds.length > 0 ? await deps.github.listGrants(org, undefined, { tokenIds }) : [];
  const ctx: ChangeContext = {
    org,
    now: context.now,
    actor: `github:${event.action === "created" ? request.owner : event.by}`,
    writer: "webhook",
    runId: `delivery:${context.deliveryId}`,
  };
  const committed = await commit(deps.ledger, org, view, (current) => {
    const plan = planRequestEvent([...current.values()], news, grants, ctx);
    return { writes: plan.writes, result: plan };
  });
  if (committed.unresolved.length > 0) {
    throw new DeliveryConflictError(
      `the ledger kept changing under delivery ${context.deliveryId}: ${committed.unresolved.map((c) => c.message).join("; ")}`,
    );
  }
  const { entryId, outcome } = committed.result;
  deps.log?.info("request delivery", { action: event.action, requestId: request.requestId, outcome });
  if (event.action !== "created" || !entryId) return { outcome, entryId };
  const entry = view.get(entryId);
  if (entry?.status !== "requested") return { outcome, entryId };
  const rules = deps.policy.requestRules;
  const decided =
    rules.length > 0
      ? decideByRules(rules, await ruleSubject(deps, rules, org, request, context.repositoryCount))
      : null;
  if (!decided) {
    if (rules.length > 0) {
      await rememberVerdict(
        deps,
        org,
        entryId,
        { requestId: request.requestId, decided, applied: false },
        ctx,
      );
    }
    return { outcome, entryId, card: await postCard(deps, org, entry, request, ctx) };
  }
  const ruled = await applyRule(deps, org, request, entryId, decided, ctx, deps.policy.mode);
  for (const now of await deps.ledger.read(org, [entryId])) view.set(now.entryId, now);
  const card = await postCard(deps, org, view.get(entryId) ?? entry, request, ctx, {
    ...decided,
    applied: ruled.applied,
  });
  return {
    outcome: ruled.outcome,
    entryId: ruled.entryId ?? entryId,
    rule: { ...ruled.rule, applied: ruled.applied },
    card,
  };
}

/**
 * The request as GitHub lists it, with the requester's reason; "not pending" when the listing does not
 * have it; the webhook's own copy if the listing cannot be read.
 */
async function withReason(
  deps: RequestWebhookDeps,
  org: string,
  request: PatRequest,
): Promise<PatRequest | "not pending"> {
  try {
    const listed = await deps.github.listRequests(org, { tokenIds: [request.tokenId] });
    return listed.find((r) => r.requestId === request.requestId) ?? "not pending";
  } catch (error) {
    // The entry is still worth having now; the nightly sweep fills the purpose in from the listing.
    deps.log?.warn("reading the request's reason failed", {
      requestId: request.requestId,
      error: messageOf(error),
    });
    return request;
  }
}

/** The key a request's card is remembered by in its entry, so no delivery or sweep posts it twice. */
export function requestCardKey(requestId: number): string {
  return `request-card:${requestId}`;
}

async function postCard(
  deps: RequestWebhookDeps,
  org: string,
  entry: LedgerEntry,
  request: PatRequest,
  ctx: ChangeContext,
  decided?: RuleDecision & { applied: boolean },
): Promise<DeliveryOutcome["card"]> {
  if (!deps.notifier) return "not configured";
  // A decided request's card is the digest's "decided" item, said now: remembered under the same key.
  const key = decided ? `request-decided:${request.requestId}` : requestCardKey(request.requestId);
  if (entry.alertsSent[key]) return "posted";
  const alert: Alert = {
    kind: "request-waiting",
    key,
    entryId: entry.entryId,
    tokenId: request.tokenId,
    tokenName: request.tokenName,
    owner: request.owner,
    slack: entry.slack,
    detail: `new request ${request.requestId}${request.reason ? `: “${request.reason}”` : " (no reason given)"}`,
  };
  const detail = {
    patId: null,
    requestId: request.requestId,
    permissions: request.permissions,
    repositorySelection: request.repositorySelection,
    repositoryCount: entry.scope?.repositories.length ? entry.scope.repositories.length : null,
    grantedAt: null,
    lastUsedAt: null,
  };
  try {
    await deps.notifier.post(
      requestCard(
        alert,
        detail,
        org,
        { webUrl: githubWebUrl(deps.githubApiUrl), details: () => detail },
        ctx.now,
        decided,
      ),
    );
  } catch (error) {
    deps.log?.warn("posting the request's card failed", {
      requestId: request.requestId,
      error: messageOf(error),
    });
    return "failed";
  }
  const carried = [{ entryId: entry.entryId, key, kind: alert.kind, detail: alert.detail }];
  try {
    await commit(deps.ledger, org, new Map([[entry.entryId, entry]]), (current) => ({
      writes: markAlertsDelivered(pick(current, [entry.entryId]), carried, ctx),
      result: null,
    }));
  } catch (error) {
    deps.log?.warn("remembering the request's card failed", {
      requestId: request.requestId,
      error: messageOf(error),
    });
  }
  return "posted";
}
