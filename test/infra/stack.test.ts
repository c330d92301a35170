import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Validations } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IDEMPOTENCY_ACTIONS,
  INSTALLATIONS_ACTIONS,
  INSTALLATIONS_PARTITION,
  LEDGER_ACTIONS,
} from "../../infra/constructs/ledger-table";
import { INSTALLATIONS_PK } from "../../lambdas/adapters/ledger";
import { IDEMPOTENCY_PARTITIONS } from "../../lambdas/core/idempotency";
import { IDEMPOTENCY_PK as WEBHOOK_PK } from "../../lambdas/handlers/github-webhook";
import { IDEMPOTENCY_PK as WORKER_PK } from "../../lambdas/handlers/slack-worker";
import { type Synthesized, synthPatrol } from "./synth";

type Resource = { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const ORGS = ["acme", "Acme-Labs"];
const GITHUB_APP_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:patrol/github-app-AbC123";
const SLACK_TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:patrol/slack-token-XyZ789";
const SIGNING_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:patrol/slack-signing-QwE456";
const WEBHOOK_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:patrol/github-webhook-RtY321";

/** Every deployable option set: two orgs, a local time zone, Enterprise Server, email and Chatbot. */
const FULL = {
  orgs: ORGS,
  schedule: "30 2 * * ? *",
  timeZone: "Europe/Paris",
  mode: "enforce",
  policy: { revoke: { unused: true }, unusedDays: 60, maxRevocationsPerRun: 10 },
  slackChannel: "C0PATROL1",
  githubApiUrl: "https://github.example.com/api/v3",
  alarmEmail: "secops@example.com",
  chatbotSlackWorkspaceId: "T0WORKSPACE",
  chatbotSlackChannelId: "C0ALARMS1",
  approvers: { revoke: ["U0SECOPS"], review: ["S0REVIEWERS"] },
};

let full: Synthesized;
let imported: Synthesized;
/** Every org the GitHub App is installed on: `orgs: "*"`, on Enterprise Server, secrets imported. */
let every: Synthesized;

beforeAll(() => {
  full = synthPatrol(FULL);
  // The other shape: existing secrets imported by ARN, no optional notification channel.
  imported = synthPatrol({
    orgs: ["solo"],
    slackChannel: "C0SOLOALERTS",
    githubAppSecretArn: GITHUB_APP_ARN,
    slackBotTokenSecretArn: SLACK_TOKEN_ARN,
    slackSigningSecretArn: SIGNING_ARN,
    githubWebhookSecretArn: WEBHOOK_ARN,
  });
  every = synthPatrol({
    orgs: "*",
    slackChannel: "C0EVERY01",
    githubApiUrl: "https://github.example.com/api/v3",
    githubAppSecretArn: GITHUB_APP_ARN,
  });
});

afterAll(() => {
  full?.dispose();
  imported?.dispose();
  every?.dispose();
});

const resources = (s: Synthesized, type?: string): [string, Resource][] =>
  Object.entries(s.json.Resources as Record<string, Resource>).filter(([, r]) => !type || r.Type === type);

const logicalId = (s: Synthesized, construct: IConstruct): string => {
  const child = construct.node.defaultChild ?? construct;
  return s.stack.getLogicalId(child as Parameters<typeof s.stack.getLogicalId>[0]);
};

const getAtt = (id: string, attribute = "Arn") => ({ "Fn::GetAtt": [id, attribute] });

/** Every IAM statement in the template: role policies, inline and managed policies. */
function statements(s: Synthesized): { owner: string; statement: Statement }[] {
  const found: { owner: string; statement: Statement }[] = [];
  for (const [id, r] of resources(s)) {
    const docs: unknown[] = [];
    if (r.Type === "AWS::IAM::Policy" || r.Type === "AWS::IAM::ManagedPolicy")
      docs.push(r.Properties?.PolicyDocument);
    if (r.Type === "AWS::IAM::Role") {
      for (const p of (r.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) {
        docs.push(p.PolicyDocument);
      }
    }
    for (const doc of docs) {
      for (const statement of (doc as { Statement: Statement[] }).Statement)
        found.push({ owner: id, statement });
    }
  }
  return found;
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

describe("the ledger table", () => {
  it("is on demand, recoverable, protected, retained and encrypted, keyed pk/sk, without TTL", () => {
    full.template.resourceCountIs("AWS::DynamoDB::Table", 1);
    full.template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: {
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: Match.absent(),
      },
    });
  });
});

describe("the schedules", () => {
  it("sweeps each org on its own schedule, with the cron, time zone, payload, retries and dead-letter queue", () => {
    const sweepArn = getAtt(logicalId(full, full.stack.sweep.function));
    const dlqArn = getAtt(logicalId(full, full.stack.schedules.deadLetterQueue));
    const schedules = resources(full, "AWS::Scheduler::Schedule");
    expect(schedules).toHaveLength(ORGS.length);
    const payloads = schedules.map(([, r]) => {
      expect(r.Properties).toMatchObject({
        ScheduleExpression: "cron(30 2 * * ? *)",
        ScheduleExpressionTimezone: "Europe/Paris",
        State: "ENABLED",
        FlexibleTimeWindow: { Mode: "OFF" },
        Target: {
          Arn: sweepArn,
          DeadLetterConfig: { Arn: dlqArn },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 7200 },
        },
      });
      return JSON.parse((r.Properties?.Target as { Input?: string } | undefined)?.Input ?? "null");
    });
    expect(payloads).toEqual(ORGS.map((org) => ({ org })));
  });

  it("defaults to 03:00 UTC every night", () => {
    imported.template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(0 3 * * ? *)",
      ScheduleExpressionTimezone: "UTC",
      Target: { Input: JSON.stringify({ org: "solo" }) },
    });
  });

  it("go with the stack, group and all", () => {
    full.template.hasResource("AWS::Scheduler::ScheduleGroup", { DeletionPolicy: "Delete" });
  });

  it("keeps undelivered invocations in an encrypted, TLS-only queue", () => {
    full.template.hasResourceProperties("AWS::SQS::Queue", { SqsManagedSseEnabled: true });
    full.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });
});

