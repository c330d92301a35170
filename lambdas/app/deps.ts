import { createPrivateKey } from "node:crypto";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ensureLedgerTable, startEmbeddedDynamo } from "../adapters/embedded-dynamodb";
import type { GitHubClientOptions, GitHubCredentials, GitHubShared } from "../adapters/github";
import { makeDynamoLedger } from "../adapters/ledger";
import { ConfigError, type Env, parseEnv, parseGitHubAppSecret, parsePolicyJson } from "../config";
import type { Policy } from "../core/policy";
import { type Budget, unbounded } from "./budget";
import type { Log } from "./log";
import type {
  GrantSource,
  InstallationSource,
  InstallationsRecord,
  Ledger,
  Notifier,
  SlackConsole,
} from "./ports";
import { readSecret, secretOrValue } from "./secrets";

export const EMBEDDED_TABLE = "patrol-ledger";

export interface Deps {
  github: GrantSource;
  ledger: Ledger;
  notifier?: Notifier;
  /** Slack's console (update, respond, modals, DMs), with the notifier's token. */
  slackConsole?: SlackConsole;
  policy: Policy;
  /** `GITHUB_API_URL` as configured, for links to GitHub's pages. */
  githubApiUrl: string | undefined;
  /** The budget every call of these ports ends within. */
  budget: Budget;
  /**
   * The same ports bound to one run's budget: GitHub and Slack to its work (which leaves time to record
   * what was done), the ledger to the whole of it. Clients, secrets and installation tokens are shared.
   */
  forRun(budget: Budget): Deps;
  /** Releases what the deps hold open (the embedded store); a no-op against AWS. */
  close(): Promise<void>;
}

/** One try of one call to each outside system; the run's budget bounds them all together. */
export interface CallTimeouts {
  githubMs?: number;
  dynamoMs?: number;
  slackMs?: number;
}

/** DynamoDB answers a query page or a put in milliseconds; a try that takes seconds is not coming back. */
export const DYNAMO_TIMEOUT_MS = 5_000;
const DYNAMO_CONNECT_TIMEOUT_MS = 2_000;

export interface DepsOptions {
  /** Where an embedded ledger lives when no `PATROL_TABLE` is set (the CLI); the Lambdas require a table. */
  allowEmbedded: boolean;
  log?: Log;
  /** Test hook: GitHub retry waits are GitHub's retry-after times this many ms. */
  retryAfterBaseValue?: number;
  /** The budget of the command (the CLI); a Lambda binds each invocation's with `forRun`. */
  budget?: Budget;
  /**
   * `required` (the default): no GitHub credentials is a configuration error at once. `lazy` (the CLI's
   * ledger commands): none are needed until a command calls GitHub, and then the call says so.
   */
  github?: "required" | "lazy";
  timeouts?: CallTimeouts;
}

/**
 * The GitHub and Slack adapters (Octokit, @slack/web-api) and Secrets Manager's client are loaded on first
 * use: a ledger command loads none of them, a sweep loads each once.
 */

/** A port whose adapter is made on its first call. */
function onFirstCall<T extends object>(methods: readonly (keyof T)[], make: () => Promise<T>): T {
  let made: Promise<T> | undefined;
  const port: Partial<Record<keyof T, unknown>> = {};
  for (const method of methods) {
    port[method] = async (...args: unknown[]) => {
      made ??= make();
      const adapter = await made;
      return (adapter[method] as (...a: unknown[]) => unknown)(...args);
    };
  }
  return port as T;
}

const GRANT_SOURCE_METHODS = [
  "listGrants",
  "listClassicCredentials",
  "removeClassicCredential",
  "reviewRequest",
  "listRequests",
  "requestRepositoryCount",
  "revokeGrants",
  "revokeCredentials",
] as const satisfies readonly (keyof GrantSource)[];
/** Every method of a port, checked complete by the compiler: a lazy port forwards each of them. */
const methodsOf = <T>(all: Record<keyof T, true>) => Object.keys(all) as (keyof T & string)[];
const NOTIFIER_METHODS = methodsOf<Notifier>({ post: true, find: true, attach: true });
const CONSOLE_METHODS = methodsOf<SlackConsole>({
  update: true,
  read: true,
  respond: true,
  openView: true,
  membersOf: true,
  dm: true,
  userByEmail: true,
});

