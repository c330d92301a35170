import { createAppAuth } from "@octokit/auth-app";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { RequestError } from "@octokit/request-error";
import { Octokit } from "@octokit/rest";
import { type Budget, unbounded } from "../app/budget";
import type { GrantFilter, GrantSource, Installation, InstallationSource } from "../app/ports";
import { batches } from "../core/batches";
import { CREDENTIALS_PER_CALL } from "../core/leaked";
import { flattenPermissions } from "../core/ledger/access";
import type { ClassicCredential } from "../core/revoke";
import type { RevocationOutcome } from "../core/sweep";
import type { Grant, PatRequest, PermissionMap, RepositorySelection } from "../core/types";
import { StringPool } from "./string-pool";

/** GitHub answers at most 100 items a page, and the bulk revoke takes at most 100 grant ids. */
const PAGE_SIZE = 100;
const REVOKE_BATCH = 100;
/** The list endpoint's own filters take at most 10 owners and 50 token ids a request. */
const OWNER_FILTER_MAX = 10;
const TOKEN_ID_FILTER_MAX = 50;

export type GitHubCredentials =
  | { kind: "token"; token: string }
  | {
      kind: "app";
      appId: string;
      privateKey: string;
      /** One installation for every org, or one per org; absent: looked up per org. */
      installationId?: number;
      installationIds?: Record<string, number>;
    };

export interface GitHubClientOptions {
  baseUrl?: string;
  credentials: GitHubCredentials;
  /** How many times a rate-limited or failed request is tried again. */
  retries?: number;
  /** Multiplier of GitHub's retry-after, in ms (1000 in production; tests shorten waits). */
  retryAfterBaseValue?: number;
  log?: { warn(message: string, extra: Record<string, unknown>): void };
  /** The run's budget: every try, retry and rate-limit wait ends inside it, and nothing starts after it. */
  budget?: Budget;
  /** How long one try of one request may take (default 20 s; GitHub answers a page in well under 2). */
  timeoutMs?: number;
  /** What outlives a run (a Lambda's warm starts): installation tokens and installation ids. */
  shared?: GitHubShared;
}

/**
 * `@octokit/auth-app`'s cache hook, kept across runs so that each run's client reuses the installation
 * token. GitHub's tokens live an hour; one is handed out for 55 minutes after it was issued, as auth-app's
 * own cache does for 59.
 */
class InstallationTokenCache {
  static readonly TTL_MS = 55 * 60_000;
  readonly #tokens = new Map<string, { value: string; until: number }>();

  get(key: string): string | undefined {
    const kept = this.#tokens.get(key);
    if (kept && kept.until > Date.now()) return kept.value;
    this.#tokens.delete(key);
    return undefined;
  }

  set(key: string, value: string): void {
    this.#tokens.set(key, { value, until: Date.now() + InstallationTokenCache.TTL_MS });
  }
}

/** What outlives a run (a Lambda's warm starts): installation tokens and the org's installation id. */
export interface GitHubShared {
  tokens: InstallationTokenCache;
  installations: Map<string, number>;
}

export function sharedGitHubState(): GitHubShared {
  return { tokens: new InstallationTokenCache(), installations: new Map() };
}

export const GITHUB_TIMEOUT_MS = 20_000;

