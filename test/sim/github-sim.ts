/**
 * A loopback simulator of the GitHub REST API for one or more organizations' fine-grained PATs, speaking
 * the real wire protocol so that `@octokit/rest` (with `@octokit/auth-app`, throttling and retry) can be
 * pointed at it with `baseUrl: sim.url`.
 *
 * - GitHub App authentication for real: RS256 JWTs are verified with the App's public key and the claims
 *   GitHub checks (`iss`, `iat`, `exp`, at most 10 minutes, 60 s of clock skew); installation tokens are
 *   issued per organization and expire after an hour.
 * - Org endpoints: grants (list, revoke one, revoke in bulk, repositories), requests (list, review one,
 *   review in bulk, repositories) and, for SAML SSO orgs, credential authorizations (list, delete).
 * - GitHub's pagination (`per_page` ≤ 100, `Link` with prev/next/last/first), filters, validation (422),
 *   errors shaped like GitHub's, rate-limit headers (per installation or token; 403 when exhausted).
 * - Faults on demand (5xx, 403/429 with `retry-after`, slow answers) and a fixed latency for benchmarks.
 * - The App's `personal_access_token_request` webhook: an org with `setWebhook` gets signed deliveries
 *   (created, approved, denied, cancelled) as state changes, logged in `webhooks`, which can also lose,
 *   redeliver and hand-craft deliveries for fault tests.
 * - Enterprise Server's path prefix (`/api/v3`) when `pathPrefix` is given.
 *
 * Payloads are typed with `@octokit/openapi-types` and webhook payloads with
 * `@octokit/openapi-webhooks-types`, so they follow GitHub's published schemas.
 * Lists are kept in ascending order (by `access_granted_at` / `created_at`, ties in insertion order) in
 * slot arrays with a Fenwick tree over live slots: an unfiltered page costs O(per_page · log N) however
 * many grants were revoked, and removal is O(log N).
 */
import {
  createHash,
  createHmac,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
} from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { components } from "@octokit/openapi-types";
import type { components as WebhookComponents } from "@octokit/openapi-webhooks-types";
import { closeServer, listenLoopback, readBody } from "./http-util";

type Schemas = components["schemas"];
export type SimpleUser = Schemas["simple-user"];
export type GrantPayload = Schemas["organization-programmatic-access-grant"];
export type RequestPayload = Schemas["organization-programmatic-access-grant-request"];
export type InstallationPayload = Schemas["installation"];
export type InstallationTokenPayload = Schemas["installation-token"];
export type AppPayload = NonNullable<Schemas["integration"]>;
export type AppPermissions = Schemas["app-permissions"];
export type RepositoryPayload = Schemas["minimal-repository"];
export type PatPermissions = GrantPayload["permissions"];
export type RepositorySelection = GrantPayload["repository_selection"];

type WebhookSchemas = WebhookComponents["schemas"];
type SimpleInstallation = WebhookSchemas["simple-installation"];
/** GitHub omits `installation` when the org has no installation of the App; the schema marks it required. */
type WithOptionalInstallation<T> = Omit<T, "installation"> & { installation?: SimpleInstallation };
/** The body of a `personal_access_token_request` delivery, by action. */
export type PatRequestWebhookPayload =
  | WebhookSchemas["webhook-personal-access-token-request-created"]
  | WithOptionalInstallation<WebhookSchemas["webhook-personal-access-token-request-approved"]>
  | WithOptionalInstallation<WebhookSchemas["webhook-personal-access-token-request-denied"]>
  | WithOptionalInstallation<WebhookSchemas["webhook-personal-access-token-request-cancelled"]>;
export type PatRequestAction = PatRequestWebhookPayload["action"];

/**
 * GitHub Enterprise Cloud's `credential-authorization` schema. It is published only in GitHub's GHEC
 * description, which `@octokit/openapi-types` (api.github.com) does not include, so it is written out here.
 */
export interface CredPayload {
  login: string;
  credential_id: number;
  credential_type: string;
  token_last_eight?: string;
  credential_authorized_at: string;
  scopes?: string[];
  fingerprint?: string;
  credential_accessed_at: string | null;
  authorized_credential_id: number | null;
  authorized_credential_title?: string | null;
  authorized_credential_note?: string | null;
  authorized_credential_expires_at?: string | null;
}

export interface GitHubSimOptions {
  /** The GitHub App whose JWTs are accepted. Without it every JWT is refused. */
  app?: { appId: number; publicKeyPem: string; clientId?: string; slug?: string };
  /** org → installation id of the App. */
  installations?: Record<string, number>;
  /** Permissions of every installation; default read/write on org PATs and PAT requests. */
  installationPermissions?: AppPermissions;
  /** Ready tokens → orgs they may access (e.g. a `GITHUB_TOKEN` for local use). `ghp_`, `github_pat_`
   * and `gho_` tokens act as a PAT / OAuth token: refused by the PAT endpoints with 403. */
  staticTokens?: Record<string, string[]>;
  /** Every answer leaves this long after its request arrived, the simulator's own work included (the benchmark uses 20). */
  latencyMs?: number;
  /** `x-ratelimit-limit` for tokens and the App; default 5000 (anonymous callers get 60). */
  rateLimit?: number;
  /** Pagination links as GitHub writes them, `/organizations/{id}/…`; default: the path as requested. */
  organizationIdLinks?: boolean;
  /** Enterprise Server: `POST /credentials/revoke` is authenticated (on github.com it must not be). */
  authenticatedCredentialRevocation?: boolean;
  /**
   * Enterprise Server: every route is served under this prefix only (GHES answers REST at
   * `https://HOST/api/v3/…`); `url`, pagination links and `*_url` fields include it, other paths answer 404.
   */
  pathPrefix?: string;
  /** How long a webhook delivery may take before it counts as failed; default 10 s, GitHub's limit. */
  deliveryTimeoutMs?: number;
}

/** One webhook delivery, as GitHub's "Recent deliveries" shows it. */
export interface SimDelivery {
  /** The `X-GitHub-Delivery` GUID; a redelivery keeps it. */
  id: string;
  event: string;
  /** The payload's `action` ("" for events without one, such as `ping`). */
  action: string;
  url: string;
  /** As sent, with lower-case names. */
  headers: Record<string, string>;
  /** The exact bytes sent (after tampering, for a tampered hand-made delivery). */
  body: string;
  /** When it was sent (or lost), epoch ms. */
  at: number;
  redelivery: boolean;
  /** The receiver's answer; absent when it never answered. */
  status?: number;
  ms?: number;
  responseBody?: string;
  /** Why the delivery failed without an answer: "timed out", a connection error, "simulator closed". */
  error?: string;
  /** Lost on GitHub's side (`loseNext`): recorded, never sent. */
  lost?: boolean;
}

export interface WebhookLog {
  /** In the order sent, lost ones included. */
  deliveries: SimDelivery[];
  /** Waits until no delivery is in flight. */
  settled(): Promise<void>;
  /** The next n automatic deliveries are lost: GitHub had a bad minute (it never retries on its own). */
  loseNext(n: number): void;
  /** Sends a recorded delivery again, as the "Redeliver" button does: same GUID, body and signature. */
  redeliver(id: string, options?: { url?: string }): Promise<SimDelivery>;
  /** A hand-made delivery for fault tests (default event `personal_access_token_request`). */
  deliver(options: HandMadeDelivery): Promise<SimDelivery>;
}

export interface HandMadeDelivery {
  url: string;
  secret: string;
  event?: string;
  /** A string is sent byte for byte; an object as JSON. */
  body: string | object;
  /** default: a fresh GUID. */
  deliveryId?: string;
  /**
   * "signature": signed with another secret; "no-signature": no `X-Hub-Signature-256`; "body": signed,
   * then altered (a field added) before sending.
   */
  tamper?: "signature" | "no-signature" | "body";
}

export interface SimRequest {
  method: string;
  /** Path without the query string, as requested (with the `pathPrefix`, when set). */
  path: string;
  query: URLSearchParams;
  /** Status answered (set before the response is written). */
  status: number;
  /** Parsed JSON body (the raw text when it was not JSON; undefined when empty). */
  body: unknown;
  /** Arrival time, epoch ms. */
  at: number;
}

export interface Fault {
  method?: string;
  /** Matched against the path as requested (with the `pathPrefix`, when set), like `SimRequest.path`. */
  path: string | RegExp;
  /** Query parameters the request must carry too, e.g. `{ page: "3" }`. */
  query?: Record<string, string>;
  status: number;
  /** How many matching requests it answers; default 1. */
  times?: number;
  headers?: Record<string, string>;
  /** JSON body; a string is sent raw as text/html. Default: a GitHub-like `{message}` for the status. */
  body?: unknown;
  /** Extra delay before answering, on top of `latencyMs`. */
  delayMs?: number;
}

export interface GitHubSim {
  /** e.g. `http://127.0.0.1:PORT` (then the `pathPrefix`, when set), no trailing slash. */
  url: string;
  /** Every request, in arrival order. */
  requests: SimRequest[];
  /** Queues a fault; faults are consumed in order when method and path match. */
  addFault(f: Fault): void;
  /** The org (created on first use; names are case-insensitive). */
  org(name: string): SimOrg;
  /** Most requests ever in flight at once. */
  readonly maxInFlight: number;
  /** Token values accepted by `POST /credentials/revoke`, in order. */
  revokedCredentials: string[];
  /** Webhook deliveries of every org, and the controls of GitHub's side of them. */
  webhooks: WebhookLog;
  /**
   * Installs the App on an account: an org (created on first use) or, as GitHub allows, a user, which
   * `GET /app/installations` lists with `target_type: "User"` and which has no org endpoints.
   */
  addInstallation(
    account: string,
    installationId: number,
    options?: { type?: "Organization" | "User" },
  ): void;
  /**
   * Uninstalls the App from an account, as an owner does in its settings: the installation leaves
   * `GET /app/installations`, and its tokens stop working. False when the App was not installed there.
   */
  removeInstallation(account: string): boolean;
  /** Stops the server and aborts deliveries in flight. */
  close(): Promise<void>;
}