/** A private key that is not one fails at the first call with "Invalid keyData": say so at the start. */
function checkedPrivateKey(source: string, pem: string): string {
  try {
    createPrivateKey(pem);
    return pem;
  } catch {
    throw new ConfigError(
      `${source} is not a PEM private key: expected the file GitHub generated for the App, from -----BEGIN RSA PRIVATE KEY----- to its END line (\\n escapes are accepted)`,
    );
  }
}

/** Token prefixes GitHub gives personal and OAuth tokens: the org endpoints refuse them all. */
const NOT_INSTALLATION_TOKENS: readonly [prefix: string, what: string][] = [
  ["github_pat_", "a fine-grained personal access token"],
  ["ghp_", "a personal access token (classic)"],
  ["gho_", "an OAuth token"],
  ["ghu_", "a GitHub App user token"],
];

function checkedInstallationToken(token: string): string {
  const found = NOT_INSTALLATION_TOKENS.find(([prefix]) => token.trim().startsWith(prefix));
  if (found) {
    throw new ConfigError(
      `GitHub only accepts App installation tokens here: GITHUB_TOKEN is ${found[1]} (${found[0]}…); set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, or an installation token (ghs_…) in GITHUB_TOKEN`,
    );
  }
  return token;
}

async function githubCredentials(env: Env): Promise<GitHubCredentials> {
  if (env.GITHUB_APP_SECRET_ARN) {
    const secret = parseGitHubAppSecret(
      env.GITHUB_APP_SECRET_ARN,
      await readSecret(env.GITHUB_APP_SECRET_ARN),
    );
    return {
      kind: "app",
      appId: secret.appId,
      privateKey: checkedPrivateKey(`the privateKey of ${env.GITHUB_APP_SECRET_ARN}`, secret.privateKey),
      installationIds: secret.installationIds,
    };
  }
  if (env.GITHUB_APP_ID && env.GITHUB_APP_PRIVATE_KEY) {
    return {
      kind: "app",
      appId: env.GITHUB_APP_ID,
      // A key pasted into an environment variable often carries literal \n sequences.
      privateKey: checkedPrivateKey(
        "GITHUB_APP_PRIVATE_KEY",
        env.GITHUB_APP_PRIVATE_KEY.replace(/\\n/g, "\n"),
      ),
      ...(env.GITHUB_APP_INSTALLATION_ID ? { installationId: Number(env.GITHUB_APP_INSTALLATION_ID) } : {}),
    };
  }
  if (env.GITHUB_TOKEN) return { kind: "token", token: checkedInstallationToken(env.GITHUB_TOKEN) };
  throw new ConfigError(
    "no GitHub credentials: set GITHUB_APP_SECRET_ARN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, or GITHUB_TOKEN (an installation token)",
  );
}

interface SlackPorts {
  notifier: (budget: Budget) => Notifier;
  console: (budget: Budget) => SlackConsole;
}