describe("the Lambdas", () => {
  const functions = (s: Synthesized) => ({
    sweep: resources(s).find(([id]) => id === logicalId(s, s.stack.sweep.function))?.[1],
    revoke: resources(s).find(([id]) => id === logicalId(s, s.stack.revoke.function))?.[1],
    worker: resources(s).find(([id]) => id === logicalId(s, s.stack.slack.worker.function))?.[1],
    endpoint: resources(s).find(([id]) => id === logicalId(s, s.stack.slack.endpoint.function))?.[1],
    webhook: resources(s).find(([id]) => id === logicalId(s, s.stack.webhook.endpoint.function))?.[1],
  });

  it("run Node 24 on arm64, traced, from an ESM bundle, each with its own log group kept a year", () => {
    const { sweep, revoke, worker, endpoint, webhook } = functions(full);
    for (const [fn, logs] of [
      [sweep, full.stack.sweep.logGroup],
      [revoke, full.stack.revoke.logGroup],
      [worker, full.stack.slack.worker.logGroup],
      [endpoint, full.stack.slack.endpoint.logGroup],
      [webhook, full.stack.webhook.endpoint.logGroup],
    ] as const) {
      expect(fn?.Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
        TracingConfig: { Mode: "Active" },
        MemorySize: 512,
        LoggingConfig: { LogGroup: { Ref: logicalId(full, logs) } },
      });
    }
    expect(sweep?.Properties?.FunctionName).toBe("patrol-sweep");
    expect(revoke?.Properties?.FunctionName).toBe("patrol-revoke");
    expect(sweep?.Properties?.Timeout).toBe(900);
    expect(revoke?.Properties?.Timeout).toBe(600);
    // Slack's endpoint answers in 3 s; its worker acts on one entry. Both have a concurrency ceiling.
    expect(endpoint?.Properties).toMatchObject({ Timeout: 10, ReservedConcurrentExecutions: 10 });
    expect(worker?.Properties).toMatchObject({ Timeout: 120, ReservedConcurrentExecutions: 5 });
    // GitHub marks a delivery failed after 10 s (the handler stops at 8 s); a flood has a ceiling too.
    expect(webhook?.Properties).toMatchObject({
      FunctionName: "patrol-github-webhook",
      Timeout: 10,
      ReservedConcurrentExecutions: 10,
    });
    const logGroups = resources(full, "AWS::Logs::LogGroup").map(([, r]) => r.Properties);
    expect(logGroups).toEqual([
      expect.objectContaining({ LogGroupName: "/aws/lambda/patrol-sweep", RetentionInDays: 365 }),
      expect.objectContaining({ LogGroupName: "/aws/lambda/patrol-revoke", RetentionInDays: 365 }),
      expect.objectContaining({ LogGroupName: "/aws/lambda/patrol-slack-worker", RetentionInDays: 365 }),
      expect.objectContaining({
        LogGroupName: "/aws/lambda/patrol-slack-interactions",
        RetentionInDays: 365,
      }),
      expect.objectContaining({ LogGroupName: "/aws/lambda/patrol-github-webhook", RetentionInDays: 365 }),
    ]);
    // A failed sweep is not run again by Lambda: the alarm tells a human, the next night repeats it.
    // Nor is a failed Slack action: the person who clicked is told, and decides. Nor a failed delivery:
    // GitHub shows it failed, and the nightly sweep records the request anyway.
    full.template.resourcePropertiesCountIs("AWS::Lambda::EventInvokeConfig", { MaximumRetryAttempts: 0 }, 4);
    full.template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: logicalId(full, full.stack.webhook.endpoint.function) },
      MaximumRetryAttempts: 0,
    });
  });

  it("carry names and ARNs in their environment, never a secret's value", () => {
    const { sweep } = functions(full);
    const env = (sweep?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    expect(env).toEqual({
      PATROL_TABLE: { Ref: logicalId(full, full.stack.ledger.table) },
      GITHUB_APP_SECRET_ARN: { Ref: logicalId(full, full.stack.secrets.githubApp as unknown as IConstruct) },
      SLACK_BOT_TOKEN_SECRET_ARN: {
        Ref: logicalId(full, full.stack.secrets.slackBotToken as unknown as IConstruct),
      },
      SLACK_CHANNEL: "C0PATROL1",
      GITHUB_API_URL: "https://github.example.com/api/v3",
      PATROL_MODE: "enforce",
      PATROL_POLICY: expect.any(String),
      POWERTOOLS_SERVICE_NAME: "patrol",
      POWERTOOLS_METRICS_NAMESPACE: "patrol",
      NODE_OPTIONS: "--enable-source-maps",
    });
    // The policy the Lambda will parse: the context's, defaults filled in, mode left to PATROL_MODE.
    const policy = JSON.parse(env?.PATROL_POLICY as string);
    expect(policy).toMatchObject({
      revoke: { unused: true, expired: true },
      unusedDays: 60,
      maxRevocationsPerRun: 10,
    });
    expect(policy).not.toHaveProperty("mode");
    expect(functions(full).revoke?.Properties?.Environment).toEqual(sweep?.Properties?.Environment);
    // The worker has the same, and who may act; the endpoint only what it needs to check and hand on.
    const worker =
      (functions(full).worker?.Properties?.Environment as { Variables: Record<string, unknown> } | undefined)
        ?.Variables ?? {};
    expect(worker).toEqual({
      ...env,
      PATROL_APPROVERS: JSON.stringify({
        revoke: ["U0SECOPS"],
        review: ["S0REVIEWERS"],
        register: [],
        retire: [],
      }),
    });
    const endpoint =
      (
        functions(full).endpoint?.Properties?.Environment as
          | { Variables: Record<string, unknown> }
          | undefined
      )?.Variables ?? {};
    expect(Object.keys(endpoint).sort()).toEqual(
      [
        "NODE_OPTIONS",
        "PATROL_APPROVERS",
        "PATROL_SLACK_WORKER",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_SERVICE_NAME",
        "SLACK_BOT_TOKEN_SECRET_ARN",
        "SLACK_SIGNING_SECRET_ARN",
      ].sort(),
    );
    // The webhook endpoint takes a request as the sweep would: the same environment, its own secret, and
    // the orgs the deployment governs (a delivery about another org is ignored).
    const webhook =
      (functions(full).webhook?.Properties?.Environment as { Variables: Record<string, unknown> } | undefined)
        ?.Variables ?? {};
    expect(webhook).toEqual({
      ...env,
      GITHUB_WEBHOOK_SECRET_ARN: {
        Ref: logicalId(full, full.stack.secrets.githubWebhookSecret as unknown as IConstruct),
      },
      PATROL_ORGS: "acme,Acme-Labs",
    });
    expect(Object.keys(webhook).sort()).toEqual(
      [
        "GITHUB_API_URL",
        "GITHUB_APP_SECRET_ARN",
        "GITHUB_WEBHOOK_SECRET_ARN",
        "NODE_OPTIONS",
        "PATROL_MODE",
        "PATROL_ORGS",
        "PATROL_POLICY",
        "PATROL_TABLE",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_SERVICE_NAME",
        "SLACK_BOT_TOKEN_SECRET_ARN",
        "SLACK_CHANNEL",
      ].sort(),
    );
  });

  it("are invoked only by the sweep schedules, the revokers' policy, and Slack and GitHub (through their URLs)", () => {
    // The two public entry points are the Slack and GitHub endpoints' Function URLs: each one's signature
    // check is its lock.
    const endpoints = [full.stack.slack.endpoint.function, full.stack.webhook.endpoint.function].map((fn) =>
      getAtt(logicalId(full, fn)),
    );
    const urls = resources(full, "AWS::Lambda::Url").map(([, r]) => r.Properties);
    expect(urls).toEqual(endpoints.map((arn) => ({ AuthType: "NONE", TargetFunctionArn: arn })));
    const permissions = resources(full, "AWS::Lambda::Permission").map(([, r]) => r.Properties);
    expect(permissions.length).toBeGreaterThan(0);
    for (const permission of permissions) {
      expect(permission).toMatchObject({ Principal: "*" });
      expect(endpoints).toContainEqual(permission?.FunctionName);
    }
    const invokes = statements(full).filter(({ statement }) =>
      actionsOf(statement).some((a) => a.startsWith("lambda:")),
    );
    const revokers = logicalId(full, full.stack.node.findChild("Revokers").node.findChild("Policy"));
    const operators = logicalId(full, full.stack.node.findChild("Operators").node.findChild("Policy"));
    const schedulerRole = logicalId(full, full.stack.schedules.node.findChild("InvokeRole"));
    const revoke = getAtt(logicalId(full, full.stack.revoke.function));
    expect(
      invokes.map(({ owner, statement }) => [owner, actionsOf(statement), resourcesOf(statement)]),
    ).toEqual(
      expect.arrayContaining([
        [revokers, ["lambda:InvokeFunction"], [revoke]],
        [operators, ["lambda:InvokeFunction"], [revoke]],
      ]),
    );
    const endpointRole = logicalId(full, full.stack.slack.endpoint.function.role as unknown as IConstruct);
    const handOn = invokes.find(({ owner }) => owner.startsWith(endpointRole.slice(0, -8)));
    expect(resourcesOf(handOn?.statement as Statement)).toEqual([
      getAtt(logicalId(full, full.stack.slack.worker.function)),
    ]);
    expect(invokes).toHaveLength(4);
    const schedulerStatement = invokes.find(({ owner }) => owner.startsWith(schedulerRole.slice(0, -8)));
    expect(resourcesOf(schedulerStatement?.statement as Statement)).toEqual([
      getAtt(logicalId(full, full.stack.sweep.function)),
    ]);
  });
});

