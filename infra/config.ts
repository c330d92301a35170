import * as z from "zod";
import { nearest } from "../lambdas/core/ledger/access";
import { GITHUB_LOGIN } from "../lambdas/core/login";
import { PolicySchema } from "../lambdas/core/policy";
import { ApproversSchema, NO_APPROVERS } from "../lambdas/core/slack-console";

/**
 * The deployment's configuration, read from `cdk.json` context (or `-c key=value`) and validated at synth:
 * a bad value stops `cdk synth` with a message that names the context key and what was expected.
 */
export class ContextError extends Error {
  override name = "ContextError";
}

/** GitHub org logins: the very pattern the sweep handler checks. */
export const ORG_LOGIN = GITHUB_LOGIN;

/** The values `logs.RetentionDays` accepts (CloudWatch Logs' own list). */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** A complete secret ARN: the name is followed by the six random characters Secrets Manager appends. */
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;

/** `-c key=value` on the command line always arrives as a string: accept JSON there too. */
function fromJsonString(value: unknown): unknown {
  if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * `orgs: "*"`: every org the GitHub App is installed on, as GitHub lists them at each run (the fan-out
 * Lambda), instead of a list fixed at deploy time.
 */
export const EVERY_INSTALLATION = "*";

const orgList = z.preprocess(
  (value) => {
    const parsed = fromJsonString(value);
    // `-c orgs=acme,acme-labs` is the natural way to type a list on the command line.
    return typeof parsed === "string" ? parsed.split(",").map((s) => s.trim()) : parsed;
  },
  z
    .array(
      z.string().refine((s) => s === EVERY_INSTALLATION || ORG_LOGIN.test(s), {
        message: "expected a GitHub organization login such as acme",
      }),
      {
        message: `expected a list of GitHub organization logins, e.g. ["acme", "acme-labs"], or "${EVERY_INSTALLATION}" for every org the GitHub App is installed on`,
      },
    )
    .min(1, 'expected at least one GitHub organization login, e.g. ["acme"]')
    .superRefine((orgs, ctx) => {
      if (orgs.includes(EVERY_INSTALLATION) && orgs.length > 1) {
        ctx.addIssue({
          code: "custom",
          message: `"${EVERY_INSTALLATION}" (every org the GitHub App is installed on) stands alone: list the orgs, or give "${EVERY_INSTALLATION}" only`,
        });
      }
      if (orgs.includes(PLACEHOLDERS.org)) {
        ctx.addIssue({
          code: "custom",
          message: `"${PLACEHOLDERS.org}" is cdk.json's placeholder: set your organizations' logins (cdk.json context.orgs, or -c orgs=acme,acme-labs)`,
        });
      }
      const seen = new Set<string>();
      for (const org of orgs) {
        // Logins are case-insensitive on GitHub: two spellings would sweep the same org twice.
        if (seen.has(org.toLowerCase())) ctx.addIssue({ code: "custom", message: `${org} is listed twice` });
        seen.add(org.toLowerCase());
      }
    })
    .transform((orgs): readonly string[] | typeof EVERY_INSTALLATION =>
      orgs.length === 1 && orgs[0] === EVERY_INSTALLATION ? EVERY_INSTALLATION : orgs,
    ),
);

/** What `cdk.json` ships with: it synthesizes, but sweeps nobody and alerts nowhere, so it is refused. */
export const PLACEHOLDERS = { org: "example-org", slackChannel: "C0000000000" } as const;

/** EventBridge Scheduler cron: six fields, `?` in day-of-month or day-of-week. */
const cronSchedule = z
  .string({ message: 'expected a cron expression such as "0 3 * * ? *"' })
  .trim()
  .transform((s) => s.replace(/^cron\((.*)\)$/, "$1").trim())
  .refine(
    (s) => {
      const fields = s.split(/\s+/);
      if (fields.length !== 6 || !fields.every((f) => /^[0-9A-Za-z*?,/#-]+$/.test(f))) return false;
      return (fields[2] === "?") !== (fields[4] === "?");
    },
    {
      message:
        'expected an EventBridge Scheduler cron of six fields (minutes hours day-of-month month day-of-week year) with "?" in exactly one of day-of-month and day-of-week, e.g. "0 3 * * ? *"',
    },
  );

function isTimeZone(name: string): boolean {
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
    return (
      name === "UTC" ||
      name === "Etc/UTC" ||
      resolved === name ||
      Intl.supportedValuesOf("timeZone").includes(name)
    );
  } catch {
    return false;
  }
}

const timeZone = z
  .string({ message: "expected an IANA time zone name" })
  .refine(isTimeZone, { message: 'expected an IANA time zone name such as "UTC" or "Europe/Paris"' });

/** The sweep policy without `mode`: the deployment's mode is the top-level `mode` key. */
const policy = z.preprocess(
  fromJsonString,
  z
    .unknown()
    .superRefine((value, ctx) => {
      if (value !== null && typeof value === "object" && "mode" in value) {
        ctx.addIssue({
          code: "custom",
          path: ["mode"],
          message: "set the top-level context key mode instead",
        });
      }
    })
    .pipe(PolicySchema.omit({ mode: true })),
);

// Complete ARNs only: a partial one could only be granted as `NAME-??????`, a wildcard.
const secretArn = z
  .string()
  .regex(
    SECRET_ARN,
    "expected a secret's complete ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX (as `aws secretsmanager describe-secret` prints it)",
  );

const slackChannelId = z
  .string()
  .regex(/^[CG][A-Z0-9]{6,}$/, "expected a Slack channel id such as C0123456789 (not the channel's name)");

/** The digest's channel: a real one, not cdk.json's placeholder. */
const digestChannel = slackChannelId.refine((id) => id !== PLACEHOLDERS.slackChannel, {
  message: `"${PLACEHOLDERS.slackChannel}" is cdk.json's placeholder: set the alert channel's id (cdk.json context.slackChannel, or -c slackChannel=C…; the id is at the bottom of the channel's details)`,
});

const PatrolContextSchema = z
  .object({
    orgs: orgList,
    schedule: cronSchedule.default("0 3 * * ? *"),
    timeZone: timeZone.default("UTC"),
    mode: z.enum(["report", "enforce"], { message: 'expected "report" or "enforce"' }).default("report"),
    policy: policy.optional(),
    slackChannel: digestChannel,
    githubApiUrl: z
      .url({ protocol: /^https$/, message: "expected an https URL, e.g. https://github.example.com/api/v3" })
      .transform((u) => u.replace(/\/+$/, ""))
      .optional(),
    alarmEmail: z.email({ message: "expected an email address" }).optional(),
    chatbotSlackWorkspaceId: z
      .string()
      .regex(/^T[A-Z0-9]{6,}$/, "expected a Slack workspace id such as T0123456789")
      .optional(),
    chatbotSlackChannelId: slackChannelId.optional(),
    githubAppSecretArn: secretArn.optional(),
    slackBotTokenSecretArn: secretArn.optional(),
    slackSigningSecretArn: secretArn.optional(),
    githubWebhookSecretArn: secretArn.optional(),
    /** Who may act from Slack: `{ revoke, review, register, retire }`, Slack user (U…) or group (S…) ids. */
    approvers: z.preprocess(fromJsonString, ApproversSchema).optional(),
    logRetentionDays: z.preprocess(
      (v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v),
      z
        .number()
        .refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), {
          message: `expected one of CloudWatch Logs' retention periods: ${LOG_RETENTION_DAYS.join(", ")} (days)`,
        })
        .default(365),
    ),
    /** Also the prefix of the functions' and alarms' names (`patrol-sweep`, `patrol-revoke`). */
    stackName: z
      .string()
      .regex(
        /^[A-Za-z][A-Za-z0-9-]{0,47}$/,
        "expected a stack name: a letter, then letters, digits or hyphens (48 characters at most)",
      )
      .default("patrol"),
    account: z
      .string()
      .regex(/^\d{12}$/, "expected a 12-digit AWS account id")
      .optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "expected an AWS region such as eu-west-1")
      .optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.chatbotSlackWorkspaceId === undefined) !== (c.chatbotSlackChannelId === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [c.chatbotSlackWorkspaceId === undefined ? "chatbotSlackWorkspaceId" : "chatbotSlackChannelId"],
        message: "expected chatbotSlackWorkspaceId and chatbotSlackChannelId together (or neither)",
      });
    }
  });

