import { CfnOutput, Duration, Stack, type StackProps, Tags } from "aws-cdk-lib";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { approversJson, EVERY_INSTALLATION, type PatrolConfig, policyJson } from "./config";
import { AlarmTopic } from "./constructs/alarm-topic";
import { SweepAlarms } from "./constructs/alarms";
import { GitHubWebhook } from "./constructs/github-webhook";
import { InstallationFanOut } from "./constructs/installation-fan-out";
import { LedgerTable } from "./constructs/ledger-table";
import { OperatorsPolicy } from "./constructs/operators-policy";
import { OrgSchedules } from "./constructs/org-schedules";
import { PatrolFunction, type PatrolFunctionProps } from "./constructs/patrol-function";
import { PatrolSecrets } from "./constructs/patrol-secrets";
import { RevokerPolicy } from "./constructs/revoker-policy";
import { SlackConsole } from "./constructs/slack-console";
import { LAMBDA_MEMORY_MB, REVOKE_TIMEOUT_MINUTES, SWEEP_TIMEOUT_MINUTES } from "./sizing";

type FunctionSpec = Pick<
  PatrolFunctionProps,
  "handler" | "description" | "timeout" | "memorySize" | "retryAttempts"
>;

/** See sizing.ts: measured by the benchmark under the runtime's own heap flags. */
const MEMORY_MB = LAMBDA_MEMORY_MB;

/**
 * The sweep: one org per invocation, its timeout sized in sizing.ts (the run's budget is what remains of
 * it, and the run ends itself before Lambda would). A failed sweep is not retried by Lambda: it already
 * finished what it could, the alarm tells a human, and the next night repeats the work.
 */
const SWEEP: FunctionSpec = {
  handler: "sweep",
  description: "patrol: sweep one GitHub org's fine-grained PATs against the ledger (scheduled nightly)",
  timeout: Duration.minutes(SWEEP_TIMEOUT_MINUTES),
  memorySize: MEMORY_MB,
  retryAttempts: 0,
};

/**
 * The on-demand revocation after a compromise, invoked by an incident responder: the same work as a sweep
 * at most (list the org, revoke 100 grants a call, write the ledger), so the same memory and a timeout from
 * sizing.ts. Never retried by Lambda: the responder sees the report and decides.
 */
const REVOKE: FunctionSpec = {
  handler: "revoke",
  description: "patrol: revoke fine-grained PATs on demand after a compromise",
  timeout: Duration.minutes(REVOKE_TIMEOUT_MINUTES),
  memorySize: MEMORY_MB,
  retryAttempts: 0,
};

export interface PatrolStackProps extends StackProps {
  config: PatrolConfig;
}

/**
 * patrol in one stack: the ledger, the secrets, the Lambdas and their two URLs, a schedule per org (or, with
 * `orgs: "*"`, one schedule of the fan-out that hands every installed org to the sweep), the alarms.
 */
export class PatrolStack extends Stack {
  readonly ledger: LedgerTable;
  readonly secrets: PatrolSecrets;
  readonly sweep: PatrolFunction;
  readonly revoke: PatrolFunction;
  readonly slack: SlackConsole;
  readonly webhook: GitHubWebhook;
  /** With `orgs: "*"` only: the Lambda that hands each org the GitHub App is installed on to the sweep. */
  readonly fanOut?: InstallationFanOut;
  readonly schedules: OrgSchedules;
  readonly alarms: SweepAlarms;