describe("the GitHub webhook endpoint", () => {
  const webhook = (s: Synthesized) => s.stack.webhook.endpoint;

  it("answers on a Function URL without IAM auth (GitHub's signature is the lock)", () => {
    full.template.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "NONE",
      TargetFunctionArn: getAtt(logicalId(full, webhook(full).function)),
    });
  });

  it("reads the ledger, its own idempotency records and three secrets, and nothing else", () => {
    for (const [s, secretIds] of [
      [
        full,
        [
          full.stack.secrets.githubApp,
          full.stack.secrets.githubWebhookSecret,
          full.stack.secrets.slackBotToken,
        ].map((secret) => ({ Ref: logicalId(full, secret as unknown as IConstruct) })),
      ],
      [imported, [GITHUB_APP_ARN, WEBHOOK_ARN, SLACK_TOKEN_ARN]],
    ] as const) {
      const role = logicalId(s, webhook(s).function.role as unknown as IConstruct);
      const table = getAtt(logicalId(s, s.stack.ledger.table));
      const granted = statements(s)
        .filter(({ owner }) => owner.startsWith(role.slice(0, -8)))
        .map(({ statement }) => ({ ...statement, Resource: resourcesOf(statement) }));
      expect(granted).toEqual([
        {
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: [getAtt(logicalId(s, webhook(s).logGroup))],
        },
        { Effect: "Allow", Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], Resource: ["*"] },
        { Effect: "Allow", Action: [...LEDGER_ACTIONS].sort(), Resource: [table] },
        {
          Effect: "Allow",
          Action: [...IDEMPOTENCY_ACTIONS].sort(),
          Resource: [table],
          Condition: {
            "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["IDEMPOTENCY#github-webhook"] },
          },
        },
        {
          Effect: "Allow",
          Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
          Resource: expect.arrayContaining([...secretIds]),
        },
      ]);
      const secretsGranted = granted.at(-1)?.Resource ?? [];
      expect(secretsGranted).toHaveLength(3);
      expect(
        granted.flatMap((g) => actionsOf(g as Statement)).filter((a) => a.startsWith("lambda:")),
      ).toEqual([]);
    }
  });

  it("may update and delete exactly the records Powertools Idempotency keeps for it", () => {
    // The partition the handler writes its records to is the one the condition names.
    expect(IDEMPOTENCY_PARTITIONS.githubWebhook).toBe(WEBHOOK_PK);
    // What Powertools' DynamoDB persistence layer sends is the ledger's GetItem and PutItem plus these.
    const layer = createRequire(import.meta.url).resolve("@aws-lambda-powertools/idempotency/dynamodb");
    const sent = new Set(
      [...readFileSync(layer, "utf8").matchAll(/\bnew (?:\w+\.)?(\w+)Command\(/g)].map(
        ([, name]) => `dynamodb:${name}`,
      ),
    );
    expect([...sent].sort()).toEqual(["dynamodb:GetItem", "dynamodb:PutItem", ...IDEMPOTENCY_ACTIONS].sort());
  });

  it("is put in the outputs: the URL to give the GitHub App, the secret to fill", () => {
    const outputs = full.json.Outputs as Record<string, { Value: unknown; Description: string }>;
    expect(outputs.GitHubWebhookUrl).toEqual({
      Value: getAtt(logicalId(full, webhook(full).function.node.findChild("FunctionUrl")), "FunctionUrl"),
      Description: "the GitHub App's Webhook URL (README: Requests)",
    });
    expect(outputs.GitHubWebhookSecretArn).toEqual({
      Value: { Ref: logicalId(full, full.stack.secrets.githubWebhookSecret as unknown as IConstruct) },
      Description: "put the GitHub App's webhook secret here",
    });
    full.template.hasResourceProperties("AWS::SecretsManager::Secret", {
      Description: "patrol: the GitHub App's webhook secret (App settings, Webhook secret)",
    });
    expect(imported.json.Outputs).toMatchObject({ GitHubWebhookSecretArn: { Value: WEBHOOK_ARN } });
  });
});

