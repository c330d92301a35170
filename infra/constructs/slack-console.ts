import { Duration } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { FunctionUrlAuthType, type IFunction } from "aws-cdk-lib/aws-lambda";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { IDEMPOTENCY_PARTITIONS } from "../../lambdas/core/idempotency";
import type { LedgerTable } from "./ledger-table";
import { PatrolFunction, type PatrolFunctionProps } from "./patrol-function";

export interface SlackConsoleProps {
  stackName: string;
  /** What every patrol Lambda reads, to which this adds PATROL_APPROVERS and the worker's name. */
  environment: Record<string, string>;
  approversJson: string;
  ledger: LedgerTable;
  githubAppSecret: ISecret;
  slackBotToken: ISecret;
  slackSigningSecret: ISecret;
  memorySize: number;
  logRetention: PatrolFunctionProps["logRetention"];
}

/**
 * Slack as patrol's console: the interactivity endpoint (a Function URL) and the worker it hands clicks to.
 * Each has its own role. The endpoint can read the signing secret and the bot token and invoke the worker,
 * nothing else: it never touches the ledger or GitHub. The worker has what an on-demand revocation has.
 */
export class SlackConsole extends Construct {
  readonly endpoint: PatrolFunction;
  readonly worker: PatrolFunction;
  readonly url: string;

  constructor(scope: Construct, id: string, props: SlackConsoleProps) {
    super(scope, id);
    this.worker = new PatrolFunction(this, "Worker", {
      handler: "slack-worker",
      functionName: `${props.stackName}-slack-worker`,
      description: "patrol: carry out a Slack action (revoke, flag, retire, renew, register, review) once",
      // One entry, one or two GitHub calls: minutes at the very most, with every wait bounded inside.
      timeout: Duration.minutes(2),
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      environment: { ...props.environment, PATROL_APPROVERS: props.approversJson },
      // A failed action is told to the person who clicked, who decides; Lambda does not repeat it later.
      retryAttempts: 0,
      reservedConcurrentExecutions: 5,
    });
    props.ledger.grantLedgerAccess(this.worker.function);
    // Powertools Idempotency marks a click done (UpdateItem) or drops a failed one's record (DeleteItem).
    props.ledger.grantIdempotencyRecords(this.worker.function, IDEMPOTENCY_PARTITIONS.slackWorker);
    props.githubAppSecret.grantRead(this.worker.function);
    props.slackBotToken.grantRead(this.worker.function);

    this.endpoint = new PatrolFunction(this, "Endpoint", {
      handler: "slack-interactions",
      functionName: `${props.stackName}-slack-interactions`,
      description: "patrol: Slack's interactivity endpoint (verifies the signature, answers within 3 s)",
      timeout: Duration.seconds(10),
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      environment: {
        SLACK_SIGNING_SECRET_ARN: props.slackSigningSecret.secretArn,
        SLACK_BOT_TOKEN_SECRET_ARN: props.slackBotToken.secretArn,
        PATROL_APPROVERS: props.approversJson,
        PATROL_SLACK_WORKER: this.worker.function.functionName,
        ...(props.environment.SLACK_API_URL ? { SLACK_API_URL: props.environment.SLACK_API_URL } : {}),
      },
      // A ceiling on what an unsigned flood can cost: each such request ends at the signature check.
      reservedConcurrentExecutions: 10,
    });
    props.slackSigningSecret.grantRead(this.endpoint.function);
    props.slackBotToken.grantRead(this.endpoint.function);
    // Exactly the worker, not its versions and aliases (`grantInvoke` adds `ARN:*`).
    this.endpoint.function.addToRolePolicy(
      new PolicyStatement({
        actions: ["lambda:InvokeFunction"],
        resources: [this.worker.function.functionArn],
      }),
    );

    const url = this.endpoint.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    this.url = url.url;
    // No IAM auth on the URL: Slack cannot sign with AWS credentials. Slack's own signature (v0 HMAC-SHA256
    // of the raw body with the signing secret, within 5 minutes) is the authentication, checked before
    // anything is read (lambdas/core/slack-request.ts); reserved concurrency caps what a flood can cost.
  }
}

export type { IFunction };
