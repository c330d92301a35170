/**
 * Plain-data factories for the core's unit tests. Every default describes one healthy, registered token
 * that the sweep leaves alone: tests override only the fields their rule is about.
 */
import { parsePermissions, parseScope, type Scope } from "../../lambdas/core/ledger/access";
import type { ChangeContext } from "../../lambdas/core/ledger/changes";
import { newEntry } from "../../lambdas/core/ledger/fields";
import type { Writer } from "../../lambdas/core/ledger/lifecycle";
import { type PolicyInput, parsePolicy } from "../../lambdas/core/policy";
import { DAY_MS, planSweep, type SweepPlan } from "../../lambdas/core/sweep";
import type { EntryWrite, Grant, LedgerEntry, PatRequest, PermissionMap } from "../../lambdas/core/types";

export const NOW = new Date("2026-06-15T12:00:00Z");
export const ORG = "acme";
export const RUN_ID = "run-1";
export const ACTOR = "patrol-sweep";
export const HOUR_MS = 3_600_000;
export { DAY_MS };

/** `NOW` moved by `ms` (negative: in the past), as an ISO string. */
export function at(ms: number, now: Date = NOW): string {
  return new Date(now.getTime() + ms).toISOString();
}

/** `NOW` moved by `days` (negative: in the past), as an ISO string. */
export function days(n: number, now: Date = NOW): string {
  return at(n * DAY_MS, now);
}

/** A listed grant: token 101 (grant 1) of alice, `deploy-bot`, reads contents, expires in 60 days. */
export function grant(overrides: Partial<Grant> = {}): Grant {
  return {
    patId: 1,
    tokenId: 101,
    tokenName: "deploy-bot",
    owner: "alice",
    repositorySelection: "subset",
    permissions: { "repository.contents": "read", "repository.metadata": "read" },
    accessGrantedAt: days(-10),
    tokenExpired: false,
    tokenExpiresAt: days(60),
    tokenLastUsedAt: days(-1),
    ...overrides,
  };
}

/** Permissions as a person writes them (`contents:read; issues:write`), structured as the ledger keeps them. */
export function perms(text: string): PermissionMap {
  const parsed = parsePermissions(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

/** A scope as a person writes it (`all`, `subset: api`; empty: none recorded). */
export function scope(text: string): Scope | null {
  if (text.trim() === "") return null;
  const parsed = parseScope(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

/** The ledger entry that approves `grant()` as it is. */
export function entry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return newEntry({
    org: ORG,
    entryId: "token-101",
    tokenId: 101,
    patId: 1,
    tokenName: "deploy-bot",
    owner: "alice",
    purpose: "deploys the api",
    scope: scope("subset: api"),
    permissions: perms("contents:read"),
    createdAt: days(-10),
    expiresAt: days(60),
    approvedBy: "bob",
    risks: "low",
    slack: "U0OPS",
    status: "active",
    firstSeenAt: days(-10),
    version: 3,
    updatedAt: days(-2),
    updatedBy: "operator",
    ...overrides,
  });
}

/** A pending request: token 201 of carol, `ci-reader`, asked for an hour ago. */
export function request(overrides: Partial<PatRequest> = {}): PatRequest {
  return {
    requestId: 500,
    tokenId: 201,
    tokenName: "ci-reader",
    owner: "carol",
    reason: "reads CI logs",
    repositorySelection: "subset",
    permissions: { "repository.actions": "read" },
    createdAt: at(-HOUR_MS),
    tokenExpired: false,
    tokenExpiresAt: days(30),
    ...overrides,
  };
}

/** A matching grant and entry for token `n` (grant `n`, token `100 + n`, name `token-n`). */
export function token(
  n: number,
  grantOverrides: Partial<Grant> = {},
  entryOverrides: Partial<LedgerEntry> = {},
): { grant: Grant; entry: LedgerEntry } {
  const ids = { patId: n, tokenId: 100 + n, tokenName: `token-${n}` };
  return {
    grant: grant({ ...ids, ...grantOverrides }),
    entry: entry({ ...ids, entryId: `token-${100 + n}`, ...entryOverrides }),
  };
}

export interface PlanInput {
  grants?: readonly Grant[];
  requests?: readonly PatRequest[];
  ledger?: readonly LedgerEntry[];
  policy?: PolicyInput;
  now?: Date;
}

/**
 * `planSweep` with the defaults: org acme, run-1, patrol-sweep, the default policy in enforce mode (so the
 * rules' revocations show; report mode is tested by asking for it), `NOW`.
 */
export function plan(input: PlanInput = {}): SweepPlan {
  return planSweep({
    org: ORG,
    grants: input.grants ?? [],
    requests: input.requests ?? [],
    ledger: input.ledger ?? [],
    policy: parsePolicy({ mode: "enforce", ...input.policy }),
    now: input.now ?? NOW,
    runId: RUN_ID,
    actor: ACTOR,
  });
}

/** The change context the sweep's follow-up functions take. */
export function context(now: Date = NOW, writer: Writer = "sweep"): ChangeContext {
  return { org: ORG, now, actor: ACTOR, writer, runId: RUN_ID };
}

/**
 * Makes `writes` the way the ledger adapter does: conditionally on the version read, a new entry only if
 * absent. Entries are replaced by id, never deleted.
 */
export function applyWrites(ledger: readonly LedgerEntry[], writes: readonly EntryWrite[]): LedgerEntry[] {
  const byId = new Map(ledger.map((e) => [e.entryId, e]));
  for (const write of writes) {
    const current = byId.get(write.entry.entryId);
    if (write.expectedVersion === null) {
      if (current) throw new Error(`conditional write failed: ${write.entry.entryId} already exists`);
    } else if (current?.version !== write.expectedVersion) {
      throw new Error(
        `conditional write failed: ${write.entry.entryId} is at ${current?.version}, not ${write.expectedVersion}`,
      );
    }
    byId.set(write.entry.entryId, write.entry);
  }
  return [...byId.values()];
}

/** Entries sorted by id, for order-independent comparisons. */
export function byEntryId(entries: readonly LedgerEntry[]): LedgerEntry[] {
  return [...entries].sort((a, b) => a.entryId.localeCompare(b.entryId));
}