describe("IAM", () => {
  it("lets each Lambda with Powertools Idempotency finish its records, in its own partition only", () => {
    // Without UpdateItem a record is never marked done: every click or delivery would fail after its work.
    const byPartition = new Map<string, string[]>();
    for (const { owner, statement } of statements(full)) {
      if (!actionsOf(statement).includes(IDEMPOTENCY_ACTIONS[0])) continue;
      const keys = (statement.Condition as Record<string, Record<string, string[]>>)[
        "ForAllValues:StringEquals"
      ]?.["dynamodb:LeadingKeys"];
      for (const key of keys ?? []) byPartition.set(key, [...(byPartition.get(key) ?? []), owner]);
    }
    expect([...byPartition.keys()].sort()).toEqual([WEBHOOK_PK, WORKER_PK].sort());
    expect(byPartition.get(WORKER_PK)?.[0]).toMatch(/SlackWorker/);
    expect(byPartition.get(WEBHOOK_PK)?.[0]).toMatch(/Webhook/);
    expect(IDEMPOTENCY_PARTITIONS.slackWorker).toBe(WORKER_PK);
  });

  it("names only the ledger table and the four secrets for data access, and no * beyond X-Ray", () => {
    const table = getAtt(logicalId(full, full.stack.ledger.table));
    const secrets = [
      { Ref: logicalId(full, full.stack.secrets.githubApp as unknown as IConstruct) },
      { Ref: logicalId(full, full.stack.secrets.slackBotToken as unknown as IConstruct) },
    ];
    const signing = { Ref: logicalId(full, full.stack.secrets.slackSigningSecret as unknown as IConstruct) };
    const webhookSecret = {
      Ref: logicalId(full, full.stack.secrets.githubWebhookSecret as unknown as IConstruct),
    };
    const all = statements(full).map(({ statement }) => statement);
    expect(all.length).toBeGreaterThan(0);
    for (const s of all) {
      expect(s.Effect).toBe("Allow");
      for (const action of actionsOf(s)) expect(action).not.toMatch(/(^\*$|:\*$)/);
      const actions = actionsOf(s);
      if (resourcesOf(s).includes("*")) {
        expect(actions.every((a) => a.startsWith("xray:"))).toBe(true);
      }
      if (actions.some((a) => a.startsWith("dynamodb:"))) {
        // The ledger's actions, or (idempotency records) updates and deletes in one partition.
        expect([[...LEDGER_ACTIONS].sort(), [...IDEMPOTENCY_ACTIONS].sort()]).toContainEqual(actions.sort());
        if (actions.includes(IDEMPOTENCY_ACTIONS[0])) {
          expect([[WORKER_PK], [WEBHOOK_PK]]).toContainEqual(
            (s.Condition as { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": string[] } })[
              "ForAllValues:StringEquals"
            ]["dynamodb:LeadingKeys"],
          );
        }
        expect(resourcesOf(s)).toEqual([table]);
      }
      if (actions.some((a) => a.startsWith("secretsmanager:"))) {
        expect(actions.sort()).toEqual(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]);
        // The Lambdas read GitHub's and Slack's token; the operators only the GitHub App's; the Slack
        // endpoint only the signing secret and the bot token (it never reaches GitHub); the GitHub
        // endpoint both tokens and the webhook secret.
        expect([
          secrets,
          secrets.slice(0, 1),
          [secrets[1], signing],
          [secrets[0], webhookSecret, secrets[1]],
        ]).toContainEqual(resourcesOf(s));
      }
    }
    // The sweep, revoke, the Slack worker, the webhook and the operators' policy hold the ledger; only
    // the worker and the webhook may update or delete (their idempotency records); the operators do not
    // hold the Slack token.
    expect(all.filter((s) => actionsOf(s).includes("dynamodb:Query"))).toHaveLength(5);
    expect(all.filter((s) => actionsOf(s).includes("dynamodb:UpdateItem"))).toHaveLength(2);
    expect(all.filter((s) => actionsOf(s).includes("secretsmanager:GetSecretValue"))).toHaveLength(6);
    const operators = logicalId(full, full.stack.node.findChild("Operators").node.findChild("Policy"));
    const operatorSecrets = statements(full)
      .filter(
        ({ owner, statement }) =>
          owner === operators && actionsOf(statement).includes("secretsmanager:GetSecretValue"),
      )
      .map(({ statement }) => resourcesOf(statement));
    expect(operatorSecrets).toEqual([[secrets[0]]]);
  });

  it("grants imported secrets by their exact ARNs", () => {
    imported.template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    const secretStatements = statements(imported)
      .map(({ statement }) => statement)
      .filter((s) => actionsOf(s).some((a) => a.startsWith("secretsmanager:")));
    expect(secretStatements).toHaveLength(6);
    expect(secretStatements.map((s) => (resourcesOf(s) as string[]).sort()).sort()).toEqual(
      [
        [GITHUB_APP_ARN, SLACK_TOKEN_ARN],
        [GITHUB_APP_ARN, SLACK_TOKEN_ARN],
        [GITHUB_APP_ARN, SLACK_TOKEN_ARN],
        [SIGNING_ARN, SLACK_TOKEN_ARN],
        [GITHUB_APP_ARN, WEBHOOK_ARN, SLACK_TOKEN_ARN].sort(),
        [GITHUB_APP_ARN],
      ].sort(),
    );
  });

  it("lets the Lambdas do to the table what the ledger adapter asks of DynamoDB, and nothing more", () => {
    // Commands the Lambdas' DynamoDB adapters send (embedded-dynamodb.ts is the CLI's local store).
    const dir = new URL("../../lambdas/adapters/", import.meta.url);
    const used = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "embedded-dynamodb.ts")) {
      const source = readFileSync(new URL(file, dir), "utf8");
      if (!/from "@aws-sdk\/(client-dynamodb|lib-dynamodb)"/.test(source)) continue;
      for (const [, name] of source.matchAll(/\bnew (\w+)Command\(/g))
        used.add(`dynamodb:${toAction(name ?? "")}`);
      for (const [, name] of source.matchAll(/\bpaginate(\w+)\(/g)) used.add(`dynamodb:${name}`);
    }
    expect(used.size).toBeGreaterThan(0);
    expect([...used].sort()).toEqual([...LEDGER_ACTIONS].sort());
  });
});

