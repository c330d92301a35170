import { Duration } from "aws-cdk-lib";
import { FunctionUrlAuthType } from "aws-cdk-lib/aws-lambda";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { IDEMPOTENCY_PARTITIONS } from "../../lambdas/core/idempotency";
import type { LedgerTable } from "./ledger-table";
import { PatrolFunction, type PatrolFunctionProps } from "./patrol-function";

export interface GitHubWebhookProps {
  stackName: string;
  /** What every patrol Lambda reads, to which this adds the webhook secret's ARN. */
  environment: Record<string, string>;
  /** The orgs this deployment governs (`*`: every installation): a delivery about another is ignored. */
  orgs: readonly string[] | "*";
  ledger: LedgerTable;
  githubAppSecret: ISecret;
  slackBotToken: ISecret;
  webhookSecret: ISecret;
  memorySize: number;
  logRetention: PatrolFunctionProps["logRetention"];
}

/**
 * GitHub's webhook endpoint (a Function URL) for `personal_access_token_request`: a new, approved, denied
 * or cancelled request reaches the ledger at once, and a new one is posted to Slack as a card, instead of
 * waiting for the night. Its role reads the webhook secret, the GitHub App and the bot token, and holds the
 * ledger as the sweep does plus its own idempotency records; it invokes nothing.
 */
export class GitHubWebhook extends Construct {
  readonly endpoint: PatrolFunction;
  readonly url: string;

  constructor(scope: Construct, id: string, props: GitHubWebhookProps) {
    super(scope, id);
    this.endpoint = new PatrolFunction(this, "Endpoint", {
      handler: "github-webhook",
      functionName: `${props.stackName}-github-webhook`,
      description:
        "patrol: GitHub's webhook endpoint for PAT requests (verifies the signature, answers within 10 s)",
      // GitHub marks a delivery failed after 10 s; the handler ends its own work at 8 s, inside that.
      timeout: Duration.seconds(10),
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      environment: {
        ...props.environment,
        GITHUB_WEBHOOK_SECRET_ARN: props.webhookSecret.secretArn,
        PATROL_ORGS: props.orgs === "*" ? "*" : props.orgs.join(","),
      },
      // A failed delivery shows as failed in the App's Recent Deliveries; the nightly sweep is the backstop.
      retryAttempts: 0,
      // A ceiling on what an unsigned flood can cost: each such request ends at the signature check.
      reservedConcurrentExecutions: 10,
    });
    const fn = this.endpoint.function;
    props.ledger.grantLedgerAccess(fn);
    // Powertools Idempotency marks each delivery done, or forgets a failed one, in its own partition.
    props.ledger.grantIdempotencyRecords(fn, IDEMPOTENCY_PARTITIONS.githubWebhook);
    props.githubAppSecret.grantRead(fn);
    // A new request is posted to the digest's channel as a card with Approve… and Deny….
    props.slackBotToken.grantRead(fn);
    props.webhookSecret.grantRead(fn);

    const url = fn.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    this.url = url.url;
    // No IAM auth on the URL: GitHub cannot sign with AWS credentials. GitHub's own signature
    // (X-Hub-Signature-256, HMAC-SHA256 of the raw body with the webhook secret) is the authentication,
    // checked in constant time before the body is parsed (lambdas/handlers/github-webhook.ts); reserved
    // concurrency caps what a flood can cost. cdk-nag's AWS Solutions rules raise no finding for a
    // Function URL, so nothing is acknowledged here.
  }
}
