/**
 * A synthetic organization in the steady state of a real night, deterministic for a given size:
 *
 * - every grant is registered in the ledger, with the facts GitHub lists (so a sweep changes nothing for it)
 *   and the alerts of earlier nights already remembered;
 * - 1% of the tokens expired since last night and are not to be renewed: revoked tonight;
 * - 5% expire within 30 days: those that crossed a warning threshold (30, 14, 7, 1 days) since last night
 *   are alerted tonight, the others were alerted before;
 * - 0.05% of the grants (at least one) are not in the ledger;
 * - a few pending requests, all but the newest already in the ledger and waiting for more than a day;
 * - the ledger also keeps the entries of tokens revoked on earlier nights (entries are never deleted).
 *
 * The same data feeds the simulated GitHub org (as seeds), the ledger (as entries) and `planSweep` alone
 * (as the core's grants).
 */

import { MAX_OWNER_NOTICES } from "../../lambdas/app/run-sweep";
import { flattenPermissions } from "../../lambdas/core/ledger/access";
import { newEntry } from "../../lambdas/core/ledger/fields";
import { ownerNoticeKey } from "../../lambdas/core/sweep";
import type { Grant, LedgerEntry, PatRequest } from "../../lambdas/core/types";
import type { GrantSeed, PatPermissions, RequestSeed } from "../sim/github-sim";

/**
 * The night the scenario is built around: the time it is built. The sweep runs as of real time (a handler
 * event's `now` is a what-if that changes nothing), seconds later, so the scenario's dates are relative to
 * this instant, at hour and day offsets that seconds do not cross.
 */
export const BENCH_NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The policy's default warning thresholds, in days. */
const THRESHOLDS = [1, 7, 14, 30];

export interface ScenarioOptions {
  /** Grants in the org. */
  size: number;
  /** Entries of earlier nights' revoked tokens, as a fraction of `size` (default 0.1). */
  history?: number;
  now?: Date;
}

export interface Scenario {
  org: string;
  now: Date;
  grants: GrantSeed[];
  requests: RequestSeed[];
  entries: LedgerEntry[];
  /** What a correct sweep of this org does. */
  expected: {
    revocations: number;
    unregistered: number;
    /** Expiring tokens that crossed a threshold since last night. */
    newExpiring: number;
    /** Requests waiting more than a day (one alert each per day). */
    waitingRequests: number;
    requests: number;
    /** Owners told of a newly crossed threshold by DM (every entry has a Slack id), up to a night's cap. */
    ownersTold: number;
  };
}

const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString();

function thresholdFor(msLeft: number): number | undefined {
  return THRESHOLDS.find((days) => msLeft <= days * DAY);
}

function permissionsOf(i: number): PatPermissions {
  return i % 3 === 0
    ? { organization: { members: "read" }, repository: { contents: "read", metadata: "read" } }
    : { repository: { contents: i % 2 ? "write" : "read", metadata: "read", pull_requests: "write" } };
}

type Kind = "revoke" | "expiring" | "unregistered" | "healthy";

function kindOf(i: number): Kind {
  if (i % 100 === 50) return "revoke";
  if (i % 20 === 1) return "expiring";
  if (i % 2000 === 2) return "unregistered";
  return "healthy";
}

export function orgName(size: number): string {
  return `bench-${size}`;
}