/** lib-dynamodb's document commands are named without the `Item` suffix of the IAM action. */
function toAction(command: string): string {
  const items: Record<string, string> = {
    Put: "PutItem",
    Get: "GetItem",
    Update: "UpdateItem",
    Delete: "DeleteItem",
    BatchWrite: "BatchWriteItem",
    BatchGet: "BatchGetItem",
    TransactWrite: "TransactWriteItems",
    TransactGet: "TransactGetItems",
  };
  return items[command] ?? command;
}

describe("the secrets", () => {
  it("are created without a value in code; nothing secret appears anywhere in the template", () => {
    full.template.resourceCountIs("AWS::SecretsManager::Secret", 4);
    for (const [, secret] of resources(full, "AWS::SecretsManager::Secret")) {
      expect(secret.Properties?.SecretString).toBeUndefined();
    }
    const text = JSON.stringify(full.json);
    const leaks = [
      /-----BEGIN [A-Z ]*PRIVATE KEY-----/, // the GitHub App's key
      /xox[abprs]-[0-9A-Za-z-]{8,}/, // a Slack token
      /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,})/, // a GitHub token
      /\{\{resolve:secretsmanager:/, // a dynamic reference would put the value in the function's config
      /"SecretString"/, // a value set in code
    ];
    expect(leaks.filter((leak) => leak.test(text)).map(String)).toEqual([]);
  });
});