export class GitHubError extends Error {
  override name = "GitHubError";
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

const PatrolOctokit = Octokit.plugin(throttling, retry);
type PatrolOctokit = InstanceType<typeof PatrolOctokit>;

type GrantPayload = Awaited<ReturnType<PatrolOctokit["rest"]["orgs"]["listPatGrants"]>>["data"][number];
type RequestPayload = Awaited<
  ReturnType<PatrolOctokit["rest"]["orgs"]["listPatGrantRequests"]>
>["data"][number];

/** GitHub writes `2027-03-02T03:00:00Z` or with an offset; the ledger keeps one form, `toISOString()`'s. */
function isoDate(value: string): string;
function isoDate(value: string | null): string | null;
function isoDate(value: string | null): string | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

/**
 * Grants as the core reads them. The pool keeps one copy of what repeats across an org's grants (owners,
 * names, dates, permission sets), so that 100,000 grants do not hold 100,000 copies of each.
 */
function grantReader(): (p: GrantPayload) => Grant {
  const pool = new StringPool();
  const permissionSets = new Map<string, PermissionMap>();
  return (p) => {
    const key = JSON.stringify(p.permissions);
    let permissions = permissionSets.get(key);
    if (!permissions) {
      permissions = flattenPermissions(p.permissions as Record<string, Record<string, string>>);
      permissionSets.set(key, permissions);
    }
    return {
      patId: p.id,
      tokenId: p.token_id,
      tokenName: pool.intern(p.token_name),
      owner: pool.intern(p.owner.login),
      repositorySelection: p.repository_selection as RepositorySelection,
      permissions,
      accessGrantedAt: pool.intern(isoDate(p.access_granted_at)),
      tokenExpired: p.token_expired,
      tokenExpiresAt: pool.intern(isoDate(p.token_expires_at)),
      tokenLastUsedAt: pool.intern(isoDate(p.token_last_used_at)),
    };
  };
}

interface CredentialPayload {
  login: string;
  credential_id: number;
  credential_type: string;
  token_last_eight?: string;
  scopes?: string[];
  authorized_credential_note?: string | null;
  authorized_credential_title?: string | null;
  credential_authorized_at?: string | null;
  credential_accessed_at?: string | null;
  authorized_credential_expires_at?: string | null;
}

function toClassicCredential(c: CredentialPayload): ClassicCredential {
  return {
    credentialId: c.credential_id,
    login: c.login,
    lastEight: c.token_last_eight ?? "",
    note: c.authorized_credential_note ?? c.authorized_credential_title ?? "",
    scopes: c.scopes ?? [],
    authorizedAt: isoDate(c.credential_authorized_at ?? null),
    accessedAt: isoDate(c.credential_accessed_at ?? null),
    expiresAt: isoDate(c.authorized_credential_expires_at ?? null),
  };
}

/**
 * The list routes for a filter. GitHub reads repeated `owner[]` / `token_id[]` parameters (Octokit would
 * join an array with commas), at most 10 owners or 50 token ids a request.
 */
function filteredRoutes(base: string, filter: GrantFilter = {}): string[] {
  if (filter.owners?.length) {
    return batches(filter.owners, OWNER_FILTER_MAX).map(
      (owners) => `${base}?${owners.map((o) => `owner[]=${encodeURIComponent(o)}`).join("&")}`,
    );
  }
  if (filter.tokenIds?.length) {
    return batches(filter.tokenIds, TOKEN_ID_FILTER_MAX).map(
      (ids) => `${base}?${ids.map((id) => `token_id[]=${id}`).join("&")}`,
    );
  }
  return [base];
}

function toRequest(p: RequestPayload): PatRequest {
  return {
    requestId: p.id,
    tokenId: p.token_id,
    tokenName: p.token_name,
    owner: p.owner.login,
    reason: p.reason,
    repositorySelection: p.repository_selection as RepositorySelection,
    permissions: flattenPermissions(p.permissions as Record<string, Record<string, string>>),
    createdAt: isoDate(p.created_at),
    tokenExpired: p.token_expired,
    tokenExpiresAt: isoDate(p.token_expires_at),
  };
}

/**
 * List pages are read as text and parsed with `JSON.parse`: Octokit's own parser keeps integers beyond 2^53
 * exact at ten times the cost (4 ms a page of 100 grants), and no id or count here comes near 2^53.
 */
const RAW_BODY = { parseSuccessResponseBody: false } as const;

async function itemsOf<T>(response: { data: unknown }): Promise<T[]> {
  return JSON.parse(await new Response(response.data as ReadableStream<Uint8Array>).text()) as T[];
}

/** A page's turn to go on the wire: true once the page before it is answered, false if that page failed. */
type Turn = Promise<boolean>;
const FIRST_TURN: Turn = Promise.resolve(true);
/** Pages whose requests are prepared before their turn; well under plugin-throttling's 10 concurrent reads. */
const AHEAD = 3;

function linkTo(link: string | undefined, rel: "next" | "last"): string | undefined {
  return new RegExp(`<([^<>]+)>;\\s*rel="${rel}"`).exec(link ?? "")?.[1];
}

/**
 * One page of a list, asked for in its turn. The request is built (auth, the plugins' queues) ahead of
 * time, but leaves only when the page before it has been answered in full, so GitHub still sees one
 * request at a time. A page that fails is retried or given up by the plugins before the next one leaves;
 * a page whose predecessor failed never reaches GitHub.
 */
function requestPage(
  octokit: PatrolOctokit,
  send: typeof fetch,
  route: string,
  params: Record<string, unknown>,
  page: number,
  turn: Turn,
) {
  let done!: (ok: boolean) => void;
  const answered: Turn = new Promise((resolve) => {
    done = resolve;
  });
  const fetchInTurn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (!(await turn)) {
      done(false);
      return Response.json([]);
    }
    const response = await send(input, init);
    if (!response.ok) return response;
    const body = await response.arrayBuffer();
    done(true);
    const copy = new Response(body, response);
    Object.defineProperty(copy, "url", { value: response.url });
    return copy;
  };
  const answer = octokit.request(route, { ...params, page, request: { fetch: fetchInTurn, ...RAW_BODY } });
  // A success has opened the turn already (its answer came in full); a failure opens it as failed.
  answer.catch(() => done(false));
  return { answer, answered };
}

