import { Validations } from "aws-cdk-lib";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";

export interface PatrolSecretsProps {
  /** Use an existing secret instead of creating one (its complete ARN, with the random suffix). */
  githubAppSecretArn?: string | undefined;
  slackBotTokenSecretArn?: string | undefined;
  slackSigningSecretArn?: string | undefined;
  githubWebhookSecretArn?: string | undefined;
}

/**
 * The four secrets the Lambdas read. Created without a value in code: CloudFormation fills each with a
 * random placeholder, which the operator replaces (`aws secretsmanager put-secret-value`, see README).
 * Or imported by ARN from context when they already exist.
 */
export class PatrolSecrets extends Construct {
  /** JSON `{ "appId", "privateKey", "installationIds": { "<org>": <id> } }`. */
  readonly githubApp: ISecret;
  /** The Slack bot token (`xoxb-…`), as plain text. */
  readonly slackBotToken: ISecret;
  /** The Slack app's signing secret, as plain text: what proves a click came from Slack. */
  readonly slackSigningSecret: ISecret;
  /** The GitHub App's webhook secret, as plain text: what proves a delivery came from GitHub. */
  readonly githubWebhookSecret: ISecret;

  constructor(scope: Construct, id: string, props: PatrolSecretsProps) {
    super(scope, id);
    this.githubApp = this.secret(
      "GitHubApp",
      props.githubAppSecretArn,
      'patrol: the GitHub App as JSON {"appId", "privateKey", "installationIds": {"<org>": <id>}}',
    );
    this.slackBotToken = this.secret(
      "SlackBotToken",
      props.slackBotTokenSecretArn,
      "patrol: the Slack bot token (xoxb-...) that posts the digests",
    );
    this.slackSigningSecret = this.secret(
      "SlackSigningSecret",
      props.slackSigningSecretArn,
      "patrol: the Slack app's signing secret (Basic Information, App Credentials)",
    );
    this.githubWebhookSecret = this.secret(
      "GitHubWebhookSecret",
      props.githubWebhookSecretArn,
      "patrol: the GitHub App's webhook secret (App settings, Webhook secret)",
    );
  }

  private secret(id: string, arn: string | undefined, description: string): ISecret {
    if (arn) return Secret.fromSecretCompleteArn(this, id, arn);
    const secret = new Secret(this, id, { description });
    Validations.of(secret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "No automatic rotation: a GitHub App private key or webhook secret and a Slack bot token or signing secret are set in the GitHub and Slack consoles, so they are rotated by hand there and put here (README, Rotate the secrets).",
    });
    return secret;
  }
}