describe("watching the watcher", () => {
  it("alarms when a sweep fails, when an org has had no successful sweep for 26 hours, and on dead letters", () => {
    const topic = { Ref: logicalId(full, full.stack.node.findChild("Alarms").node.findChild("Topic")) };
    const alarms = resources(full, "AWS::CloudWatch::Alarm").map(([, r]) => r.Properties ?? {});
    expect(alarms).toHaveLength(2 + ORGS.length);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([topic]);

    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: logicalId(full, full.stack.sweep.function) } }],
        Statistic: "Sum",
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      }),
    );
    for (const org of ORGS) {
      expect(alarms).toContainEqual(
        expect.objectContaining({
          AlarmName: `patrol-no-successful-sweep-${org}`,
          Namespace: "patrol",
          MetricName: "SweepSucceeded",
          // Exactly the dimensions Powertools puts on the metric: `service` (always) and `org`.
          Dimensions: [
            { Name: "org", Value: org },
            { Name: "service", Value: "patrol" },
          ],
          Statistic: "Sum",
          Period: 3600,
          EvaluationPeriods: 26,
          DatapointsToAlarm: 26,
          Threshold: 1,
          ComparisonOperator: "LessThanThreshold",
          TreatMissingData: "breaching",
        }),
      );
    }
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Dimensions: [
          {
            Name: "QueueName",
            Value: getAtt(logicalId(full, full.stack.schedules.deadLetterQueue), "QueueName"),
          },
        ],
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        Threshold: 1,
      }),
    );
  });

  it("notifies an encrypted, TLS-only topic that CloudWatch may publish to, by email and through Chatbot", () => {
    const alarms = full.stack.node.findChild("Alarms");
    const topic = { Ref: logicalId(full, alarms.node.findChild("Topic")) };
    const key = logicalId(full, alarms.node.findChild("Key"));
    full.template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: getAtt(key) });
    full.template.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
          }),
        ]),
      },
    });
    full.template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          Match.objectLike({ Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "sns:Publish" }),
        ]),
      },
    });
    full.template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "secops@example.com",
      TopicArn: topic,
    });
    full.template.hasResourceProperties("AWS::Chatbot::SlackChannelConfiguration", {
      SlackWorkspaceId: "T0WORKSPACE",
      SlackChannelId: "C0ALARMS1",
      SnsTopicArns: [topic],
    });
  });

  it("creates no email subscription or Chatbot channel unless the context asks", () => {
    imported.template.resourceCountIs("AWS::SNS::Subscription", 0);
    imported.template.resourceCountIs("AWS::Chatbot::SlackChannelConfiguration", 0);
  });
});