/**
 * Every page of a list route, in order. The first answer's `last` link says how many pages there are;
 * from then on the next page's request is prepared while the current one is on the wire, so the time
 * Octokit, its plugins and the caller spend between two pages hides inside GitHub's latency instead of
 * adding to it. Pages that appear while the list is read (past `last`) are followed one by one.
 */
async function listPages<T>(
  octokit: PatrolOctokit,
  send: typeof fetch,
  route: string,
  params: Record<string, unknown>,
  onItems: (items: T[]) => void,
): Promise<void> {
  const first = await octokit.request(route, { ...params, request: RAW_BODY });
  onItems(await itemsOf<T>(first));
  let link = first.headers.link;
  const lastUrl = linkTo(link, "last");
  const last = lastUrl ? Number(new URL(lastUrl).searchParams.get("page")) : 1;
  // Pages 2…last, each prepared AHEAD pages before its turn: building a request through the plugins' queues
  // takes some milliseconds, more than one answer's worth of slack at low latency.
  const queue: ReturnType<typeof requestPage>[] = [];
  let prepared = 1;
  let turn = FIRST_TURN;
  const prepare = () => {
    while (prepared < last && queue.length < AHEAD) {
      const page = requestPage(octokit, send, route, params, ++prepared, turn);
      turn = page.answered;
      queue.push(page);
    }
  };
  prepare();
  for (let page = queue.shift(); page; page = queue.shift()) {
    const response = await page.answer;
    prepare();
    onItems(await itemsOf<T>(response));
    link = response.headers.link;
  }
  for (let url = linkTo(link, "next"); url; ) {
    const response = await octokit.request({ method: "GET", url, request: RAW_BODY });
    onItems(await itemsOf<T>(response));
    url = linkTo(response.headers.link, "next");
  }
}

/** An HTTP status as a failure message gives it, with what to check for the ones a setup gets wrong. */
function statusText(status: number): string {
  const hint =
    status === 401
      ? " (bad credentials: check the App id, private key and installation)"
      : status === 403
        ? " (forbidden: the org endpoints need a GitHub App with the organization permission 'Personal access tokens')"
        : "";
  return `HTTP ${status}${hint}`;
}

/** A message about a failed call that names the call and status, never a credential. */
function describeFailure(error: unknown, what: string, last?: LastAnswer): GitHubError {
  if (error instanceof RequestError) {
    return new GitHubError(`${what} failed: ${statusText(error.status)}: ${error.message}`, error.status);
  }
  const message = error instanceof Error ? error.message : String(error);
  // A run that stopped (its budget ended) names what GitHub last said, so the cause is not lost.
  const before =
    last?.text && (error as { name?: string }).name === "AbortError"
      ? ` (GitHub's last answer: ${last.text})`
      : "";
  return new GitHubError(`${what} failed: ${message}${before}`, null);
}

/** What the run's last failed try of a GitHub call came to: a status, or no answer in time. */
interface LastAnswer {
  text?: string;
}