export function makeScenario(options: ScenarioOptions): Scenario {
  const { size } = options;
  const now = options.now ?? BENCH_NOW;
  const nowMs = now.getTime();
  const org = orgName(size);
  const owners = Math.max(1, Math.floor(size / 4));
  const grants: GrantSeed[] = [];
  const entries: LedgerEntry[] = [];
  const expected = { revocations: 0, unregistered: 0, newExpiring: 0, waitingRequests: 0, requests: 0 };

  // The fields a registered, long-lived entry has beyond newEntry's blanks.
  const entry = (fields: Partial<LedgerEntry> & Pick<LedgerEntry, "entryId" | "tokenName" | "owner">) =>
    newEntry({
      org,
      status: "active",
      purpose: `Deploys ${fields.tokenName} from CI to the staging and production clusters`,
      scope: { selection: "subset", repositories: [] },
      approvedBy: "platform-lead@example.com",
      version: 3,
      updatedAt: iso(nowMs - DAY),
      updatedBy: "patrol-sweep",
      ...fields,
    });

  for (let i = 0; i < size; i++) {
    const kind = kindOf(i);
    let expiresMs: number;
    const alertsSent: Record<string, string> = {};
    if (kind === "revoke") {
      // Expired since last night's sweep; its warnings went out on earlier nights.
      expiresMs = nowMs - (1 + (i % 20)) * HOUR;
      for (const days of THRESHOLDS) {
        const key = `expiring:${iso(expiresMs)}:${days}`;
        alertsSent[key] = iso(nowMs - days * DAY);
        alertsSent[ownerNoticeKey(key)] = iso(nowMs - days * DAY);
      }
      expected.revocations++;
    } else if (kind === "expiring") {
      expiresMs = nowMs + (1 + ((i * 7919) % 719)) * HOUR;
      const today = thresholdFor(expiresMs - nowMs);
      const yesterday = thresholdFor(expiresMs - nowMs + DAY);
      // Every threshold crossed before tonight was alerted on the night it was crossed.
      if (yesterday !== undefined) {
        for (const days of THRESHOLDS.filter((d) => d >= yesterday)) {
          const key = `expiring:${iso(expiresMs)}:${days}`;
          alertsSent[key] = iso(nowMs - DAY);
          // Its owner (every entry here has a Slack id) was told by DM the same night.
          alertsSent[ownerNoticeKey(key)] = iso(nowMs - DAY);
        }
      }
      if (today !== yesterday) expected.newExpiring++;
    } else {
      expiresMs = nowMs + (31 + ((i * 31) % 330)) * DAY;
    }
    const createdMs = expiresMs - 365 * DAY;
    const grantedMs = createdMs + HOUR;
    const permissions = permissionsOf(i);
    const seed: GrantSeed = {
      id: 1_000_000 + i,
      tokenId: 10_000_000 + i,
      owner: `dev-${(i * 7) % owners}`,
      tokenName: `svc-${i}`,
      repositorySelection: i % 3 === 0 ? "all" : "subset",
      permissions,
      accessGrantedAt: iso(grantedMs),
      tokenExpiresAt: iso(expiresMs),
      tokenExpired: expiresMs <= nowMs,
      tokenLastUsedAt: iso(expiresMs <= nowMs ? expiresMs - DAY : nowMs - (1 + (i % 20)) * HOUR),
    };
    grants.push(seed);
    if (kind === "unregistered") {
      expected.unregistered++;
      continue;
    }
    entries.push(
      entry({
        entryId: `token-${seed.tokenId}`,
        tokenId: seed.tokenId ?? null,
        patId: seed.id ?? null,
        tokenName: seed.tokenName,
        owner: seed.owner,
        scope: { selection: seed.repositorySelection ?? "subset", repositories: [] },
        permissions: flattenPermissions(permissions),
        createdAt: iso(createdMs),
        expiresAt: iso(expiresMs),
        risks: i % 5 === 0 ? "can push to production branches" : "",
        slack: `U0${String(100_000 + (i % owners)).padStart(7, "0")}`,
        firstSeenAt: iso(grantedMs),
        alertsSent,
      }),
    );
  }
  if (expected.unregistered === 0 && size > 0) throw new Error("the scenario needs at least 3 grants");

  // Entries of tokens revoked on earlier nights: read by every sweep, changed by none.
  const history = Math.floor(size * (options.history ?? 0.1));
  for (let h = 0; h < history; h++) {
    const revokedMs = nowMs - (2 + (h % 300)) * DAY;
    entries.push(
      entry({
        entryId: `token-${20_000_000 + h}`,
        tokenId: 20_000_000 + h,
        patId: 2_000_000 + h,
        tokenName: `old-${h}`,
        owner: `dev-${(h * 13) % owners}`,
        permissions: { "repository.contents": "read", "repository.metadata": "read" },
        createdAt: iso(revokedMs - 366 * DAY),
        expiresAt: iso(revokedMs - DAY),
        firstSeenAt: iso(revokedMs - 365 * DAY),
        status: "revoked",
        revokedReason: "expired",
        revokedDetail: `expired ${iso(revokedMs - DAY).slice(0, 10)} and not marked for renewal`,
        revokedAt: iso(revokedMs),
        revokedBy: "patrol-sweep",
        alertsSent: { [`revoked:${iso(revokedMs)}`]: iso(revokedMs) },
        version: 6,
        updatedAt: iso(revokedMs),
      }),
    );
  }

  // A few pending requests: the newest arrived since last night, the others wait (alerted once a day).
  const requests: RequestSeed[] = [];
  const requestCount = 3 + Math.floor(size / 2000);
  for (let j = 0; j < requestCount; j++) {
    const createdMs = j === 0 ? nowMs - 2 * HOUR : nowMs - (26 + j * 5) * HOUR;
    const permissions: PatPermissions = { repository: { issues: "write", metadata: "read" } };
    const seed: RequestSeed = {
      id: 3_000_000 + j,
      tokenId: 30_000_000 + j,
      owner: `dev-${(j * 11) % owners}`,
      tokenName: `req-${j}`,
      reason: `Label and close stale issues in the support repositories (${j})`,
      repositorySelection: "subset",
      permissions,
      createdAt: iso(createdMs),
      tokenExpiresAt: iso(nowMs + 90 * DAY),
    };
    requests.push(seed);
    expected.requests++;
    if (nowMs - createdMs > 24 * HOUR) expected.waitingRequests++;
    if (j === 0) continue;
    const alerted: Record<string, string> = {};
    for (let d = 1; nowMs - d * DAY - createdMs > 24 * HOUR; d++)
      alerted[`request-waiting:${iso(nowMs - d * DAY).slice(0, 10)}`] = iso(nowMs - d * DAY);
    entries.push(
      entry({
        entryId: `token-${seed.tokenId}`,
        tokenId: seed.tokenId ?? null,
        requestId: seed.id ?? null,
        tokenName: seed.tokenName,
        owner: seed.owner,
        purpose: seed.reason ?? "",
        permissions: flattenPermissions(permissions),
        createdAt: seed.createdAt ?? null,
        expiresAt: seed.tokenExpiresAt ?? null,
        status: "requested",
        firstSeenAt: iso(createdMs + HOUR),
        alertsSent: alerted,
      }),
    );
  }

  return {
    org,
    now,
    grants,
    requests,
    entries,
    expected: { ...expected, ownersTold: Math.min(expected.newExpiring, MAX_OWNER_NOTICES) },
  };
}

