import { readdirSync, readFileSync } from "node:fs";
import { Validations } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEDGER_ACTIONS } from "../../infra/constructs/ledger-table";
import { type Synthesized, synthPatrol } from "./synth";

type Resource = { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const ORGS = ["acme", "Acme-Labs"];
const GITHUB_APP_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:patrol/github-app-AbC123";
const SLACK_TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:patrol/slack-token-XyZ789";
const SIGNING_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:patrol/slack-signing-QwE456";

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

beforeAll(() => {
  full = synthPatrol(FULL);
  // The other shape: existing secrets imported by ARN, no optional notification channel.
  imported = synthPatrol({
    orgs: ["solo"],
    slackChannel: "C0SOLOALERTS",
    githubAppSecretArn: GITHUB_APP_ARN,
    slackBotTokenSecretArn: SLACK_TOKEN_ARN,
    slackSigningSecretArn: SIGNING_ARN,
  });
});

afterAll(() => {
  full?.dispose();
  imported?.dispose();
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
  });

  it("run Node 24 on arm64, traced, from an ESM bundle, each with its own log group kept a year", () => {
    const { sweep, revoke, worker, endpoint } = functions(full);
    for (const [fn, logs] of [
      [sweep, full.stack.sweep.logGroup],
      [revoke, full.stack.revoke.logGroup],
      [worker, full.stack.slack.worker.logGroup],
      [endpoint, full.stack.slack.endpoint.logGroup],
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
    const logGroups = resources(full, "AWS::Logs::LogGroup").map(([, r]) => r.Properties);
    expect(logGroups).toEqual([
      expect.objectContaining({ LogGroupName: "/aws/lambda/patrol-sweep", RetentionInDays: 365 }),
      expect.objectContaining({ LogGroupName: "/aws/lambda/patrol-revoke", RetentionInDays: 365 }),
      expect.objectContaining({ LogGroupName: "/aws/lambda/patrol-slack-worker", RetentionInDays: 365 }),
      expect.objectContaining({
        LogGroupName: "/aws/lambda/patrol-slack-interactions",
        RetentionInDays: 365,
      }),
    ]);
    // A failed sweep is not run again by Lambda: the alarm tells a human, the next night repeats it.
    // Nor is a failed Slack action: the person who clicked is told, and decides.
    full.template.resourcePropertiesCountIs("AWS::Lambda::EventInvokeConfig", { MaximumRetryAttempts: 0 }, 3);
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
  });

  it("are invoked only by the sweep schedules, the revokers' policy and Slack's endpoint (through its URL)", () => {
    // The one public entry point is the Slack endpoint's Function URL: its signature check is the lock.
    full.template.resourceCountIs("AWS::Lambda::Url", 1);
    full.template.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "NONE",
      TargetFunctionArn: getAtt(logicalId(full, full.stack.slack.endpoint.function)),
    });
    for (const [, permission] of resources(full, "AWS::Lambda::Permission")) {
      expect(permission.Properties).toMatchObject({
        FunctionName: getAtt(logicalId(full, full.stack.slack.endpoint.function)),
        Principal: "*",
      });
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

describe("IAM", () => {
  it("names only the ledger table and the three secrets for data access, and no * beyond X-Ray", () => {
    const table = getAtt(logicalId(full, full.stack.ledger.table));
    const secrets = [
      { Ref: logicalId(full, full.stack.secrets.githubApp as unknown as IConstruct) },
      { Ref: logicalId(full, full.stack.secrets.slackBotToken as unknown as IConstruct) },
    ];
    const signing = { Ref: logicalId(full, full.stack.secrets.slackSigningSecret as unknown as IConstruct) };
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
        expect(actions.sort()).toEqual([...LEDGER_ACTIONS].sort());
        expect(resourcesOf(s)).toEqual([table]);
      }
      if (actions.some((a) => a.startsWith("secretsmanager:"))) {
        expect(actions.sort()).toEqual(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]);
        // The Lambdas read GitHub's and Slack's token; the operators only the GitHub App's; the endpoint
        // only the signing secret and the bot token (it never reaches GitHub).
        expect([secrets, secrets.slice(0, 1), [secrets[1], signing]]).toContainEqual(resourcesOf(s));
      }
    }
    // Both Lambdas and the operators' policy hold the ledger; the operators do not hold the Slack token.
    expect(all.filter((s) => actionsOf(s).includes("dynamodb:Query"))).toHaveLength(4);
    expect(all.filter((s) => actionsOf(s).includes("secretsmanager:GetSecretValue"))).toHaveLength(5);
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
    expect(secretStatements).toHaveLength(5);
    expect(secretStatements.map((s) => resourcesOf(s)).sort()).toEqual(
      [
        [GITHUB_APP_ARN, SLACK_TOKEN_ARN],
        [GITHUB_APP_ARN, SLACK_TOKEN_ARN],
        [GITHUB_APP_ARN, SLACK_TOKEN_ARN],
        [SIGNING_ARN, SLACK_TOKEN_ARN],
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
    full.template.resourceCountIs("AWS::SecretsManager::Secret", 3);
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
  it("finds nothing unacknowledged, in either configuration", () => {
    for (const s of [full, imported]) {
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