/** `fetch` that notes each failed try in `last`. */
function noting(send: typeof fetch, last: LastAnswer, timeoutMs: number): typeof fetch {
  return async (input, init) => {
    try {
      const response = await send(input, init);
      if (!response.ok && response.status !== 304) last.text = statusText(response.status);
      return response;
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "TimeoutError") last.text = `no answer within ${timeoutMs / 1000} s`;
      else if (name !== "AbortError") last.text = error instanceof Error ? error.message : String(error);
      throw error;
    }
  };
}

/** How a refused rate-limit wait is reported: the run stops, naming when the limit resets. */
function rateLimitStop(kind: string, retryAfterSeconds: number, budget: Budget): string {
  const resets = new Date(Date.now() + retryAfterSeconds * 1000).toISOString();
  return `stopped: GitHub's ${kind} rate limit resets at ${resets}, after this run's budget ends (${Math.round(budget.remaining() / 1000)} s left)`;
}

type BoundOptions = GitHubClientOptions &
  Required<Pick<GitHubClientOptions, "budget" | "shared">> & {
    /** Every request's fetch: bounded by the budget, each failed try noted. */
    send: typeof fetch;
    last: LastAnswer;
  };

function makeOctokit(
  options: BoundOptions,
  auth: { installationId?: number; anonymous?: boolean } = {},
): PatrolOctokit {
  const { credentials, baseUrl, retries = 3, retryAfterBaseValue = 1000, log, budget, shared } = options;
  const onLimit =
    (kind: string) =>
    (retryAfter: number, request: { method: string; url: string }, _o: unknown, retryCount: number) => {
      const waitMs = retryAfter * retryAfterBaseValue;
      const fits = budget.fits(waitMs);
      log?.warn(`GitHub ${kind} rate limit`, {
        method: request.method,
        url: request.url,
        retryAfter,
        retryCount,
        fitsBudget: fits,
      });
      // A wait the budget cannot hold is not waited: the run stops now and says when the limit resets.
      if (!fits) budget.stop(rateLimitStop(kind, retryAfter, budget));
      return fits && retryCount < retries;
    };
  const octokit = new PatrolOctokit({
    ...(baseUrl ? { baseUrl } : {}),
    userAgent: "patrol",
    request: { fetch: options.send },
    ...(auth.anonymous
      ? {}
      : credentials.kind === "token"
        ? { auth: credentials.token }
        : {
            authStrategy: createAppAuth,
            auth: {
              appId: credentials.appId,
              privateKey: credentials.privateKey,
              cache: shared.tokens,
              ...(auth.installationId ? { installationId: auth.installationId } : {}),
            },
          }),
    throttle: {
      onRateLimit: onLimit("primary"),
      onSecondaryRateLimit: onLimit("secondary"),
      retryAfterBaseValue,
    },
    retry: { retries, retryAfterBaseValue },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  // Outermost: a request (its retries and rate-limit waits included) ends when the budget does.
  octokit.hook.wrap("request", (request, requestOptions) =>
    budget.race(Promise.resolve(request(requestOptions))),
  );
  return octokit;
}

/**
 * The GitHub adapter. One authenticated client per org, created on first use and kept for the life of
 * the process (a Lambda's warm starts reuse it): App installation tokens are cached and renewed by
 * `@octokit/auth-app`.
 */
export function makeGitHubTokenSource(given: GitHubClientOptions): GrantSource {
  const budget = given.budget ?? unbounded();
  const timeoutMs = given.timeoutMs ?? GITHUB_TIMEOUT_MS;
  const last: LastAnswer = {};
  // Every request's fetch, the pages' own (they wait their turn) included: bounded, each failure noted.
  const send = noting(budget.fetch(timeoutMs), last, timeoutMs);
  const options: BoundOptions = { ...given, budget, shared: given.shared ?? sharedGitHubState(), send, last };
  const describe = (error: unknown, what: string) => describeFailure(error, what, last);
  const clients = new Map<string, Promise<PatrolOctokit>>();

  const clientFor = (org: string): Promise<PatrolOctokit> => {
    let client = clients.get(org);
    if (!client) {
      client = resolveClient(options, org);
      clients.set(org, client);
      client.catch(() => clients.delete(org));
    }
    return client;
  };

  return {
    async listGrants(org, onPage, filter) {
      const octokit = await clientFor(org);
      const grants: Grant[] = [];
      const toGrant = grantReader();
      // Pages are numbered: a grant revoked on a page already read moves every later grant up a place (one
      // is missed: the sweep confirms what it did not see), and anything that moves them down shows a
      // grant twice, kept once.
      const seen = new Set<number>();
      try {
        for (const route of filteredRoutes("GET /orgs/{org}/personal-access-tokens", filter)) {
          // Oldest first: a token created while the list is read lands on the last page, shifting nothing.
          const params = { org, per_page: PAGE_SIZE, sort: "created_at", direction: "asc" };
          await listPages<GrantPayload>(octokit, send, route, params, (items) => {
            for (const item of items) {
              if (seen.has(item.id)) continue;
              seen.add(item.id);
              grants.push(toGrant(item));
            }
            onPage?.(grants.length);
          });
        }
      } catch (error) {
        throw describe(error, `listing the fine-grained tokens of ${org}`);
      }
      return grants;
    },

    async listClassicCredentials(org, login) {
      const octokit = await clientFor(org);
      try {
        // Enterprise Cloud only, so not in Octokit's api.github.com method list: the route itself.
        const items = await octokit.paginate("GET /orgs/{org}/credential-authorizations", {
          org,
          per_page: PAGE_SIZE,
          ...(login ? { login } : {}),
        });
        const credentials = (items as CredentialPayload[])
          .filter((c) => c.credential_type === "personal access token")
          .filter((c) => !login || c.login.toLowerCase() === login.toLowerCase())
          .map(toClassicCredential);
        return { available: true, credentials };
      } catch (error) {
        if (error instanceof RequestError && (error.status === 404 || error.status === 403)) {
          return {
            available: false,
            reason: `GitHub answered ${error.status} for credential authorizations: the org has no SAML SSO (Enterprise Cloud), so it has no classic PATs to revoke here`,
          };
        }
        throw describe(error, `listing the classic PAT authorizations of ${org}`);
      }
    },

    async reviewRequest(org, requestId, action, reason) {
      const octokit = await clientFor(org);
      try {
        await octokit.rest.orgs.reviewPatGrantRequest({
          org,
          pat_request_id: requestId,
          action,
          ...(reason ? { reason } : {}),
        });
      } catch (error) {
        throw describe(
          error,
          `${action === "approve" ? "approving" : "denying"} request ${requestId} in ${org}`,
        );
      }
    },

    async removeClassicCredential(org, credentialId) {
      const octokit = await clientFor(org);
      try {
        await octokit.request("DELETE /orgs/{org}/credential-authorizations/{credential_id}", {
          org,
          credential_id: credentialId,
        });
      } catch (error) {
        if (error instanceof RequestError && error.status === 404) return; // already removed
        throw describe(error, `removing classic PAT authorization ${credentialId} in ${org}`);
      }
    },

    async listRequests(org, filter) {
      const octokit = await clientFor(org);
      try {
        const requests: PatRequest[] = [];
        for (const route of filteredRoutes("GET /orgs/{org}/personal-access-token-requests", filter)) {
          const items = await octokit.paginate<RequestPayload>(route, { org, per_page: PAGE_SIZE });
          requests.push(...items.map(toRequest));
        }
        return requests;
      } catch (error) {
        throw describe(error, `listing the token requests of ${org}`);
      }
    },

    async requestRepositoryCount(org, requestId) {
      const octokit = await clientFor(org);
      try {
        const repositories = await octokit.paginate(octokit.rest.orgs.listPatGrantRequestRepositories, {
          org,
          pat_request_id: requestId,
          per_page: PAGE_SIZE,
        });
        return repositories.length;
      } catch (error) {
        throw describe(error, `listing the repositories of request ${requestId} in ${org}`);
      }
    },

    async revokeCredentials(org, values) {
      // github.com takes this call only unauthenticated; Enterprise Server (its API under /api/v3) only
      // authenticated, as the App.
      const anonymous = !/\/api\/v3\/?$/.test(options.baseUrl ?? "");
      const octokit = anonymous ? makeOctokit(options, { anonymous: true }) : await clientFor(org);
      let sent = 0;
      try {
        for (const batch of batches(values, CREDENTIALS_PER_CALL)) {
          await octokit.request("POST /credentials/revoke", { credentials: [...batch] });
          sent += batch.length;
        }
      } catch (error) {
        // GitHub's message, never the request: its body is the values.
        throw describe(
          error,
          `revoking ${values.length} leaked token value(s) at GitHub (${sent} accepted before this call)`,
        );
      }
    },

    async revokeGrants(org, patIds) {
      const octokit = await clientFor(org);
      const outcomes: RevocationOutcome[] = [];
      /**
       * One call for a batch; a batch GitHub refuses whole (422: one grant in it it will not take) is split
       * in two and each half sent again, until the refused grants are alone: the others are revoked in the
       * same run, and each refused one is reported with GitHub's message.
       */
      const revoke = async (batch: readonly number[]): Promise<void> => {
        try {
          await octokit.rest.orgs.updatePatAccesses({ org, action: "revoke", pat_ids: [...batch] });
          for (const patId of batch) outcomes.push({ patId, ok: true });
        } catch (error) {
          if (error instanceof RequestError && error.status === 422 && batch.length > 1) {
            const half = Math.ceil(batch.length / 2);
            await revoke(batch.slice(0, half));
            await revoke(batch.slice(half));
            return;
          }
          const what =
            batch.length === 1
              ? `revoking grant ${batch[0]} in ${org}`
              : `revoking ${batch.length} grants in ${org}`;
          const message = describe(error, what).message;
          for (const patId of batch) outcomes.push({ patId, ok: false, error: message });
        }
      };
      for (const batch of batches(patIds, REVOKE_BATCH)) await revoke(batch);
      return outcomes;
    },
  };
}

type InstallationPayload = Awaited<
  ReturnType<PatrolOctokit["rest"]["apps"]["listInstallations"]>
>["data"][number];

/**
 * Where the App is installed (`GET /app/installations`, as the App: its JWT), every page of 100. Only
 * installations on organizations are returned: an App can be installed on a user account too, which has
 * no fine-grained PAT endpoints to sweep. Needs the App's id and private key: an installation token
 * cannot list its siblings.
 */
export function makeGitHubInstallationSource(given: GitHubClientOptions): InstallationSource {
  const budget = given.budget ?? unbounded();
  const timeoutMs = given.timeoutMs ?? GITHUB_TIMEOUT_MS;
  const last: LastAnswer = {};
  const send = noting(budget.fetch(timeoutMs), last, timeoutMs);
  const options: BoundOptions = { ...given, budget, shared: given.shared ?? sharedGitHubState(), send, last };
  return {
    async listInstallations() {
      if (options.credentials.kind !== "app") {
        throw new GitHubError(
          "listing the GitHub App's installations needs the App's id and private key (GITHUB_APP_SECRET_ARN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY): an installation token cannot",
          null,
        );
      }
      try {
        // No installation id: auth-app signs `/app/…` requests with the App's JWT.
        const items = await makeOctokit(options).paginate("GET /app/installations", { per_page: PAGE_SIZE });
        return (items as InstallationPayload[])
          .filter((i) => i.target_type === "Organization" && i.account !== null && "login" in i.account)
          .map(
            (i): Installation => ({
              id: i.id,
              org: (i.account as { login: string }).login,
              suspended: i.suspended_at !== null && i.suspended_at !== undefined,
            }),
          );
      } catch (error) {
        throw describeFailure(error, "listing the GitHub App's installations", last);
      }
    },
  };
}

async function resolveClient(options: BoundOptions, org: string): Promise<PatrolOctokit> {
  const { credentials, shared } = options;
  if (credentials.kind === "token") return makeOctokit(options);
  const known =
    credentials.installationIds?.[org] ?? credentials.installationId ?? shared.installations.get(org);
  if (known) return makeOctokit(options, { installationId: known });
  // No installation id given: ask GitHub which installation of the App covers this org.
  const appClient = makeOctokit(options);
  try {
    const { data } = await appClient.rest.apps.getOrgInstallation({ org });
    shared.installations.set(org, data.id);
    return makeOctokit(options, { installationId: data.id });
  } catch (error) {
    throw describeFailure(error, `finding the GitHub App's installation on ${org}`, options.last);
  }
}
