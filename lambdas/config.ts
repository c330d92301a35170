import * as z from "zod";
import { type Policy, PolicySchema } from "./core/policy";
import { type Approvers, parseApprovers } from "./core/slack-console";

/**
 * Environment, parsed once and failing fast: a missing or malformed variable stops the cold start with a
 * message that names it and says what was expected. Secret values are never echoed.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const optionalText = z
  .string()
  .trim()
  .transform((s) => (s === "" ? undefined : s))
  .optional();

const url = z
  .string()
  .trim()
  .transform((s) => (s === "" ? undefined : s.replace(/\/+$/, "")))
  // Only http and https: "ftp:" or "javascript:" would pass a URL check and fail mid-run.
  .pipe(z.url({ protocol: /^https?$/, message: "expected an http(s) URL" }).optional())
  .optional();

const EnvSchema = z.object({
  GITHUB_API_URL: url,
  GITHUB_TOKEN: optionalText,
  GITHUB_APP_ID: optionalText.pipe(z.string().regex(/^\d+$/, "expected the App's numeric id").optional()),
  GITHUB_APP_PRIVATE_KEY: optionalText,
  GITHUB_APP_INSTALLATION_ID: optionalText.pipe(
    z.string().regex(/^\d+$/, "expected a numeric installation id").optional(),
  ),
  /** Secrets Manager: JSON `{ appId, privateKey, installationIds?: { org: id } }`. */
  GITHUB_APP_SECRET_ARN: optionalText,
  SLACK_API_URL: url,
  SLACK_BOT_TOKEN: optionalText,
  SLACK_BOT_TOKEN_SECRET_ARN: optionalText,
  SLACK_CHANNEL: optionalText,
  PATROL_TABLE: optionalText,
  PATROL_DATA_DIR: optionalText,
  /** The policy as JSON (see lambdas/core/policy.ts); absent means the safe defaults. */
  PATROL_POLICY: optionalText,
  PATROL_MODE: z.enum(["enforce", "report"]).optional(),
  /** Live channels: Slack's signing secret (or its Secrets Manager ARN), who may act from Slack. */
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_SIGNING_SECRET_ARN: optionalText,
  GITHUB_WEBHOOK_SECRET: optionalText,
  GITHUB_WEBHOOK_SECRET_ARN: optionalText,
  /** The orgs a deployment governs, comma-separated, or `*` (the default): the webhook ignores others. */
  PATROL_ORGS: optionalText,
  /** JSON `{ revoke, review, register, retire }`: Slack user (U…) or user group (S…) ids per kind. */
  PATROL_APPROVERS: optionalText,
  /** The worker Lambda that carries out Slack actions (invoked asynchronously by the endpoint). */
  PATROL_SLACK_WORKER: optionalText,
  /** The sweep Lambda the fan-out hands each installed org to (invoked asynchronously, `{ org }`). */
  PATROL_SWEEP_FUNCTION: optionalText,
});

export type Env = z.output<typeof EnvSchema>;

function explain(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((issue) => `${prefix}${issue.path.join(".") || "(value)"}: ${issue.message}`)
    .join("; ");
}

/** Who may act from Slack, from `PATROL_APPROVERS`; nobody when it is unset. */
export function parseApproversEnv(env: Env): Approvers {
  const parsed = parseApprovers(env.PATROL_APPROVERS);
  if (!parsed.ok) throw new ConfigError(`invalid environment: ${parsed.error}`);
  return parsed.value;
}

export function parseEnv(env: NodeJS.ProcessEnv): Env {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`invalid environment: ${explain(parsed.error, "")}`);
  const e = parsed.data;
  if (e.GITHUB_APP_ID && !e.GITHUB_APP_PRIVATE_KEY) {
    throw new ConfigError("invalid environment: GITHUB_APP_PRIVATE_KEY is required with GITHUB_APP_ID");
  }
  return e;
}

export function parsePolicyJson(text: string | undefined, mode?: "enforce" | "report"): Policy {
  let raw: unknown = {};
  if (text) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new ConfigError("invalid environment: PATROL_POLICY: expected a JSON object");
    }
  }
  const parsed = PolicySchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid policy: ${explain(parsed.error, "PATROL_POLICY.")}`);
  return mode ? { ...parsed.data, mode } : parsed.data;
}

/** The GitHub App secret as stored in Secrets Manager. */
export const GitHubAppSecretSchema = z.object({
  appId: z.union([z.string().regex(/^\d+$/), z.number().int().positive()]).transform(String),
  privateKey: z.string().includes("PRIVATE KEY", { message: "expected a PEM private key" }),
  installationIds: z.record(z.string(), z.number().int().positive()).default({}),
});

export function parseGitHubAppSecret(secretId: string, text: string) {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`secret ${secretId}: expected JSON { appId, privateKey, installationIds }`);
  }
  const parsed = GitHubAppSecretSchema.safeParse(raw);
  if (!parsed.success) {
    // Name the fields only: the secret's values must never reach a log.
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join(".")))].join(", ");
    throw new ConfigError(`secret ${secretId}: invalid or missing ${fields}`);
  }
  return parsed.data;
}