  constructor(scope: Construct, id: string, props: PatrolStackProps) {
    super(scope, id, props);
    const { config } = props;
    Tags.of(this).add("app", "patrol");

    this.ledger = new LedgerTable(this, "Ledger");
    this.secrets = new PatrolSecrets(this, "Secrets", {
      githubAppSecretArn: config.githubAppSecretArn,
      slackBotTokenSecretArn: config.slackBotTokenSecretArn,
      slackSigningSecretArn: config.slackSigningSecretArn,
      githubWebhookSecretArn: config.githubWebhookSecretArn,
    });

    // What every patrol Lambda reads (lambdas/config.ts): names and ARNs, never a secret's value.
    const environment: Record<string, string> = {
      PATROL_TABLE: this.ledger.table.tableName,
      GITHUB_APP_SECRET_ARN: this.secrets.githubApp.secretArn,
      SLACK_BOT_TOKEN_SECRET_ARN: this.secrets.slackBotToken.secretArn,
      SLACK_CHANNEL: config.slackChannel,
      PATROL_MODE: config.mode,
      PATROL_POLICY: policyJson(config),
      ...(config.githubApiUrl ? { GITHUB_API_URL: config.githubApiUrl } : {}),
    };
    const patrolFunction = (id: string, spec: FunctionSpec): PatrolFunction => {
      const fn = new PatrolFunction(this, id, {
        ...spec,
        functionName: `${this.stackName}-${spec.handler}`,
        environment,
        logRetention: config.logRetentionDays as RetentionDays,
      });
      this.ledger.grantLedgerAccess(fn.function);
      this.secrets.githubApp.grantRead(fn.function);
      this.secrets.slackBotToken.grantRead(fn.function);
      return fn;
    };
    this.sweep = patrolFunction("Sweep", SWEEP);
    this.revoke = patrolFunction("Revoke", REVOKE);
    this.slack = new SlackConsole(this, "Slack", {
      stackName: this.stackName,
      environment,
      approversJson: approversJson(config),
      ledger: this.ledger,
      githubAppSecret: this.secrets.githubApp,
      slackBotToken: this.secrets.slackBotToken,
      slackSigningSecret: this.secrets.slackSigningSecret,
      memorySize: MEMORY_MB,
      logRetention: config.logRetentionDays as RetentionDays,
    });
    this.webhook = new GitHubWebhook(this, "Webhook", {
      stackName: this.stackName,
      environment,
      orgs: config.orgs,
      ledger: this.ledger,
      githubAppSecret: this.secrets.githubApp,
      slackBotToken: this.secrets.slackBotToken,
      webhookSecret: this.secrets.githubWebhookSecret,
      memorySize: MEMORY_MB,
      logRetention: config.logRetentionDays as RetentionDays,
    });
    const revokers = new RevokerPolicy(this, "Revokers", { revoke: this.revoke.function });
    const operators = new OperatorsPolicy(this, "Operators", {
      ledger: this.ledger,
      revoke: this.revoke.function,
      githubAppSecret: this.secrets.githubApp,
    });

    if (config.orgs === EVERY_INSTALLATION) {
      this.fanOut = new InstallationFanOut(this, "FanOut", {
        stackName: this.stackName,
        sweep: this.sweep.function,
        ledger: this.ledger,
        githubAppSecret: this.secrets.githubApp,
        githubApiUrl: config.githubApiUrl,
        memorySize: MEMORY_MB,
        logRetention: config.logRetentionDays as RetentionDays,
      });
    }
    const fanOut = this.fanOut?.lambda;

    this.schedules = new OrgSchedules(this, "Schedules", {
      sweep: this.sweep.function,
      orgs: config.orgs,
      ...(fanOut ? { fanOut: fanOut.function } : {}),
      cron: config.schedule,
      timeZone: config.timeZone,
    });
    const alarmTopic = new AlarmTopic(this, "Alarms", {
      email: config.alarmEmail,
      chatbot:
        config.chatbotSlackWorkspaceId && config.chatbotSlackChannelId
          ? { workspaceId: config.chatbotSlackWorkspaceId, channelId: config.chatbotSlackChannelId }
          : undefined,
    });
    this.alarms = new SweepAlarms(this, "Watch", {
      sweep: this.sweep.function,
      orgs: config.orgs,
      ...(fanOut ? { fanOut: fanOut.function } : {}),
      deadLetterQueue: this.schedules.deadLetterQueue,
      topic: alarmTopic.topic,
    });

    const outputs: Record<string, [string, string]> = {
      LedgerTableName: [this.ledger.table.tableName, "the ledger (retained when the stack is deleted)"],
      GitHubAppSecretArn: [this.secrets.githubApp.secretArn, "put the GitHub App JSON here"],
      SlackBotTokenSecretArn: [this.secrets.slackBotToken.secretArn, "put the Slack bot token here"],
      SweepFunctionName: [this.sweep.function.functionName, "the sweep Lambda"],
      SweepLogGroupName: [this.sweep.logGroup.logGroupName, "the sweep's logs"],
      RevokeFunctionName: [this.revoke.function.functionName, "the revoke Lambda"],
      RevokeLogGroupName: [this.revoke.logGroup.logGroupName, "the revoke Lambda's logs"],
      RevokerPolicyArn: [revokers.policy.managedPolicyArn, "attach to the incident responders' roles"],
      OperatorsPolicyArn: [
        operators.policy.managedPolicyArn,
        "attach to the roles of operators who run the patrol CLI against this deployment",
      ],
      AlarmTopicArn: [alarmTopic.topic.topicArn, "where the alarms go"],
      SlackInteractivityUrl: [
        this.slack.url,
        "the Slack app's Interactivity Request URL (slack/manifest.json, README: Slack app)",
      ],
      SlackSigningSecretArn: [
        this.secrets.slackSigningSecret.secretArn,
        "put the Slack app's signing secret here",
      ],
      GitHubWebhookUrl: [this.webhook.url, "the GitHub App's Webhook URL (README: Requests)"],
      GitHubWebhookSecretArn: [
        this.secrets.githubWebhookSecret.secretArn,
        "put the GitHub App's webhook secret here",
      ],
      ...(fanOut
        ? {
            FanOutFunctionName: [
              fanOut.function.functionName,
              "the fan-out Lambda: hands each org the GitHub App is installed on to the sweep",
            ] as [string, string],
            FanOutLogGroupName: [fanOut.logGroup.logGroupName, "the fan-out's logs"] as [string, string],
          }
        : {}),
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
  }
}