export interface GrantSeed {
  /** pat_id; auto-increments from 1000. */
  id?: number;
  /** auto-increments from 5000. */
  tokenId?: number;
  owner: string;
  tokenName: string;
  /** default "subset". */
  repositorySelection?: RepositorySelection;
  /** Repository names for a "subset" selection (served by `/repositories` and the `repository` filter). */
  repositories?: string[];
  /** default `{ repository: { contents: "read", metadata: "read" } }`. */
  permissions?: PatPermissions;
  /** default: now. */
  accessGrantedAt?: string;
  /** default null (no expiry). */
  tokenExpiresAt?: string | null;
  /** default false. */
  tokenExpired?: boolean;
  /** default null (never used). */
  tokenLastUsedAt?: string | null;
}

export interface RequestSeed {
  /** pat_request_id; auto-increments from 3000. */
  id?: number;
  tokenId?: number;
  owner: string;
  tokenName: string;
  /** default null. */
  reason?: string | null;
  repositorySelection?: RepositorySelection;
  repositories?: string[];
  permissions?: PatPermissions;
  /** default: now. */
  createdAt?: string;
  tokenExpiresAt?: string | null;
  tokenExpired?: boolean;
  tokenLastUsedAt?: string | null;
}

export interface CredSeed {
  login: string;
  /** auto-increments from 7000. */
  credentialId?: number;
  /** default "personal access token". */
  credentialType?: string;
  /** default: 8 random hex characters. */
  tokenLastEight?: string;
  /** default ["repo", "read:org"]. */
  scopes?: string[];
  /** default: now. */
  authorizedAt?: string;
  /** default null. */
  accessedAt?: string | null;
  /** auto-increments from 8000. */
  authorizedCredentialId?: number | null;
  title?: string | null;
  note?: string | null;
  /** default null. */
  expiresAt?: string | null;
  fingerprint?: string;
}

export interface Review {
  requestId: number;
  action: "approve" | "deny";
  reason?: string;
}

export interface SimOrg {
  readonly login: string;
  readonly id: number;
  /** Returns the stored GitHub-shaped object (live: mutating it changes what the API answers). */
  addGrant(g: GrantSeed): GrantPayload;
  /** Sends `created` when a webhook is set. */
  addRequest(r: RequestSeed): RequestPayload;
  /**
   * The requester withdraws a pending request: it leaves the listing and `cancelled` is sent when a webhook
   * is set. False when it was not pending.
   */
  cancelRequest(requestId: number): boolean;
  /**
   * Where the App's webhook delivers this org's `personal_access_token_request` events; null stops them.
   * Reviews through the REST API send `approved` (once the grant exists) or `denied`. An empty secret
   * sends no `X-Hub-Signature-256`, as GitHub does for a hook without one.
   */
  setWebhook(hook: { url: string; secret: string } | null): void;
  /** The login named as `sender` of `approved` / `denied` deliveries; default "octo-admin". */
  reviewer: string;
  /**
   * Takes a grant out of the listing without patrol (revoked by hand in GitHub's settings, or lost by a bad
   * listing night); returns it, so that `addGrant` with its ids can list it again.
   */
  removeGrant(patId: number): GrantPayload | undefined;
  addCredentialAuthorization(c: CredSeed): CredPayload;
  /** When false (the default), credential-authorizations answers 404. */
  samlSso: boolean;
  /**
   * Grants GitHub will not revoke: a bulk revocation naming any of them is refused whole (422), as GitHub
   * refuses a batch with one id it will not take; revoking one alone is refused too.
   */
  unrevokable: Set<number>;
  /** Current grants, ascending by access_granted_at (revoked ones removed). */
  grants(): GrantPayload[];
  /** Pending requests, ascending by created_at. */
  requests(): RequestPayload[];
  reviews: Review[];
  /** In order of revocation. */
  revokedPatIds: number[];
  credentialAuthorizations(): CredPayload[];
  /** Credential ids deleted through the API, in order. */
  removedCredentialIds: number[];
}

// ---------------------------------------------------------------------------------------------------------
// Helpers exported for tests and the demo

/** An RSA 2048 key pair for a simulated GitHub App (PKCS#8 by default; GitHub itself hands out PKCS#1). */
export function generateAppKeyPair(format: "pkcs8" | "pkcs1" = "pkcs8"): {
  privateKeyPem: string;
  publicKeyPem: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: format, format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** Signs an App JWT like `universal-github-app-jwt` does; claims can be overridden to test refusals. */
export function createAppJwt(opts: {
  privateKeyPem: string;
  appId: number | string;
  /** epoch seconds; default now − 30. */
  iat?: number;
  /** epoch seconds; default iat + 600. */
  exp?: number;
  alg?: string;
}): string {
  const iat = opts.iat ?? Math.floor(Date.now() / 1000) - 30;
  const header = base64url(JSON.stringify({ alg: opts.alg ?? "RS256", typ: "JWT" }));
  const payload = base64url(JSON.stringify({ iat, exp: opts.exp ?? iat + 600, iss: opts.appId }));
  const signature = cryptoSign("RSA-SHA256", Buffer.from(`${header}.${payload}`), opts.privateKeyPem);
  return `${header}.${payload}.${signature.toString("base64url")}`;
}

// ---------------------------------------------------------------------------------------------------------
// Constants

const DOCS = {
  rest: "https://docs.github.com/rest",
  pats: "https://docs.github.com/rest/orgs/personal-access-tokens",
  apps: "https://docs.github.com/rest/apps/apps",
  saml: "https://docs.github.com/enterprise-cloud@latest/rest/orgs/orgs",
  rateLimit: "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api",
} as const;

const DEFAULT_INSTALLATION_PERMISSIONS: AppPermissions = {
  organization_personal_access_tokens: "write",
  organization_personal_access_token_requests: "write",
};
const DEFAULT_PAT_PERMISSIONS: PatPermissions = { repository: { contents: "read", metadata: "read" } };
const PAT_LIKE_PREFIXES = ["ghp_", "github_pat_", "gho_"];
const SECONDARY_RATE_LIMIT_MESSAGE =
  "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID";
const ANONYMOUS_RATE_LIMIT = 60;
const JWT_MAX_LIFETIME_S = 600;
const CLOCK_SKEW_S = 60;
const TOKEN_LIFETIME_MS = 3600_000;
const PER_PAGE_DEFAULT = 30;
const PER_PAGE_MAX = 100;
const MAX_OWNER_FILTERS = 10;
const MAX_TOKEN_ID_FILTERS = 50;
const MAX_BULK_IDS = 100;
const MAX_REASON_LENGTH = 1024;
const ACCESS_RANK: Record<string, number> = { read: 1, write: 2, admin: 3 };
const DELIVERY_TIMEOUT_MS = 10_000;
const PAT_REQUEST_EVENT = "personal_access_token_request";
const DEFAULT_REVIEWER = "octo-admin";

// ---------------------------------------------------------------------------------------------------------
// Small utilities

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}

function isoNow(): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
}

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function parseTime(value: string, what: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`github-sim: ${what} is not a date: ${JSON.stringify(value)}`);
  return ms;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
function randomToken(prefix: string, length = 36): string {
  const bytes = randomBytes(length);
  let out = prefix;
  for (const b of bytes) out += BASE62[b % 62];
  return out;
}