describe("cdk-nag (AWS Solutions)", () => {
  it("finds nothing unacknowledged, in any configuration: explicit orgs, imported secrets, every installation", () => {
    for (const s of [full, imported, every]) {
      const report = new AwsSolutionsChecks().validateScope(s.app);
      const findings = report.violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`),
      );
      expect(findings).toEqual([]);
    }
  });

  it("is registered on the app, so `cdk synth` itself fails on a finding", () => {
    expect(full.app._validationPlugins.some((p) => p instanceof AwsSolutionsChecks)).toBe(true);
  });

  it("has no stale acknowledgement: each one silences a real finding on its own construct, for a stated reason", () => {
    // Rerun the rules as if nothing were acknowledged (cdk-nag's private hook, overridden for this test).
    const unfiltered = new AwsSolutionsChecks();
    Object.assign(unfiltered, { isAcknowledged: () => false });
    const findings = unfiltered
      .validateScope(full.app)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath })),
      );

    const acknowledgements = full.app.node.findAll().flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
            path: c.node.path,
            rule: id.replace(/^annotation::/i, ""),
            reason,
          })),
        ),
    );
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const ack of acknowledgements) {
      expect(ack.reason.length, `${ack.rule} at ${ack.path}: give a real reason`).toBeGreaterThan(80);
      expect(
        findings.some((f) => f.rule === ack.rule && `${f.path}/`.startsWith(`${ack.path}/`)),
        `${ack.rule} at ${ack.path} acknowledges nothing`,
      ).toBe(true);
    }
  });
});

describe("outputs", () => {
  it("tell the operator where to put the secrets and what to attach and watch", () => {
    const outputs = Object.keys(full.json.Outputs as Record<string, unknown>).sort();
    expect(outputs).toEqual(
      [
        "AlarmTopicArn",
        "GitHubAppSecretArn",
        "GitHubWebhookSecretArn",
        "GitHubWebhookUrl",
        "LedgerTableName",
        "OperatorsPolicyArn",
        "RevokeFunctionName",
        "RevokeLogGroupName",
        "RevokerPolicyArn",
        "SlackBotTokenSecretArn",
        "SlackInteractivityUrl",
        "SlackSigningSecretArn",
        "SweepFunctionName",
        "SweepLogGroupName",
      ].sort(),
    );
  });
});

describe('every installation (orgs: "*")', () => {
  const fanOutOf = (s: Synthesized) => {
    const fanOut = s.stack.fanOut?.lambda;
    if (!fanOut) throw new Error("no fan-out in this stack");
    return fanOut;
  };
  const roleStatements = (s: Synthesized, fn: Synthesized["stack"]["sweep"]["function"]) => {
    const role = logicalId(s, fn.role as unknown as IConstruct);
    return statements(s)
      .filter(({ owner }) => owner.startsWith(role.slice(0, -8)))
      .map(({ statement }) => ({ ...statement, Resource: resourcesOf(statement) }));
  };

  it("explicit orgs keep a schedule and a heartbeat alarm each, and no fan-out", () => {
    expect(full.stack.fanOut).toBeUndefined();
    expect(imported.stack.fanOut).toBeUndefined();
    const names = resources(full, "AWS::Lambda::Function").map(([, r]) => r.Properties?.FunctionName);
    expect(names).not.toContain("patrol-fan-out");
    expect([...full.stack.alarms.noSuccessfulSweep.keys()]).toEqual(ORGS);
    expect(full.stack.alarms.fanOutFailed).toBeUndefined();
    expect(full.stack.alarms.installationLost).toBeUndefined();
    imported.template.resourceCountIs("AWS::Scheduler::Schedule", 1);
    imported.template.hasResourceProperties("AWS::Scheduler::Schedule", {
      Target: { Arn: getAtt(logicalId(imported, imported.stack.sweep.function)), Input: '{"org":"solo"}' },
    });
  });

  it("has one schedule, of the fan-out, sending {} with the retries and dead-letter queue", () => {
    const schedules = resources(every, "AWS::Scheduler::Schedule");
    expect(schedules).toHaveLength(1);
    expect(schedules[0]?.[1].Properties).toMatchObject({
      ScheduleExpression: "cron(0 3 * * ? *)",
      ScheduleExpressionTimezone: "UTC",
      State: "ENABLED",
      Target: {
        Arn: getAtt(logicalId(every, fanOutOf(every).function)),
        Input: "{}",
        DeadLetterConfig: { Arn: getAtt(logicalId(every, every.stack.schedules.deadLetterQueue)) },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 7200 },
      },
    });
    // The schedules' role may invoke the fan-out (exactly it) and nothing else: not the sweep.
    const role = logicalId(every, every.stack.schedules.node.findChild("InvokeRole"));
    const granted = statements(every)
      .filter(({ owner }) => owner.startsWith(role.slice(0, -8)))
      .map(({ statement }) => [actionsOf(statement), resourcesOf(statement)]);
    expect(granted).toEqual([
      [["lambda:InvokeFunction"], [getAtt(logicalId(every, fanOutOf(every).function))]],
      [["sqs:SendMessage"], [getAtt(logicalId(every, every.stack.schedules.deadLetterQueue))]],
    ]);
  });

  it("runs the fan-out as the other Lambdas run, with only what it reads in its environment", () => {
    const fanOut = fanOutOf(every);
    const fn = resources(every).find(([id]) => id === logicalId(every, fanOut.function))?.[1];
    expect(fn?.Properties).toMatchObject({
      FunctionName: "patrol-fan-out",
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      TracingConfig: { Mode: "Active" },
      Timeout: 120,
      LoggingConfig: { LogGroup: { Ref: logicalId(every, fanOut.logGroup) } },
      Environment: {
        Variables: {
          PATROL_TABLE: { Ref: logicalId(every, every.stack.ledger.table) },
          GITHUB_APP_SECRET_ARN: GITHUB_APP_ARN,
          PATROL_SWEEP_FUNCTION: { Ref: logicalId(every, every.stack.sweep.function) },
          GITHUB_API_URL: "https://github.example.com/api/v3",
          POWERTOOLS_SERVICE_NAME: "patrol",
          POWERTOOLS_METRICS_NAMESPACE: "patrol",
          NODE_OPTIONS: "--enable-source-maps",
        },
      },
    });
    const variables = (fn?.Properties?.Environment as { Variables?: object } | undefined)?.Variables;
    expect(Object.keys(variables ?? {})).toHaveLength(7);
    every.template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: logicalId(every, fanOut.function) },
      MaximumRetryAttempts: 0,
    });
    every.template.hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: "/aws/lambda/patrol-fan-out",
      RetentionInDays: 365,
    });
  });

  it("lets the fan-out read the GitHub App, keep its one record, and invoke exactly the sweep", () => {
    const fanOut = fanOutOf(every);
    const table = getAtt(logicalId(every, every.stack.ledger.table));
    expect(roleStatements(every, fanOut.function)).toEqual([
      {
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: [getAtt(logicalId(every, fanOut.logGroup))],
      },
      { Effect: "Allow", Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], Resource: ["*"] },
      {
        Effect: "Allow",
        Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        Resource: [GITHUB_APP_ARN],
      },
      {
        Effect: "Allow",
        Action: [...INSTALLATIONS_ACTIONS].sort(),
        Resource: [table],
        Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["INSTALLATIONS"] } },
      },
      // The sweep itself, not `<arn>:*` (its versions and aliases).
      {
        Effect: "Allow",
        Action: "lambda:InvokeFunction",
        Resource: [getAtt(logicalId(every, every.stack.sweep.function))],
      },
    ]);
    // The partition the condition names is the one the adapter writes the record to.
    expect(INSTALLATIONS_PARTITION).toBe(INSTALLATIONS_PK);
  });

  it("grants the installations record to the fan-out alone, and nothing else new", () => {
    const fanOutRole = logicalId(every, fanOutOf(every).function.role as unknown as IConstruct);
    const recordHolders = statements(every).filter(({ statement }) =>
      JSON.stringify(statement.Condition ?? {}).includes(INSTALLATIONS_PARTITION),
    );
    expect(recordHolders.map(({ owner }) => owner.startsWith(fanOutRole.slice(0, -8)))).toEqual([true]);
    for (const { statement } of statements(every)) {
      for (const action of actionsOf(statement)) expect(action).not.toMatch(/(^\*$|:\*$)/);
      if (resourcesOf(statement).includes("*")) {
        expect(actionsOf(statement).every((a) => a.startsWith("xray:"))).toBe(true);
      }
      for (const resource of resourcesOf(statement)) expect(JSON.stringify(resource)).not.toMatch(/:\*"?$/);
    }
    // Who may invoke what: the explicit deployment's four, the fan-out's one; the schedules' now names the fan-out.
    const invokes = statements(every).filter(({ statement }) =>
      actionsOf(statement).some((a) => a.startsWith("lambda:")),
    );
    expect(invokes).toHaveLength(5);
    const sweepInvokers = invokes.filter(({ statement }) =>
      resourcesOf(statement).some(
        (r) => JSON.stringify(r) === JSON.stringify(getAtt(logicalId(every, every.stack.sweep.function))),
      ),
    );
    expect(sweepInvokers.map(({ owner }) => owner.startsWith(fanOutRole.slice(0, -8)))).toEqual([true]);
  });

  it("alarms on a failed fan-out, a lost installation, and no successful sweep of any org for 26 hours", () => {
    const topic = { Ref: logicalId(every, every.stack.node.findChild("Alarms").node.findChild("Topic")) };
    const alarms = resources(every, "AWS::CloudWatch::Alarm").map(([, r]) => r.Properties ?? {});
    expect(alarms.map((a) => a.AlarmName).sort()).toEqual(
      [
        "patrol-sweep-failed",
        "patrol-no-successful-sweep",
        "patrol-sweep-dead-letters",
        "patrol-fan-out-failed",
        "patrol-installation-lost",
      ].sort(),
    );
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([topic]);
    expect(alarms).toContainEqual(
      expect.objectContaining({
        AlarmName: "patrol-no-successful-sweep",
        Namespace: "patrol",
        MetricName: "SweepSucceeded",
        // The heartbeat the sweep publishes beside its per-org one: `service` alone.
        Dimensions: [{ Name: "service", Value: "patrol" }],
        Statistic: "Sum",
        Period: 3600,
        EvaluationPeriods: 26,
        DatapointsToAlarm: 26,
        Threshold: 1,
        ComparisonOperator: "LessThanThreshold",
        TreatMissingData: "breaching",
      }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({
        AlarmName: "patrol-installation-lost",
        Namespace: "patrol",
        MetricName: "InstallationsLost",
        Dimensions: [{ Name: "service", Value: "patrol" }],
        Statistic: "Maximum",
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
      }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({
        AlarmName: "patrol-fan-out-failed",
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: logicalId(every, fanOutOf(every).function) } }],
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      }),
    );
  });

  it("names the fan-out and its logs in the outputs", () => {
    const outputs = every.json.Outputs as Record<string, { Value: unknown }>;
    expect(outputs.FanOutFunctionName?.Value).toEqual({ Ref: logicalId(every, fanOutOf(every).function) });
    expect(outputs.FanOutLogGroupName?.Value).toEqual({ Ref: logicalId(every, fanOutOf(every).logGroup) });
    expect(Object.keys(full.json.Outputs as object)).not.toContain("FanOutFunctionName");
  });
});