/** Slack for a run (the channel's notifier, and the console the live channels use), or none. */
async function slackPorts(env: Env, timeoutMs: number | undefined): Promise<SlackPorts | undefined> {
  const token = await secretOrValue(env.SLACK_BOT_TOKEN_SECRET_ARN, env.SLACK_BOT_TOKEN);
  if (!token) return undefined;
  const channel = env.SLACK_CHANNEL;
  if (!channel) throw new ConfigError("invalid environment: SLACK_CHANNEL is required with a Slack token");
  const common = (budget: Budget) => ({
    token: token.trim(),
    apiUrl: env.SLACK_API_URL,
    budget,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  return {
    notifier: (budget) =>
      onFirstCall<Notifier>(NOTIFIER_METHODS, async () =>
        (await import("../adapters/slack")).makeSlackNotifier({ ...common(budget), channel }),
      ),
    console: (budget) =>
      onFirstCall<SlackConsole>(CONSOLE_METHODS, async () =>
        (await import("../adapters/slack")).makeSlackConsole(common(budget)),
      ),
  };
}

/** The ledger's client: each try bounded, the SDK's own retries (3 tries) left to it within the budget. */
function dynamoClient(options: DepsOptions, local?: { endpoint: string }): DynamoDBClient {
  const requestTimeout = options.timeouts?.dynamoMs ?? DYNAMO_TIMEOUT_MS;
  return new DynamoDBClient({
    // Without throwOnRequestTimeout the SDK only warns when a try outlives requestTimeout, and waits on.
    requestHandler: {
      requestTimeout,
      connectionTimeout: Math.min(requestTimeout, DYNAMO_CONNECT_TIMEOUT_MS),
      throwOnRequestTimeout: true,
    },
    ...(local
      ? {
          endpoint: local.endpoint,
          region: "local",
          credentials: { accessKeyId: "local", secretAccessKey: "local" },
        }
      : {}),
  });
}

async function openLedger(
  env: Env,
  options: DepsOptions,
): Promise<{ ledger: (budget: Budget) => Ledger; close(): Promise<void> }> {
  if (env.PATROL_TABLE) {
    const table = env.PATROL_TABLE;
    const client = dynamoClient(options);
    return { ledger: (budget) => makeDynamoLedger(client, table, { budget }), close: async () => {} };
  }
  if (!options.allowEmbedded) throw new ConfigError("invalid environment: PATROL_TABLE is required");
  const store = await startEmbeddedDynamo({ path: join(env.PATROL_DATA_DIR ?? ".patrol", "ledger") });
  const client = dynamoClient(options, store);
  await ensureLedgerTable(client, EMBEDDED_TABLE);
  return {
    ledger: (budget) => makeDynamoLedger(client, EMBEDDED_TABLE, { budget }),
    close: async () => {
      client.destroy();
      await store.close();
    },
  };
}

/** The GitHub port of a command that was given no credentials: any call to it says what is missing. */
function withoutGitHub(missing: ConfigError): GrantSource {
  const refuse = async (): Promise<never> => {
    throw new ConfigError(`${missing.message}; this command calls GitHub (ledger commands need none)`);
  };
  return Object.fromEntries(GRANT_SOURCE_METHODS.map((method) => [method, refuse])) as unknown as GrantSource;
}

/** How every GitHub client of a run is made: the API, the credentials, its budget and the call timeouts. */
function githubClientOptions(
  env: Env,
  credentials: GitHubCredentials,
  options: Pick<DepsOptions, "log" | "timeouts" | "retryAfterBaseValue">,
  budget: Budget,
  shared: GitHubShared,
): GitHubClientOptions {
  return {
    baseUrl: env.GITHUB_API_URL,
    credentials,
    log: options.log,
    budget,
    shared,
    ...(options.timeouts?.githubMs !== undefined ? { timeoutMs: options.timeouts.githubMs } : {}),
    ...(options.retryAfterBaseValue !== undefined
      ? { retryAfterBaseValue: options.retryAfterBaseValue }
      : {}),
  };
}

/** Builds the adapters from the environment: once per cold start in a Lambda, once per command in the CLI. */
export async function buildDeps(env: Env, options: DepsOptions): Promise<Deps> {
  const policy = parsePolicyJson(env.PATROL_POLICY, env.PATROL_MODE);
  const [credentials, slack] = await Promise.all([
    githubCredentials(env).catch((error: unknown) => {
      if (options.github === "lazy" && error instanceof ConfigError) return error;
      throw error;
    }),
    slackPorts(env, options.timeouts?.slackMs),
  ]);
  // Installation tokens and ids, shared by every run of this process (a Lambda's warm starts).
  let shared: GitHubShared | undefined;
  const github = (budget: Budget): GrantSource =>
    credentials instanceof ConfigError
      ? withoutGitHub(credentials)
      : onFirstCall<GrantSource>(GRANT_SOURCE_METHODS, async () => {
          const { makeGitHubTokenSource, sharedGitHubState } = await import("../adapters/github");
          shared ??= sharedGitHubState();
          return makeGitHubTokenSource(githubClientOptions(env, credentials, options, budget, shared));
        });
  const { ledger, close } = await openLedger(env, options);
  const forRun = (budget: Budget): Deps => ({
    github: github(budget.work),
    ledger: ledger(budget),
    ...(slack ? { notifier: slack.notifier(budget.work), slackConsole: slack.console(budget.work) } : {}),
    policy,
    githubApiUrl: env.GITHUB_API_URL,
    budget,
    forRun,
    close,
  });
  return forRun(options.budget ?? unbounded());
}

/**
 * A Lambda's dependencies, built on first use and kept for the life of the execution environment (config
 * and secrets once per cold start); a failed build is retried by the next invocation.
 */
export function lazyDepsFromEnvironment(log: Log): () => Promise<Deps> {
  let deps: Promise<Deps> | undefined;
  return () => {
    if (!deps) {
      deps = Promise.resolve()
        .then(() => buildDeps(parseEnv(process.env), { allowEmbedded: false, log }))
        .catch((error: unknown) => {
          deps = undefined;
          throw error;
        });
    }
    return deps;
  };
}

/**
 * The fan-out Lambda's ports (lambdas/handlers/fan-out.ts): where the GitHub App is installed, the record
 * of where it was at the last run, and the sweep Lambda each org is handed to.
 */
export interface FanOutDeps {
  /** Bound to one run's budget, as the App (its JWT). */
  installations(budget: Budget): InstallationSource;
  /** The ledger table's INSTALLATIONS item, bound to one run's budget. */
  record(budget: Budget): InstallationsRecord;
  /** Hands one org to the sweep Lambda (InvocationType Event): one try, bounded by its own timeout. */
  invokeSweep(event: { org: string }): Promise<void>;
}

/** An asynchronous Invoke is queued and answered (202) in milliseconds; a try that takes seconds is lost. */
export const SWEEP_INVOKE_TIMEOUT_MS = 2_000;

/** The fan-out's ports from the environment: the App's credentials, the table, the sweep's name. */
export async function buildFanOutDeps(
  env: Env,
  options: Pick<DepsOptions, "log" | "timeouts" | "retryAfterBaseValue"> & { invokeTimeoutMs?: number } = {},
): Promise<FanOutDeps> {
  const table = env.PATROL_TABLE;
  if (!table) throw new ConfigError("invalid environment: PATROL_TABLE is required");
  const sweep = env.PATROL_SWEEP_FUNCTION;
  if (!sweep) {
    throw new ConfigError("invalid environment: PATROL_SWEEP_FUNCTION (the sweep Lambda's name) is required");
  }
  const credentials = await githubCredentials(env);
  if (credentials.kind !== "app") {
    throw new ConfigError(
      "invalid environment: listing the GitHub App's installations needs the App itself: set GITHUB_APP_SECRET_ARN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (an installation token cannot list them)",
    );
  }
  const [{ makeGitHubInstallationSource, sharedGitHubState }, { makeAsyncInvoker }] = await Promise.all([
    import("../adapters/github"),
    import("../adapters/lambda-invoke"),
  ]);
  const shared = sharedGitHubState();
  const client = dynamoClient({ allowEmbedded: false, ...options });
  return {
    installations: (budget) =>
      makeGitHubInstallationSource(githubClientOptions(env, credentials, options, budget, shared)),
    record: (budget) => makeDynamoLedger(client, table, { budget }),
    invokeSweep: makeAsyncInvoker(sweep, { timeoutMs: options.invokeTimeoutMs ?? SWEEP_INVOKE_TIMEOUT_MS }),
  };
}