function requestId(): string {
  const hex = randomBytes(16).toString("hex").toUpperCase();
  return `${hex.slice(0, 4)}:${hex.slice(4, 9)}:${hex.slice(9, 16)}:${hex.slice(16, 23)}:${hex.slice(23, 31)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPositiveIntegerArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && (v as number) > 0);
}

// ---------------------------------------------------------------------------------------------------------
// An ordered store: slots in ascending order, a Fenwick tree over live slots, indexes by owner and token

class OrderedStore<T> {
  private slots: (T | undefined)[] = [];
  private slotKeys: number[] = [];
  private readonly slotOf = new Map<number, number>();
  private tree = new Int32Array(1);
  private cap = 0;
  private live = 0;
  private lastKey = Number.NEGATIVE_INFINITY;
  private unsorted = false;
  private readonly byOwner = new Map<string, T[]>();
  private readonly byToken = new Map<number, T[]>();

  constructor(
    private readonly idOf: (item: T) => number,
    private readonly keyOf: (item: T) => number,
    private readonly ownerOf: (item: T) => string,
    private readonly tokenOf: (item: T) => number | undefined,
  ) {}

  get size(): number {
    return this.live;
  }

  get(id: number): T | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : this.slots[slot];
  }

  add(item: T): void {
    const id = this.idOf(item);
    if (this.slotOf.has(id)) throw new Error(`github-sim: duplicate id ${id}`);
    const key = this.keyOf(item);
    if (key < this.lastKey) this.unsorted = true;
    else this.lastKey = key;
    if (this.slots.length === this.cap) this.rebuildTree(Math.max(1024, this.cap * 2));
    const slot = this.slots.length;
    this.slots.push(item);
    this.slotKeys.push(key);
    this.slotOf.set(id, slot);
    this.bump(slot, 1);
    this.live++;
    pushIndex(this.byOwner, this.ownerOf(item).toLowerCase(), item);
    const token = this.tokenOf(item);
    if (token !== undefined) pushIndex(this.byToken, token, item);
  }

  remove(id: number): T | undefined {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return undefined;
    const item = this.slots[slot];
    this.slots[slot] = undefined;
    this.slotOf.delete(id);
    this.bump(slot, -1);
    this.live--;
    return item;
  }

  /** The k-th live item (0-based) in ascending order: O(log N). */
  at(k: number): T | undefined {
    this.sortIfNeeded();
    if (k < 0 || k >= this.live) return undefined;
    let pos = 0;
    let rest = k + 1;
    for (let step = this.cap; step > 0; step >>= 1) {
      const next = pos + step;
      const count = this.tree[next];
      if (next <= this.cap && count !== undefined && count < rest) {
        pos = next;
        rest -= count;
      }
    }
    return this.slots[pos];
  }

  /** All live items, ascending: O(N). */
  values(): T[] {
    this.sortIfNeeded();
    const out: T[] = [];
    for (const item of this.slots) if (item !== undefined) out.push(item);
    return out;
  }

  /** Live items of these owners (lowercase logins), ascending: O(their items). */
  byOwners(owners: Iterable<string>): T[] {
    const out: T[] = [];
    for (const owner of owners) out.push(...this.compactIndex(this.byOwner, owner));
    return this.inOrder(out);
  }

  /** Live items with these token ids, ascending. */
  byTokens(tokens: Iterable<number>): T[] {
    const out: T[] = [];
    for (const token of tokens) out.push(...this.compactIndex(this.byToken, token));
    return this.inOrder(out);
  }

  private inOrder(items: T[]): T[] {
    this.sortIfNeeded();
    const unique = [...new Set(items)];
    return unique.sort((a, b) => (this.slotOf.get(this.idOf(a)) ?? 0) - (this.slotOf.get(this.idOf(b)) ?? 0));
  }

  private compactIndex<K>(index: Map<K, T[]>, key: K): T[] {
    const list = index.get(key);
    if (!list) return [];
    const alive = list.filter((item) => this.get(this.idOf(item)) === item);
    if (alive.length === 0) index.delete(key);
    else if (alive.length !== list.length) index.set(key, alive);
    return alive;
  }

  private bump(slot: number, delta: number): void {
    for (let i = slot + 1; i <= this.cap; i += i & -i) this.tree[i] = (this.tree[i] ?? 0) + delta;
  }

  private rebuildTree(cap: number): void {
    this.cap = cap;
    const tree = new Int32Array(cap + 1);
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i] !== undefined) tree[i + 1] = 1;
    for (let i = 1; i <= cap; i++) {
      const j = i + (i & -i);
      if (j <= cap) tree[j] = (tree[j] ?? 0) + (tree[i] ?? 0);
    }
    this.tree = tree;
  }

  /** Seeds given out of order are sorted once, on the next read (a stable sort keeps ties in order). */
  private sortIfNeeded(): void {
    if (!this.unsorted) return;
    const entries: { item: T; key: number }[] = [];
    this.slots.forEach((item, slot) => {
      if (item !== undefined) entries.push({ item, key: this.slotKeys[slot] ?? 0 });
    });
    entries.sort((a, b) => a.key - b.key);
    this.slots = entries.map((e) => e.item);
    this.slotKeys = entries.map((e) => e.key);
    this.slotOf.clear();
    this.slots.forEach((item, slot) => {
      if (item !== undefined) this.slotOf.set(this.idOf(item), slot);
    });
    let cap = 1024;
    while (cap < this.slots.length) cap *= 2;
    this.rebuildTree(cap);
    this.lastKey = this.slotKeys[this.slotKeys.length - 1] ?? Number.NEGATIVE_INFINITY;
    this.unsorted = false;
  }
}

function pushIndex<K, T>(index: Map<K, T[]>, key: K, item: T): void {
  const list = index.get(key);
  if (list) list.push(item);
  else index.set(key, [item]);
}

// ---------------------------------------------------------------------------------------------------------
// Internal state

interface OrgState {
  login: string;
  id: number;
  account: SimpleUser;
  grants: OrderedStore<GrantPayload>;
  requests: OrderedStore<RequestPayload>;
  creds: OrderedStore<CredPayload>;
  /** Repository names of "subset" grants and requests, by pat_id / pat_request_id. */
  grantRepos: Map<number, string[]>;
  requestRepos: Map<number, string[]>;
  hook: WebhookTarget | null;
  handle: SimOrg;
}

interface IssuedToken {
  orgLower: string;
  installationId: number;
  permissions: AppPermissions;
  expiresAt: number;
}

type Credential =
  | { kind: "none" }
  | { kind: "jwt"; token: string }
  | { kind: "installation"; token: string; issued: IssuedToken }
  | { kind: "static"; token: string; orgs: Set<string>; patLike: boolean }
  | { kind: "unknown" };

interface Reply {
  status: number;
  /** undefined: no body (204). A string is sent raw. */
  body?: unknown;
  headers?: Record<string, string>;
}

interface RateWindow {
  limit: number;
  used: number;
  resetAt: number; // epoch seconds
}

interface RouteContext {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  credential: Credential;
}

function error(status: number, message: string, documentationUrl: string = DOCS.rest, extra?: object): Reply {
  return {
    status,
    body: { message, documentation_url: documentationUrl, status: String(status), ...extra },
  };
}

const notFound = (docs: string = DOCS.rest): Reply => error(404, "Not Found", docs);

function invalid(detail: string, docs: string): Reply {
  return error(422, `Invalid request.\n\n${detail}`, docs);
}

function validationFailed(field: string, message: string, docs: string): Reply {
  return error(422, "Validation Failed", docs, {
    errors: [{ resource: "PersonalAccessToken", field, code: "invalid", message }],
  });
}

function defaultFaultMessage(status: number): string {
  if (status === 403 || status === 429) return SECONDARY_RATE_LIMIT_MESSAGE;
  const messages: Record<number, string> = {
    400: "Bad Request",
    401: "Bad credentials",
    404: "Not Found",
    409: "Conflict",
    422: "Validation Failed",
    503: "Service Unavailable",
    504: "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists.",
  };
  return messages[status] ?? (status >= 500 ? "Server Error" : "Error");
}

// ---------------------------------------------------------------------------------------------------------
// Webhook deliveries: GitHub's side of them (signing, sending, losing, redelivering), payloads aside

interface WebhookTarget {
  url: string;
  secret: string;
}

interface WebhookSender extends WebhookLog {
  /** An automatic delivery (lost instead while `loseNext` has some left); fire and forget. */
  emit(target: WebhookTarget, event: string, payload: { action: string }): void;
  /** Aborts deliveries in flight and waits for them. */
  close(): Promise<void>;
}

function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/** GitHub signs only when the hook has a secret. */
function signatureHeader(secret: string | undefined, body: string): Record<string, string> {
  return secret ? { "x-hub-signature-256": signBody(secret, body) } : {};
}

/** The secret a hand-made delivery is signed with: the receiver's, another one, or none. */
function signingSecret(options: HandMadeDelivery): string | undefined {
  if (options.tamper === "no-signature") return undefined;
  return options.tamper === "signature" ? `${options.secret}-not` : options.secret;
}

function actionOf(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    return isObject(parsed) && typeof parsed.action === "string" ? parsed.action : "";
  } catch {
    return "";
  }
}

/** Changes what a JSON object says while leaving every other byte alone; other text gets a newline. */
function alterBody(body: string): string {
  return /}\s*$/.test(body) ? body.replace(/}(\s*)$/, ',"tampered":true}$1') : `${body}\n`;
}

function describeFailure(err: unknown, closed: boolean): string {
  if (closed) return "simulator closed";
  if (err instanceof Error && err.name === "TimeoutError") return "timed out";
  const cause =
    err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

function createWebhookSender(opts: { appId: number; timeoutMs: number }): WebhookSender {
  const deliveries: SimDelivery[] = [];
  const inFlight = new Set<Promise<void>>();
  const closing = new AbortController();
  // An App has one webhook, whichever org an event comes from.
  const hookId = 400_000_000 + randomBytes(3).readUIntBE(0, 3);
  const userAgent = `GitHub-Hookshot/${randomBytes(4).toString("hex").slice(0, 7)}`;
  let toLose = 0;

  function headersFor(event: string, deliveryId: string): Record<string, string> {
    return {
      "content-type": "application/json",
      "user-agent": userAgent,
      "x-github-event": event,
      "x-github-delivery": deliveryId,
      "x-github-hook-id": String(hookId),
      "x-github-hook-installation-target-type": "integration",
      "x-github-hook-installation-target-id": String(opts.appId),
    };
  }

  /** Posts once and records the answer; never rejects (a failure is recorded in `error`). */
  async function post(delivery: SimDelivery): Promise<void> {
    const started = performance.now();
    const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), closing.signal]);
    try {
      const res = await fetch(delivery.url, {
        method: "POST",
        headers: delivery.headers,
        body: delivery.body,
        signal,
        redirect: "manual",
      });
      delivery.status = res.status;
      delivery.responseBody = await res.text();
    } catch (err) {
      delivery.error = describeFailure(err, closing.signal.aborted);
    } finally {
      delivery.ms = Math.round(performance.now() - started);
    }
  }

  function send(delivery: SimDelivery): Promise<SimDelivery> {
    deliveries.push(delivery);
    const sending: Promise<void> = post(delivery).finally(() => inFlight.delete(sending));
    inFlight.add(sending);
    return sending.then(() => delivery);
  }

  async function settled(): Promise<void> {
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  }

  function record(fields: Omit<SimDelivery, "at" | "redelivery">): SimDelivery {
    return { ...fields, at: Date.now(), redelivery: false };
  }

  return {
    deliveries,
    emit(target, event, payload) {
      const body = JSON.stringify(payload);
      const id = randomUUID();
      const headers = { ...headersFor(event, id), ...signatureHeader(target.secret, body) };
      const delivery = record({ id, event, action: payload.action, url: target.url, headers, body });
      if (toLose > 0) {
        toLose--;
        deliveries.push({ ...delivery, lost: true });
        return;
      }
      void send(delivery);
    },
    loseNext(n) {
      toLose += n;
    },
    redeliver(id, options = {}) {
      const original = deliveries.find((d) => d.id === id);
      if (!original) return Promise.reject(new Error(`github-sim: no delivery ${id}`));
      const { event, action, headers, body } = original;
      return send({
        id,
        event,
        action,
        url: options.url ?? original.url,
        headers,
        body,
        at: Date.now(),
        redelivery: true,
      });
    },
    deliver(options) {
      const event = options.event ?? PAT_REQUEST_EVENT;
      const id = options.deliveryId ?? randomUUID();
      const signed = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      const headers = { ...headersFor(event, id), ...signatureHeader(signingSecret(options), signed) };
      const body = options.tamper === "body" ? alterBody(signed) : signed;
      return send(record({ id, event, action: actionOf(signed), url: options.url, headers, body }));
    },
    settled,
    async close() {
      closing.abort();
      await settled();
    },
  };
}

/** "/api/v3/" → "/api/v3"; none or "/" → "". */
function normalizePathPrefix(prefix: string | undefined): string {
  if (prefix === undefined || /^\/*$/.test(prefix)) return "";
  if (!prefix.startsWith("/")) {
    throw new Error(`github-sim: pathPrefix must start with "/": ${JSON.stringify(prefix)}`);
  }
  return prefix.replace(/\/+$/, "");
}

/** The path a route sees, or undefined when the request is outside the prefix. */
function stripPathPrefix(prefix: string, pathname: string): string | undefined {
  if (prefix === "") return pathname;
  if (pathname === prefix) return "/";
  return pathname.startsWith(`${prefix}/`) ? pathname.slice(prefix.length) : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// The simulator

export async function startGitHubSim(opts: GitHubSimOptions = {}): Promise<GitHubSim> {
  const latencyMs = opts.latencyMs ?? 0;
  const rateLimit = opts.rateLimit ?? 5000;
  const installationPermissions = opts.installationPermissions ?? DEFAULT_INSTALLATION_PERMISSIONS;
  const appKey: KeyObject | undefined = opts.app ? createPublicKey(opts.app.publicKeyPem) : undefined;
  const appSlug = opts.app?.slug ?? "patrol-sim";
  const startedAt = isoSeconds(Date.now());
  const pathPrefix = normalizePathPrefix(opts.pathPrefix);
  const webhooks = createWebhookSender({
    appId: opts.app?.appId ?? 0,
    timeoutMs: opts.deliveryTimeoutMs ?? DELIVERY_TIMEOUT_MS,
  });

  const requests: SimRequest[] = [];
  const faults: (Fault & { left: number })[] = [];
  const revokedCredentials: string[] = [];
  const orgs = new Map<string, OrgState>(); // by lowercase login
  const orgsById = new Map<number, OrgState>();
  const users = new Map<string, SimpleUser>(); // by lowercase login
  const accountIds = new Map<number, string>(); // id → lowercase login (users and orgs share GitHub's id space)
  const installationsById = new Map<number, string>(); // installation id → org lowercase
  const userInstallations = new Map<number, string>(); // installation id → user lowercase
  const issued = new Map<string, IssuedToken>();
  const staticTokens = new Map<string, Set<string>>();
  const rateWindows = new Map<string, RateWindow>();
  const timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  const counters = {
    patId: 1000,
    tokenId: 5000,
    requestId: 3000,
    credentialId: 7000,
    authorizedCredentialId: 8000,
  };
  let inFlight = 0;
  let maxInFlight = 0;
  let base = "";

  // --- accounts ----------------------------------------------------------------------------------------

  /** A stable id per login, derived from its lowercase form (probing past the rare collision). */
  function accountId(lower: string): number {
    const digest = createHash("sha256").update(lower).digest();
    let id = 1_000_000 + (digest.readUIntBE(0, 6) % 900_000_000);
    while (accountIds.has(id) && accountIds.get(id) !== lower) id++;
    accountIds.set(id, lower);
    return id;
  }

  function account(login: string, type: "User" | "Organization"): SimpleUser {
    const id = accountId(login.toLowerCase());
    const api = `${base}/users/${login}`;
    return {
      login,
      id,
      node_id: Buffer.from(`04:${type}${id}`).toString("base64"),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      gravatar_id: "",
      url: api,
      html_url: `https://github.com/${login}`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type,
      user_view_type: "public",
      site_admin: false,
    };
  }

  function user(login: string): SimpleUser {
    const lower = login.toLowerCase();
    let found = users.get(lower);
    if (!found) {
      found = account(login, "User");
      users.set(lower, found);
    }
    return found;
  }

  function nextId(kind: keyof typeof counters, given?: number | null): number {
    if (given !== undefined && given !== null) {
      counters[kind] = Math.max(counters[kind], given + 1);
      return given;
    }
    const id = counters[kind];
    counters[kind] = id + 1;
    return id;
  }

  // --- orgs ----------------------------------------------------------------------------------------------

  function getOrg(name: string): OrgState {
    const lower = name.toLowerCase();
    const existing = orgs.get(lower);
    if (existing) return existing;
    const acct = account(name, "Organization");
    const id = Number(acct.id);
    const grantRepos = new Map<number, string[]>();
    const requestRepos = new Map<number, string[]>();
    const grants = new OrderedStore<GrantPayload>(
      (g) => g.id,
      (g) => parseTime(g.access_granted_at, "access_granted_at"),
      (g) => g.owner.login,
      (g) => g.token_id,
    );
    const pending = new OrderedStore<RequestPayload>(
      (r) => r.id,
      (r) => parseTime(r.created_at, "created_at"),
      (r) => r.owner.login,
      (r) => r.token_id,
    );
    const creds = new OrderedStore<CredPayload>(
      (c) => c.credential_id,
      (c) => parseTime(c.credential_authorized_at, "credential_authorized_at"),
      (c) => c.login,
      () => undefined,
    );
    const orgApi = `${base}/organizations/${id}`;
    const handle: SimOrg = {
      login: name,
      id,
      samlSso: false,
      reviewer: DEFAULT_REVIEWER,
      unrevokable: new Set(),
      reviews: [],
      revokedPatIds: [],
      removedCredentialIds: [],
      addGrant(g) {
        const patId = nextId("patId", g.id);
        const grant: GrantPayload = {
          id: patId,
          owner: user(g.owner),
          repository_selection: g.repositorySelection ?? "subset",
          repositories_url: `${orgApi}/personal-access-tokens/${patId}/repositories`,
          permissions: g.permissions ?? structuredClone(DEFAULT_PAT_PERMISSIONS),
          access_granted_at: g.accessGrantedAt ?? isoNow(),
          token_id: nextId("tokenId", g.tokenId),
          token_name: g.tokenName,
          token_expired: g.tokenExpired ?? false,
          token_expires_at: g.tokenExpiresAt ?? null,
          token_last_used_at: g.tokenLastUsedAt ?? null,
        };
        grants.add(grant);
        if (g.repositories) grantRepos.set(patId, [...g.repositories]);
        return grant;
      },
      removeGrant(patId) {
        return grants.remove(patId);
      },
      addRequest(r) {
        const requestIdValue = nextId("requestId", r.id);
        const request: RequestPayload = {
          id: requestIdValue,
          reason: r.reason ?? null,
          owner: user(r.owner),
          repository_selection: r.repositorySelection ?? "subset",
          repositories_url: `${orgApi}/personal-access-token-requests/${requestIdValue}/repositories`,
          permissions: r.permissions ?? structuredClone(DEFAULT_PAT_PERMISSIONS),
          created_at: r.createdAt ?? isoNow(),
          token_id: nextId("tokenId", r.tokenId),
          token_name: r.tokenName,
          token_expired: r.tokenExpired ?? false,
          token_expires_at: r.tokenExpiresAt ?? null,
          token_last_used_at: r.tokenLastUsedAt ?? null,
        };
        pending.add(request);
        if (r.repositories) requestRepos.set(requestIdValue, [...r.repositories]);
        announceRequest(state, "created", request, requestRepos.get(requestIdValue), request.owner);
        return request;
      },
      cancelRequest(requestIdValue) {
        const taken = takeRequest(state, requestIdValue);
        if (!taken) return false;
        announceRequest(state, "cancelled", taken.request, taken.repos, taken.request.owner);
        return true;
      },
      setWebhook(hook) {
        state.hook = hook ? { url: hook.url, secret: hook.secret } : null;
      },
      addCredentialAuthorization(c) {
        const cred: CredPayload = {
          login: user(c.login).login,
          credential_id: nextId("credentialId", c.credentialId),
          credential_type: c.credentialType ?? "personal access token",
          token_last_eight: c.tokenLastEight ?? randomBytes(4).toString("hex"),
          credential_authorized_at: c.authorizedAt ?? isoNow(),
          scopes: c.scopes ?? ["repo", "read:org"],
          credential_accessed_at: c.accessedAt ?? null,
          authorized_credential_id:
            c.authorizedCredentialId === null
              ? null
              : nextId("authorizedCredentialId", c.authorizedCredentialId),
          authorized_credential_title: c.title ?? null,
          authorized_credential_note: c.note ?? null,
          authorized_credential_expires_at: c.expiresAt ?? null,
        };
        if (c.fingerprint !== undefined) cred.fingerprint = c.fingerprint;
        creds.add(cred);
        return cred;
      },
      grants: () => grants.values(),
      requests: () => pending.values(),
      credentialAuthorizations: () => creds.values(),
    };
    const state: OrgState = {
      login: name,
      id,
      account: acct,
      grants,
      requests: pending,
      creds,
      grantRepos,
      requestRepos,
      hook: null,
      handle,
    };
    orgs.set(lower, state);
    orgsById.set(id, state);
    return state;
  }

  /** Removes a pending request with its repository names (which the payload announcing it lists). */
  function takeRequest(
    org: OrgState,
    requestIdValue: number,
  ): { request: RequestPayload; repos: string[] | undefined } | undefined {
    const request = org.requests.remove(requestIdValue);
    if (!request) return undefined;
    const repos = org.requestRepos.get(requestIdValue);
    org.requestRepos.delete(requestIdValue);
    return { request, repos };
  }

  function installationIdOf(org: OrgState): number | undefined {
    for (const [installationId, orgLower] of installationsById) {
      if (orgLower === org.login.toLowerCase()) return installationId;
    }
    return undefined;
  }

  // --- webhook payloads ----------------------------------------------------------------------------------

  /** The REST schema allows int64 ids as bigint; the sim's are numbers, which the webhook schema requires. */
  function webhookUser(account: SimpleUser): WebhookSchemas["simple-user"] {
    return { ...account, id: Number(account.id) };
  }

  function webhookOrganization(org: OrgState): WebhookSchemas["organization-simple-webhooks"] {
    const api = `${base}/orgs/${org.login}`;
    return {
      login: org.login,
      id: org.id,
      node_id: org.account.node_id,
      url: api,
      repos_url: `${api}/repos`,
      events_url: `${api}/events`,
      hooks_url: `${api}/hooks`,
      issues_url: `${api}/issues`,
      members_url: `${api}/members{/member}`,
      public_members_url: `${api}/public_members{/member}`,
      avatar_url: org.account.avatar_url,
      description: null,
    };
  }

  /** The request as the webhook shows it: no `reason` (the REST listing has one), repositories inline. */
  function webhookPatRequest(
    org: OrgState,
    request: RequestPayload,
    repos: string[] | undefined,
  ): WebhookSchemas["personal-access-token-request"] {
    const repositories =
      request.repository_selection === "subset"
        ? repositoriesOf(org, repos ?? []).map((r) => ({
            full_name: r.full_name,
            id: Number(r.id),
            name: r.name,
            node_id: r.node_id,
            private: r.private,
          }))
        : null;
    return {
      id: request.id,
      owner: webhookUser(request.owner),
      // A new request adds every permission it asks for; nothing was approved before to upgrade.
      permissions_added: structuredClone(request.permissions),
      permissions_upgraded: {},
      permissions_result: structuredClone(request.permissions),
      repository_selection: request.repository_selection,
      repository_count: repositories?.length ?? null,
      repositories,
      created_at: request.created_at,
      token_id: request.token_id,
      token_name: request.token_name,
      token_expired: request.token_expired,
      token_expires_at: request.token_expires_at,
      token_last_used_at: request.token_last_used_at,
    };
  }

  function webhookInstallation(org: OrgState): { installation?: SimpleInstallation } {
    const id = installationIdOf(org);
    if (id === undefined) return {};
    return {
      installation: { id, node_id: Buffer.from(`023:IntegrationInstallation${id}`).toString("base64") },
    };
  }

  function patRequestPayload(
    action: PatRequestAction,
    org: OrgState,
    request: RequestPayload,
    repos: string[] | undefined,
    sender: SimpleUser,
  ): PatRequestWebhookPayload {
    const common = {
      personal_access_token_request: webhookPatRequest(org, request, repos),
      organization: webhookOrganization(org),
      sender: webhookUser(sender),
    };
    // GitHub leaves `installation` out of `created` deliveries.
    if (action === "created") return { action, ...common };
    return { action, ...common, ...webhookInstallation(org) };
  }

  /** Sends the org's webhook a `personal_access_token_request` delivery, when it has a webhook. */
  function announceRequest(
    org: OrgState,
    action: PatRequestAction,
    request: RequestPayload,
    repos: string[] | undefined,
    sender: SimpleUser,
  ): void {
    if (!org.hook) return;
    webhooks.emit(org.hook, PAT_REQUEST_EVENT, patRequestPayload(action, org, request, repos, sender));
  }

  // --- authentication ------------------------------------------------------------------------------------

  function identify(header: string | undefined): Credential {
    if (!header) return { kind: "none" };
    const match = /^(token|bearer)\s+(\S+)\s*$/i.exec(header);
    const token = match?.[2];
    if (!token) return { kind: "unknown" };
    const found = issued.get(token);
    if (found) return { kind: "installation", token, issued: found };
    const orgsOfStatic = staticTokens.get(token);
    if (orgsOfStatic) {
      const patLike = PAT_LIKE_PREFIXES.some((p) => token.startsWith(p));
      return { kind: "static", token, orgs: orgsOfStatic, patLike };
    }
    if (/^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(token)) return { kind: "jwt", token };
    return { kind: "unknown" };
  }

  /** Verifies an App JWT as GitHub does; returns an error reply or undefined when valid. */
  function verifyJwt(token: string): Reply | undefined {
    const undecodable = error(401, "A JSON web token could not be decoded", DOCS.rest);
    if (!appKey || !opts.app) return undecodable;
    const [h, p, s] = token.split(".");
    if (h === undefined || p === undefined || s === undefined) return undecodable;
    let header: unknown;
    let payload: unknown;
    try {
      header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
      payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
    } catch {
      return undecodable;
    }
    if (!isObject(header) || !isObject(payload) || header.alg !== "RS256") return undecodable;
    const signed = cryptoVerify("RSA-SHA256", Buffer.from(`${h}.${p}`), appKey, Buffer.from(s, "base64url"));
    if (!signed) return undecodable;
    const { iss, iat, exp } = payload;
    const appId = opts.app.appId;
    const issOk =
      iss === appId ||
      (typeof iss === "string" &&
        (iss === String(appId) || (!!opts.app.clientId && iss === opts.app.clientId)));
    if (!issOk) {
      return typeof iss === "number" || (typeof iss === "string" && /^\d+$/.test(iss))
        ? error(401, "Integration not found", DOCS.rest)
        : error(401, "'Issuer' claim ('iss') must be an Integer", DOCS.rest);
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof iat !== "number" || !Number.isInteger(iat) || iat > now + CLOCK_SKEW_S) {
      return error(
        401,
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
      );
    }
    if (typeof exp !== "number" || !Number.isFinite(exp) || exp <= now - CLOCK_SKEW_S) {
      return error(
        401,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    }
    if (exp - iat > JWT_MAX_LIFETIME_S || exp > now + JWT_MAX_LIFETIME_S + CLOCK_SKEW_S) {
      return error(401, "'Expiration time' claim ('exp') is too far in the future");
    }
    return undefined;
  }

  function requireJwt(credential: Credential): Reply | undefined {
    if (credential.kind === "none") {
      return error(401, "A JSON web token could not be decoded", DOCS.apps);
    }
    if (credential.kind !== "jwt") return error(401, "A JSON web token could not be decoded", DOCS.apps);
    return verifyJwt(credential.token);
  }

  type Need =
    | {
        permission: "organization_personal_access_tokens" | "organization_personal_access_token_requests";
        level: "read" | "write";
      }
    | "credential-authorizations";

  /** Authorizes an org endpoint; returns an error reply or undefined when allowed. */
  function authorizeOrg(
    credential: Credential,
    org: OrgState | undefined,
    need: Need,
    docs: string,
  ): Reply | undefined {
    switch (credential.kind) {
      case "none":
        return error(401, "Requires authentication", docs);
      case "unknown":
        return error(401, "Bad credentials", DOCS.rest);
      case "jwt": {
        const refused = verifyJwt(credential.token);
        if (refused) return refused;
        return error(403, "Resource not accessible by integration", docs);
      }
      case "static": {
        if (credential.patLike && need !== "credential-authorizations") {
          return error(403, "Resource not accessible by personal access token", docs);
        }
        if (!org) return notFound(docs);
        if (!credential.orgs.has(org.login.toLowerCase())) {
          return error(403, "Resource not accessible by integration", docs);
        }
        return undefined;
      }
      case "installation": {
        if (credential.issued.expiresAt <= Date.now()) return error(401, "Bad credentials", DOCS.rest);
        if (!org) return notFound(docs);
        if (credential.issued.orgLower !== org.login.toLowerCase()) {
          return error(403, "Resource not accessible by integration", docs);
        }
        if (need === "credential-authorizations") return undefined;
        const granted = credential.issued.permissions[need.permission];
        if ((ACCESS_RANK[granted ?? ""] ?? 0) < (ACCESS_RANK[need.level] ?? 0)) {
          const reply = error(403, "Resource not accessible by integration", docs);
          reply.headers = { "x-accepted-github-permissions": `${need.permission}=${need.level}` };
          return reply;
        }
        return undefined;
      }
    }
  }

  // --- rate limits ---------------------------------------------------------------------------------------

  function rateKey(credential: Credential, remote: string): { key: string; limit: number; who: string } {
    switch (credential.kind) {
      case "installation":
        return {
          key: `installation:${credential.issued.installationId}`,
          limit: rateLimit,
          who: `installation ID ${credential.issued.installationId}`,
        };
      case "static":
        return { key: `token:${credential.token}`, limit: rateLimit, who: "user ID 1" };
      case "jwt":
        return { key: "app", limit: rateLimit, who: `app ID ${opts.app?.appId ?? 0}` };
      default:
        return { key: `ip:${remote}`, limit: ANONYMOUS_RATE_LIMIT, who: remote };
    }
  }

  function consumeRate(key: string, limit: number): { headers: Record<string, string>; exceeded: boolean } {
    const now = Math.floor(Date.now() / 1000);
    let window = rateWindows.get(key);
    if (!window || window.resetAt <= now) {
      window = { limit, used: 0, resetAt: now + 3600 };
      rateWindows.set(key, window);
    }
    const exceeded = window.used >= window.limit;
    if (!exceeded) window.used++;
    return {
      exceeded,
      headers: {
        "x-ratelimit-limit": String(window.limit),
        "x-ratelimit-remaining": String(window.limit - window.used),
        "x-ratelimit-used": String(window.used),
        "x-ratelimit-reset": String(window.resetAt),
        "x-ratelimit-resource": "core",
      },
    };
  }

  // --- faults --------------------------------------------------------------------------------------------

  function takeFault(method: string, path: string, query: URLSearchParams): Fault | undefined {
    const index = faults.findIndex((f) => {
      if (f.method && f.method.toUpperCase() !== method) return false;
      if (f.query && Object.entries(f.query).some(([k, v]) => query.get(k) !== v)) return false;
      if (typeof f.path === "string") return f.path === path;
      f.path.lastIndex = 0;
      return f.path.test(path);
    });
    const fault = faults[index];
    if (!fault) return undefined;
    fault.left--;
    if (fault.left <= 0) faults.splice(index, 1);
    return fault;
  }

  function faultReply(fault: Fault): Reply {
    const body =
      fault.body !== undefined || fault.status === 204
        ? fault.body
        : {
            message: defaultFaultMessage(fault.status),
            documentation_url: DOCS.rest,
            status: String(fault.status),
          };
    return { status: fault.status, body, headers: { ...fault.headers } };
  }

  // --- pagination and filters ----------------------------------------------------------------------------

  function listParam(query: URLSearchParams, name: string): string[] {
    return [...query.getAll(`${name}[]`), ...query.getAll(name)]
      .flatMap((v) => v.split(","))
      .map((v) => v.trim())
      .filter((v) => v.length > 0);
  }

  function paging(query: URLSearchParams): { page: number; perPage: number } {
    const perPageRaw = Number.parseInt(query.get("per_page") ?? "", 10);
    const pageRaw = Number.parseInt(query.get("page") ?? "", 10);
    const perPage =
      Number.isNaN(perPageRaw) || perPageRaw < 1 ? PER_PAGE_DEFAULT : Math.min(perPageRaw, PER_PAGE_MAX);
    const page = Number.isNaN(pageRaw) || pageRaw < 1 ? 1 : pageRaw;
    return { page, perPage };
  }

  function linkHeader(
    ctx: RouteContext,
    org: OrgState | undefined,
    page: number,
    lastPage: number,
  ): string | undefined {
    if (lastPage <= 1 && page <= 1) return undefined;
    let path = ctx.path;
    if (opts.organizationIdLinks && org) path = path.replace(/^\/orgs\/[^/]+/, `/organizations/${org.id}`);
    const href = (n: number): string => {
      const q = new URLSearchParams(ctx.query);
      q.set("page", String(n));
      return `<${base}${path}?${q.toString()}>`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`${href(page - 1)}; rel="prev"`);
    if (page < lastPage) links.push(`${href(page + 1)}; rel="next"`, `${href(lastPage)}; rel="last"`);
    if (page > 1) links.push(`${href(1)}; rel="first"`);
    return links.join(", ");
  }

  function pageReply<T>(
    ctx: RouteContext,
    org: OrgState | undefined,
    total: number,
    pick: (index: number) => T | undefined,
  ): Reply {
    const { page, perPage } = paging(ctx.query);
    const items: T[] = [];
    const start = (page - 1) * perPage;
    for (let i = start; i < Math.min(start + perPage, total); i++) {
      const item = pick(i);
      if (item !== undefined) items.push(item);
    }
    const link = linkHeader(ctx, org, page, Math.ceil(total / perPage));
    return { status: 200, body: items, headers: link ? { link } : {} };
  }

  function pageOfArray<T>(ctx: RouteContext, org: OrgState | undefined, all: T[]): Reply {
    return pageReply(ctx, org, all.length, (i) => all[i]);
  }

  type PatItem = GrantPayload | RequestPayload;

  function listPatItems<T extends PatItem>(
    ctx: RouteContext,
    org: OrgState,
    store: OrderedStore<T>,
    repos: Map<number, string[]>,
  ): Reply {
    const q = ctx.query;
    const sort = q.get("sort");
    if (sort !== null && sort !== "created_at") {
      return invalid(`For 'sort', "${sort}" is not one of ["created_at"].`, DOCS.pats);
    }
    const direction = q.get("direction") ?? "desc";
    if (direction !== "asc" && direction !== "desc") {
      return invalid(`For 'direction', "${direction}" is not one of ["asc", "desc"].`, DOCS.pats);
    }
    const owners = listParam(q, "owner");
    if (owners.length > MAX_OWNER_FILTERS) {
      return validationFailed("owner", `You can filter by at most ${MAX_OWNER_FILTERS} owners.`, DOCS.pats);
    }
    const tokenIdsRaw = listParam(q, "token_id");
    if (tokenIdsRaw.length > MAX_TOKEN_ID_FILTERS) {
      return validationFailed(
        "token_id",
        `You can filter by at most ${MAX_TOKEN_ID_FILTERS} token ids.`,
        DOCS.pats,
      );
    }
    const tokenIds = tokenIdsRaw.map((t) => Number(t));
    if (tokenIds.some((t) => !Number.isSafeInteger(t))) {
      return invalid(`For 'token_id', ${JSON.stringify(tokenIdsRaw)} must be integers.`, DOCS.pats);
    }
    const dates: Record<"last_used_before" | "last_used_after", number | undefined> = {
      last_used_before: undefined,
      last_used_after: undefined,
    };
    for (const name of ["last_used_before", "last_used_after"] as const) {
      const value = q.get(name);
      if (value === null) continue;
      const ms = Date.parse(value);
      if (Number.isNaN(ms)) return invalid(`For '${name}', "${value}" is not a date-time.`, DOCS.pats);
      dates[name] = ms;
    }
    const repository = q
      .get("repository")
      ?.replace(/^[^/]*\//, "")
      .toLowerCase();
    const permission = q.get("permission");
    const permissionMatch = permission ? /^(.+)_(read|write|admin)$/.exec(permission) : null;

    const predicates: ((item: T) => boolean)[] = [];
    if (owners.length > 0 && tokenIds.length > 0) {
      const wanted = new Set(owners.map((o) => o.toLowerCase()));
      predicates.push((item) => wanted.has(item.owner.login.toLowerCase()));
    }
    const { last_used_before: before, last_used_after: after } = dates;
    if (before !== undefined) {
      predicates.push(
        (item) => item.token_last_used_at !== null && Date.parse(item.token_last_used_at) < before,
      );
    }
    if (after !== undefined) {
      predicates.push(
        (item) => item.token_last_used_at !== null && Date.parse(item.token_last_used_at) > after,
      );
    }
    if (repository) {
      predicates.push((item) => {
        if (item.repository_selection === "all") return true;
        if (item.repository_selection === "none") return false;
        return (repos.get(item.id) ?? []).some((name) => name.toLowerCase() === repository);
      });
    }
    if (permission) {
      predicates.push((item) => {
        if (!permissionMatch) return false;
        const [, name, level] = permissionMatch;
        const { organization, repository: repo, other } = item.permissions;
        return [organization, repo, other].some((group) => group?.[name ?? ""] === level);
      });
    }

    const ascending = direction === "asc";
    if (owners.length === 0 && tokenIds.length === 0 && predicates.length === 0) {
      const total = store.size;
      return pageReply(ctx, org, total, (i) => store.at(ascending ? i : total - 1 - i));
    }
    let candidates: T[];
    if (tokenIds.length > 0) candidates = store.byTokens(new Set(tokenIds));
    else if (owners.length > 0) candidates = store.byOwners(new Set(owners.map((o) => o.toLowerCase())));
    else candidates = store.values();
    const matching =
      predicates.length === 0 ? candidates : candidates.filter((c) => predicates.every((p) => p(c)));
    const total = matching.length;
    return pageReply(ctx, org, total, (i) => matching[ascending ? i : total - 1 - i]);
  }

  function repositoriesOf(org: OrgState, names: string[]): RepositoryPayload[] {
    return names.map((name) => {
      const fullName = `${org.login}/${name}`;
      const api = `${base}/repos/${fullName}`;
      const digest = createHash("sha256").update(fullName.toLowerCase()).digest();
      const id = 100_000_000 + (digest.readUIntBE(0, 6) % 900_000_000);
      return {
        id,
        node_id: Buffer.from(`010:Repository${id}`).toString("base64"),
        name,
        full_name: fullName,
        owner: org.account,
        private: true,
        html_url: `https://github.com/${fullName}`,
        description: null,
        fork: false,
        url: api,
        archive_url: `${api}/{archive_format}{/ref}`,
        assignees_url: `${api}/assignees{/user}`,
        blobs_url: `${api}/git/blobs{/sha}`,
        branches_url: `${api}/branches{/branch}`,
        collaborators_url: `${api}/collaborators{/collaborator}`,
        comments_url: `${api}/comments{/number}`,
        commits_url: `${api}/commits{/sha}`,
        compare_url: `${api}/compare/{base}...{head}`,
        contents_url: `${api}/contents/{+path}`,
        contributors_url: `${api}/contributors`,
        deployments_url: `${api}/deployments`,
        downloads_url: `${api}/downloads`,
        events_url: `${api}/events`,
        forks_url: `${api}/forks`,
        git_commits_url: `${api}/git/commits{/sha}`,
        git_refs_url: `${api}/git/refs{/sha}`,
        git_tags_url: `${api}/git/tags{/sha}`,
        issue_comment_url: `${api}/issues/comments{/number}`,
        issue_events_url: `${api}/issues/events{/number}`,
        issues_url: `${api}/issues{/number}`,
        keys_url: `${api}/keys{/key_id}`,
        labels_url: `${api}/labels{/name}`,
        languages_url: `${api}/languages`,
        merges_url: `${api}/merges`,
        milestones_url: `${api}/milestones{/number}`,
        notifications_url: `${api}/notifications{?since,all,participating}`,
        pulls_url: `${api}/pulls{/number}`,
        releases_url: `${api}/releases{/id}`,
        stargazers_url: `${api}/stargazers`,
        statuses_url: `${api}/statuses/{sha}`,
        subscribers_url: `${api}/subscribers`,
        subscription_url: `${api}/subscription`,
        tags_url: `${api}/tags`,
        teams_url: `${api}/teams`,
        trees_url: `${api}/git/trees{/sha}`,
        hooks_url: `${api}/hooks`,
        visibility: "private",
      };
    });
  }

  // --- app endpoints -------------------------------------------------------------------------------------

  function installationPayload(
    installationId: number,
    org: OrgState | { account: SimpleUser; id: number; login: string; type: "User" },
  ): InstallationPayload {
    const onUser = "type" in org;
    return {
      id: installationId,
      account: org.account,
      repository_selection: "all",
      access_tokens_url: `${base}/app/installations/${installationId}/access_tokens`,
      repositories_url: `${base}/installation/repositories`,
      html_url: onUser
        ? `https://github.com/settings/installations/${installationId}`
        : `https://github.com/organizations/${org.login}/settings/installations/${installationId}`,
      app_id: opts.app?.appId ?? 0,
      ...(opts.app?.clientId ? { client_id: opts.app.clientId } : {}),
      target_id: org.id,
      target_type: onUser ? "User" : "Organization",
      permissions: installationPermissions,
      events: ["personal_access_token_request"],
      created_at: startedAt,
      updated_at: startedAt,
      single_file_name: null,
      has_multiple_single_files: false,
      single_file_paths: [],
      app_slug: appSlug,
      suspended_by: null,
      suspended_at: null,
    };
  }

  function userInstallationPayload(installationId: number, userLower: string): InstallationPayload {
    const account = user(userLower);
    return installationPayload(installationId, {
      account,
      id: Number(account.id),
      login: account.login,
      type: "User",
    });
  }

  function appPayload(): AppPayload {
    const appId = opts.app?.appId ?? 0;
    const firstOrg = installationsById.values().next().value;
    const owner =
      (firstOrg !== undefined ? orgs.get(firstOrg)?.account : undefined) ??
      account("patrol-sim", "Organization");
    return {
      id: appId,
      slug: appSlug,
      node_id: Buffer.from(`03:Integration${appId}`).toString("base64"),
      ...(opts.app?.clientId ? { client_id: opts.app.clientId } : {}),
      owner,
      name: "patrol (simulated)",
      description: "Governs the fine-grained personal access tokens that reach a GitHub organization.",
      external_url: "https://example.com/patrol",
      html_url: `https://github.com/apps/${appSlug}`,
      created_at: startedAt,
      updated_at: startedAt,
      permissions: { ...installationPermissions },
      events: ["personal_access_token_request"],
      installations_count: installationsById.size + userInstallations.size,
    };
  }

  function createAccessToken(installationId: number, body: unknown): Reply {
    const orgLower = installationsById.get(installationId);
    const org = orgLower === undefined ? undefined : orgs.get(orgLower);
    if (!org) return notFound(DOCS.apps);
    let permissions: AppPermissions = { ...installationPermissions };
    if (body !== undefined && !isObject(body)) return error(400, "Problems parsing JSON", DOCS.apps);
    const requested = isObject(body) ? body.permissions : undefined;
    if (requested !== undefined) {
      if (!isObject(requested))
        return invalid(`For 'permissions', ${JSON.stringify(requested)} is not an object.`, DOCS.apps);
      const allowed = installationPermissions as Record<string, string | undefined>;
      for (const [name, level] of Object.entries(requested)) {
        const grantedRank = ACCESS_RANK[allowed[name] ?? ""] ?? 0;
        if (typeof level !== "string" || (ACCESS_RANK[level] ?? 99) > grantedRank) {
          return error(422, "The permissions requested are not granted to this installation.", DOCS.apps);
        }
      }
      permissions = requested as AppPermissions;
    }
    const expiresAt = Date.now() + TOKEN_LIFETIME_MS;
    const token = randomToken("ghs_");
    issued.set(token, { orgLower: org.login.toLowerCase(), installationId, permissions, expiresAt });
    const payload: InstallationTokenPayload = {
      token,
      expires_at: isoSeconds(expiresAt),
      permissions,
      repository_selection: "all",
    };
    return { status: 201, body: payload };
  }

  function routeApp(ctx: RouteContext, parts: string[]): Reply {
    const refused = requireJwt(ctx.credential);
    if (refused) return refused;
    const [, second, third, fourth] = parts;
    if (second === undefined) return ctx.method === "GET" ? { status: 200, body: appPayload() } : notFound();
    if (second !== "installations") return notFound();
    if (third === undefined) {
      if (ctx.method !== "GET") return notFound();
      const all: InstallationPayload[] = [];
      for (const [id, orgLower] of installationsById) {
        const org = orgs.get(orgLower);
        if (org) all.push(installationPayload(id, org));
      }
      for (const [id, userLower] of userInstallations) all.push(userInstallationPayload(id, userLower));
      // GitHub lists installations oldest first, which for the sim is by id.
      all.sort((a, b) => a.id - b.id);
      return pageOfArray(ctx, undefined, all);
    }
    const installationId = Number(third);
    if (!Number.isSafeInteger(installationId)) return notFound(DOCS.apps);
    if (fourth === undefined && ctx.method === "GET") {
      const onUser = userInstallations.get(installationId);
      if (onUser !== undefined) return { status: 200, body: userInstallationPayload(installationId, onUser) };
      const org = orgs.get(installationsById.get(installationId) ?? "");
      return org ? { status: 200, body: installationPayload(installationId, org) } : notFound(DOCS.apps);
    }
    if (fourth === "access_tokens" && parts.length === 4 && ctx.method === "POST") {
      return createAccessToken(installationId, ctx.body);
    }
    return notFound();
  }

  // --- org endpoints -------------------------------------------------------------------------------------

  function revokeGrant(org: OrgState, patId: number): boolean {
    const grant = org.grants.remove(patId);
    if (!grant) return false;
    org.grantRepos.delete(patId);
    org.handle.revokedPatIds.push(patId);
    return true;
  }

  function reviewRequest(
    org: OrgState,
    requestIdValue: number,
    action: "approve" | "deny",
    reason?: string,
  ): boolean {
    const taken = takeRequest(org, requestIdValue);
    if (!taken) return false;
    const { request, repos } = taken;
    org.handle.reviews.push(
      reason === undefined
        ? { requestId: requestIdValue, action }
        : { requestId: requestIdValue, action, reason },
    );
    if (action === "approve") {
      org.handle.addGrant({
        tokenId: request.token_id,
        owner: request.owner.login,
        tokenName: request.token_name,
        repositorySelection: request.repository_selection,
        ...(repos ? { repositories: repos } : {}),
        permissions: request.permissions,
        accessGrantedAt: isoNow(),
        tokenExpiresAt: request.token_expires_at,
        tokenExpired: request.token_expired,
        tokenLastUsedAt: request.token_last_used_at,
      });
    }
    const reviewer = user(org.handle.reviewer);
    announceRequest(org, action === "approve" ? "approved" : "denied", request, repos, reviewer);
    return true;
  }

  /** Validates `{action, reason?}` of a review; returns an error reply or the parsed values. */
  function parseReview(body: unknown): Reply | { action: "approve" | "deny"; reason?: string } {
    if (!isObject(body)) return invalid(`"action" wasn't supplied.`, DOCS.pats);
    const { action, reason } = body;
    if (action === undefined) return invalid(`"action" wasn't supplied.`, DOCS.pats);
    if (action !== "approve" && action !== "deny") {
      return invalid(
        `For 'properties/action', ${JSON.stringify(action)} is not one of ["approve", "deny"].`,
        DOCS.pats,
      );
    }
    if (reason !== undefined && reason !== null) {
      if (typeof reason !== "string") {
        return invalid(
          `For 'properties/reason', ${JSON.stringify(reason)} is not a string or null.`,
          DOCS.pats,
        );
      }
      if (reason.length > MAX_REASON_LENGTH) {
        return invalid(
          `For 'properties/reason', the string is longer than ${MAX_REASON_LENGTH} characters.`,
          DOCS.pats,
        );
      }
      return { action, reason };
    }
    return { action };
  }

  function parseIds(body: unknown, field: string): Reply | number[] {
    const ids = isObject(body) ? body[field] : undefined;
    if (ids === undefined) return invalid(`"${field}" wasn't supplied.`, DOCS.pats);
    if (!isPositiveIntegerArray(ids)) {
      return invalid(
        `For 'properties/${field}', ${JSON.stringify(ids)} is not an array of integers.`,
        DOCS.pats,
      );
    }
    if (ids.length < 1 || ids.length > MAX_BULK_IDS) {
      return invalid(
        `For 'properties/${field}', ${JSON.stringify(ids)} must contain between 1 and ${MAX_BULK_IDS} items.`,
        DOCS.pats,
      );
    }
    return ids;
  }

  function parseRevoke(body: unknown): Reply | undefined {
    if (!isObject(body) || body.action === undefined) return invalid(`"action" wasn't supplied.`, DOCS.pats);
    if (body.action !== "revoke") {
      return invalid(
        `For 'properties/action', ${JSON.stringify(body.action)} is not one of ["revoke"].`,
        DOCS.pats,
      );
    }
    return undefined;
  }

  function routeOrg(ctx: RouteContext, org: OrgState | undefined, rest: string[]): Reply {
    const [resource, idText, sub] = rest;
    const { method } = ctx;
    const id = idText === undefined ? undefined : Number(idText);
    if (id !== undefined && !(Number.isSafeInteger(id) && id > 0)) return notFound();

    if (resource === "installation" && rest.length === 1 && method === "GET") {
      const refused = requireJwt(ctx.credential);
      if (refused) return refused;
      const installationId = org ? installationIdOf(org) : undefined;
      if (!org || installationId === undefined) return notFound(DOCS.apps);
      return { status: 200, body: installationPayload(installationId, org) };
    }

    if (resource === "personal-access-tokens" || resource === "personal-access-token-requests") {
      const isGrants = resource === "personal-access-tokens";
      const permission = isGrants
        ? ("organization_personal_access_tokens" as const)
        : ("organization_personal_access_token_requests" as const);
      const routeExists =
        (rest.length === 1 && (method === "GET" || method === "POST")) ||
        (rest.length === 2 && method === "POST") ||
        (rest.length === 3 && sub === "repositories" && method === "GET");
      if (!routeExists) return notFound();
      const refused = authorizeOrg(
        ctx.credential,
        org,
        { permission, level: method === "GET" ? "read" : "write" },
        DOCS.pats,
      );
      if (refused) return refused;
      if (!org) return notFound(DOCS.pats);

      if (rest.length === 1 && method === "GET") {
        return isGrants
          ? listPatItems(ctx, org, org.grants, org.grantRepos)
          : listPatItems(ctx, org, org.requests, org.requestRepos);
      }
      if (rest.length === 1) {
        // bulk
        if (isGrants) {
          const bad = parseRevoke(ctx.body);
          if (bad) return bad;
          const ids = parseIds(ctx.body, "pat_ids");
          if (!Array.isArray(ids)) return ids;
          const refused = ids.find((patId) => org.handle.unrevokable.has(patId));
          if (refused !== undefined)
            return error(422, `Validation Failed: grant ${refused} cannot be revoked`, DOCS.pats);
          for (const patId of ids) revokeGrant(org, patId);
          return { status: 202, body: {} };
        }
        const ids = parseIds(ctx.body, "pat_request_ids");
        if (!Array.isArray(ids)) return ids;
        const review = parseReview(ctx.body);
        if (!("action" in review)) return review;
        for (const requestIdValue of ids) reviewRequest(org, requestIdValue, review.action, review.reason);
        return { status: 202, body: {} };
      }
      if (id === undefined) return notFound();
      if (rest.length === 2) {
        if (isGrants) {
          const bad = parseRevoke(ctx.body);
          if (bad) return bad;
          return revokeGrant(org, id) ? { status: 204 } : notFound(DOCS.pats);
        }
        const review = parseReview(ctx.body);
        if (!("action" in review)) return review;
        return reviewRequest(org, id, review.action, review.reason) ? { status: 204 } : notFound(DOCS.pats);
      }
      // repositories
      const item = isGrants ? org.grants.get(id) : org.requests.get(id);
      if (!item) return notFound(DOCS.pats);
      const names =
        item.repository_selection === "subset"
          ? ((isGrants ? org.grantRepos : org.requestRepos).get(id) ?? [])
          : [];
      return pageOfArray(ctx, org, repositoriesOf(org, names));
    }

    if (resource === "credential-authorizations") {
      const routeExists =
        (rest.length === 1 && method === "GET") || (rest.length === 2 && method === "DELETE");
      if (!routeExists) return notFound();
      const refused = authorizeOrg(ctx.credential, org, "credential-authorizations", DOCS.saml);
      if (refused) return refused;
      if (!org?.handle.samlSso) return notFound(DOCS.saml);
      if (rest.length === 1) {
        const login = ctx.query.get("login");
        if (login) return pageOfArray(ctx, org, org.creds.byOwners([login.toLowerCase()]));
        const total = org.creds.size;
        return pageReply(ctx, org, total, (i) => org.creds.at(i));
      }
      if (id === undefined || !org.creds.remove(id)) return notFound(DOCS.saml);
      org.handle.removedCredentialIds.push(id);
      return { status: 204 };
    }

    return notFound();
  }

  /**
   * `POST /credentials/revoke`: GitHub's credential revocation API. On github.com it takes no
   * authentication (an authenticated call is refused with 403); 1 to 1,000 values a call; 202 when
   * accepted. The values are kept (`revokedCredentials`) so a test can see what reached GitHub.
   */
  function revokeCredentials(ctx: RouteContext): Reply {
    if (ctx.method !== "POST") return notFound();
    if (ctx.credential.kind !== "none" && !opts.authenticatedCredentialRevocation) {
      return error(403, "Must not be authenticated to revoke credentials.", DOCS.rest);
    }
    const values = (ctx.body as { credentials?: unknown } | undefined)?.credentials;
    if (
      !Array.isArray(values) ||
      values.length === 0 ||
      values.length > 1000 ||
      !values.every((v) => typeof v === "string")
    ) {
      return validationFailed("credentials", "credentials must be an array of 1 to 1000 strings", DOCS.rest);
    }
    revokedCredentials.push(...(values as string[]));
    return { status: 202, body: {}, headers: {} };
  }

  function route(ctx: RouteContext): Reply {
    let parts: string[];
    try {
      parts = ctx.path.split("/").slice(1).map(decodeURIComponent);
    } catch {
      return notFound();
    }
    const [head, name, ...rest] = parts;
    if (head === "app") return routeApp(ctx, parts);
    if (head === "credentials" && name === "revoke" && rest.length === 0) return revokeCredentials(ctx);
    if ((head === "orgs" || head === "organizations") && name && rest.length > 0) {
      const org = head === "orgs" ? orgs.get(name.toLowerCase()) : orgsById.get(Number(name));
      return routeOrg(ctx, org, rest);
    }
    return notFound();
  }

  // --- HTTP ----------------------------------------------------------------------------------------------

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          timers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      timers.add(entry);
    });
  }

  interface Prepared {
    status: number;
    headers: Record<string, string>;
    text?: string;
  }

  /** The answer as it goes on the wire, serialized before the latency is waited out (GitHub's own work is part of its latency). */
  function prepare(reply: Reply, headers: Record<string, string>): Prepared {
    const all: Record<string, string> = { ...headers, ...reply.headers };
    if (reply.body === undefined || reply.status === 204 || reply.status === 304) {
      return { status: reply.status, headers: all };
    }
    const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
    const contentType =
      typeof reply.body === "string" ? "text/html; charset=utf-8" : "application/json; charset=utf-8";
    return {
      status: reply.status,
      headers: { "content-type": contentType, "content-length": String(Buffer.byteLength(text)), ...all },
      text,
    };
  }

  function write(res: ServerResponse, answer: Prepared): void {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const arrived = performance.now();
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      const method = (req.method ?? "GET").toUpperCase();
      const url = new URL(req.url ?? "/", base);
      const raw = await readBody(req);
      let body: unknown;
      let badJson = false;
      if (raw.length > 0) {
        const text = raw.toString("utf8");
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
          badJson = true;
        }
      }
      const record: SimRequest = { method, path: url.pathname, query: url.searchParams, status: 0, body, at };
      requests.push(record);
      const credential = identify(req.headers.authorization);
      const rate = rateKey(credential, req.socket.remoteAddress ?? "127.0.0.1");
      const { headers: rateHeaders, exceeded } = consumeRate(rate.key, rate.limit);
      const headers: Record<string, string> = {
        "x-github-request-id": requestId(),
        "x-github-media-type": "github.v3; format=json",
        "x-github-api-version-selected": "2022-11-28",
        ...rateHeaders,
      };
      const fault = takeFault(method, url.pathname, url.searchParams);
      const routed = stripPathPrefix(pathPrefix, url.pathname);
      let reply: Reply;
      if (fault) reply = faultReply(fault);
      else if (routed === undefined) reply = notFound();
      else if (exceeded) reply = error(403, `API rate limit exceeded for ${rate.who}.`, DOCS.rateLimit);
      else if (badJson) reply = error(400, "Problems parsing JSON", DOCS.rest);
      else {
        try {
          reply = route({ method, path: routed, query: url.searchParams, body, credential });
        } catch (err) {
          reply = error(500, `github-sim: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      record.status = reply.status;
      const answer = prepare(reply, headers);
      // The answer leaves `latencyMs` after the request arrived, however long building it took.
      const delay = latencyMs + (fault?.delayMs ?? 0) - (performance.now() - arrived);
      if (delay > 0) await sleep(delay);
      write(res, answer);
    } catch (err) {
      write(res, prepare(error(500, `github-sim: ${err instanceof Error ? err.message : String(err)}`), {}));
    } finally {
      inFlight--;
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  const port = await listenLoopback(server);
  // Every URL the sim writes (links, `*_url` fields) starts with `base`, so they carry the prefix too.
  base = `http://127.0.0.1:${port}${pathPrefix}`;

  for (const [orgName, installationId] of Object.entries(opts.installations ?? {})) {
    installationsById.set(installationId, getOrg(orgName).login.toLowerCase());
  }
  for (const [token, orgNames] of Object.entries(opts.staticTokens ?? {})) {
    staticTokens.set(token, new Set(orgNames.map((o) => getOrg(o).login.toLowerCase())));
  }

  return {
    url: base,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    addFault(f) {
      faults.push({ ...f, left: f.times ?? 1 });
    },
    org: (name) => getOrg(name).handle,
    revokedCredentials,
    webhooks,
    addInstallation(accountName, installationId, options = {}) {
      if (options.type === "User")
        userInstallations.set(installationId, user(accountName).login.toLowerCase());
      else installationsById.set(installationId, getOrg(accountName).login.toLowerCase());
    },
    removeInstallation(accountName) {
      const lower = accountName.toLowerCase();
      let removed = false;
      for (const installations of [installationsById, userInstallations]) {
        for (const [id, login] of installations) {
          if (login !== lower) continue;
          installations.delete(id);
          removed = true;
          // Uninstalling revokes the installation's tokens at once.
          for (const [token, given] of issued) if (given.installationId === id) issued.delete(token);
        }
      }
      return removed;
    },
    async close() {
      await webhooks.close();
      for (const entry of timers) {
        clearTimeout(entry.timer);
        entry.resolve();
      }
      timers.clear();
      await closeServer(server);
    },
  };
}