export type PatrolConfig = z.output<typeof PatrolContextSchema>;

/** The context keys patrol reads; anything else in `cdk.json` context belongs to the CDK. */
export const CONTEXT_KEYS = Object.keys(PatrolContextSchema.shape) as (keyof PatrolConfig)[];

/**
 * Validates the context. `read(key)` is `app.node.tryGetContext`; unset keys and empty strings count as
 * absent, so `-c alarmEmail=` turns an option off.
 */
export function parsePatrolContext(read: (key: string) => unknown): PatrolConfig {
  const raw: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const value = read(key);
    if (value !== undefined && value !== null && value !== "") raw[key] = value;
  }
  const parsed = PatrolContextSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.map(String).join(".") || "(context)";
      const missing =
        issue.code === "invalid_type" && issue.path.length === 1 && raw[String(issue.path[0])] === undefined;
      return `  ${key}: ${missing ? `is required (${issue.message})` : issue.message}`;
    });
    throw new ContextError(`invalid cdk.json context:\n${problems.join("\n")}`);
  }
  return parsed.data;
}

/** What the Lambdas receive as PATROL_POLICY: the validated policy, defaults filled in, without `mode`. */
/** What the Slack Lambdas receive as PATROL_APPROVERS: nobody, unless the deployment names them. */
export function approversJson(config: PatrolConfig): string {
  return JSON.stringify(config.approvers ?? NO_APPROVERS);
}

export function policyJson(config: PatrolConfig): string {
  const { mode: _mode, ...rest } = PolicySchema.parse({ ...config.policy, mode: config.mode });
  return JSON.stringify(rest);
}

/** Context keys that are neither patrol's nor the CDK's (feature flags and CDK keys have a ":" or a "-"). */
export function unknownContextKeys(keys: readonly string[]): string[] {
  const known = new Set<string>(CONTEXT_KEYS);
  return keys.filter((key) => !known.has(key) && !/[:-]/.test(key));
}

/** A misspelt key (`-c org=acme`) would be ignored while the placeholder stayed: refused, with the key meant. */
export function refuseUnknownContextKeys(keys: readonly string[]): void {
  const unknown = unknownContextKeys(keys);
  if (unknown.length === 0) return;
  const lines = unknown.map((key) => {
    const meant = nearest(key, CONTEXT_KEYS);
    return `  ${key}: not a patrol context key${meant ? `; did you mean ${meant}?` : ""}`;
  });
  throw new ContextError(
    `invalid cdk.json context:\n${lines.join("\n")}\n(patrol's keys: ${CONTEXT_KEYS.join(", ")})`,
  );
}