/** A seed as the GitHub adapter hands it to the core (what `planSweep` alone is measured on). */
export function toGrant(seed: GrantSeed): Grant {
  return {
    patId: seed.id ?? 0,
    tokenId: seed.tokenId ?? 0,
    tokenName: seed.tokenName,
    owner: seed.owner,
    repositorySelection: seed.repositorySelection ?? "subset",
    permissions: flattenPermissions(seed.permissions ?? {}),
    accessGrantedAt: seed.accessGrantedAt ?? "",
    tokenExpired: seed.tokenExpired ?? false,
    tokenExpiresAt: seed.tokenExpiresAt ?? null,
    tokenLastUsedAt: seed.tokenLastUsedAt ?? null,
  };
}

export function toRequest(seed: RequestSeed): PatRequest {
  return {
    requestId: seed.id ?? 0,
    tokenId: seed.tokenId ?? 0,
    tokenName: seed.tokenName,
    owner: seed.owner,
    reason: seed.reason ?? null,
    repositorySelection: seed.repositorySelection ?? "subset",
    permissions: flattenPermissions(seed.permissions ?? {}),
    createdAt: seed.createdAt ?? "",
    tokenExpired: seed.tokenExpired ?? false,
    tokenExpiresAt: seed.tokenExpiresAt ?? null,
  };
}
