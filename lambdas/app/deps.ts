import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ensureLedgerTable, startEmbeddedDynamo } from "../adapters/embedded-dynamodb";
import { type GitHubCredentials, makeGitHubTokenSource } from "../adapters/github";
import { makeDynamoLedger } from "../adapters/ledger";
import { readSecret } from "../adapters/secrets";
import { makeSlackNotifier } from "../adapters/slack";
import { ConfigError, type Env, parseEnv, parseGitHubAppSecret, parsePolicyJson } from "../config";
import type { Policy } from "../core/policy";
import type { Log } from "./log";
import type { GrantSource, Ledger, Notifier } from "./ports";

export const EMBEDDED_TABLE = "patrol-ledger";

export interface Deps {
  github: GrantSource;
  ledger: Ledger;
  notifier?: Notifier;
  policy: Policy;
  /** Releases what the deps hold open (the embedded store); a no-op against AWS. */
  close(): Promise<void>;
}

export interface DepsOptions {
  /** Where an embedded ledger lives when no `PATROL_TABLE` is set (the CLI); the Lambdas require a table. */
  allowEmbedded: boolean;
  log?: Log;
  /** Test hook: GitHub retry waits are GitHub's retry-after times this many ms. */
  retryAfterBaseValue?: number;
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
      privateKey: secret.privateKey,
      installationIds: secret.installationIds,
    };
  }
  if (env.GITHUB_APP_ID && env.GITHUB_APP_PRIVATE_KEY) {
    return {
      kind: "app",
      appId: env.GITHUB_APP_ID,
      // A key pasted into an environment variable often carries literal \n sequences.
      privateKey: env.GITHUB_APP_PRIVATE_KEY.replace(/\\n/g, "\n"),
      ...(env.GITHUB_APP_INSTALLATION_ID ? { installationId: Number(env.GITHUB_APP_INSTALLATION_ID) } : {}),
    };
  }
  if (env.GITHUB_TOKEN) return { kind: "token", token: env.GITHUB_TOKEN };
  throw new ConfigError(
    "no GitHub credentials: set GITHUB_APP_SECRET_ARN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, or GITHUB_TOKEN (an installation token)",
  );
}

async function slackNotifier(env: Env): Promise<Notifier | undefined> {
  const token = env.SLACK_BOT_TOKEN_SECRET_ARN
    ? await readSecret(env.SLACK_BOT_TOKEN_SECRET_ARN)
    : env.SLACK_BOT_TOKEN;
  if (!token) return undefined;
  if (!env.SLACK_CHANNEL)
    throw new ConfigError("invalid environment: SLACK_CHANNEL is required with a Slack token");
  return makeSlackNotifier({ token: token.trim(), channel: env.SLACK_CHANNEL, apiUrl: env.SLACK_API_URL });
}

async function openLedger(
  env: Env,
  options: DepsOptions,
): Promise<{ ledger: Ledger; close(): Promise<void> }> {
  if (env.PATROL_TABLE) {
    return { ledger: makeDynamoLedger(new DynamoDBClient({}), env.PATROL_TABLE), close: async () => {} };
  }
  if (!options.allowEmbedded) throw new ConfigError("invalid environment: PATROL_TABLE is required");
  const store = await startEmbeddedDynamo({ path: join(env.PATROL_DATA_DIR ?? ".patrol", "ledger") });
  const client = new DynamoDBClient({
    endpoint: store.endpoint,
    region: "local",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  await ensureLedgerTable(client, EMBEDDED_TABLE);
  return {
    ledger: makeDynamoLedger(client, EMBEDDED_TABLE),
    close: async () => {
      client.destroy();
      await store.close();
    },
  };
}

/** Builds the adapters from the environment: once per cold start in a Lambda, once per command in the CLI. */
export async function buildDeps(env: Env, options: DepsOptions): Promise<Deps> {
  const policy = parsePolicyJson(env.PATROL_POLICY, env.PATROL_MODE);
  const [credentials, notifier] = await Promise.all([githubCredentials(env), slackNotifier(env)]);
  const github = makeGitHubTokenSource({
    baseUrl: env.GITHUB_API_URL,
    credentials,
    log: options.log,
    ...(options.retryAfterBaseValue !== undefined
      ? { retryAfterBaseValue: options.retryAfterBaseValue }
      : {}),
  });
  const { ledger, close } = await openLedger(env, options);
  return { github, ledger, ...(notifier ? { notifier } : {}), policy, close };
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
