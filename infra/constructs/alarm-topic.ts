import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { SlackChannelConfiguration } from "aws-cdk-lib/aws-chatbot";
import { ManagedPolicy, PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";

export interface AlarmTopicProps {
  /** Subscribe this address (AWS sends a confirmation mail first). */
  email?: string | undefined;
  /** Relay the alarms to a Slack channel through AWS Chatbot (the workspace must be authorised once in its console). */
  chatbot?: { workspaceId: string; channelId: string } | undefined;
}

/**
 * Where patrol's alarms go: an SNS topic encrypted with its own rotating KMS key (CloudWatch may use the
 * key to publish), TLS required, with an optional email subscription and an optional Slack channel.
 */
export class AlarmTopic extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const cloudwatch = new ServicePrincipal("cloudwatch.amazonaws.com");
    const key = new Key(this, "Key", {
      description: "patrol: encrypts the alarm topic",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch cannot use the AWS managed aws/sns key, hence a key of our own that lets it encrypt.
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudwatch],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
      }),
    );
    this.topic = new Topic(this, "Topic", { displayName: "patrol alarms", masterKey: key, enforceSSL: true });
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudwatch],
        actions: ["sns:Publish"],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { "aws:SourceAccount": Stack.of(this).account } },
      }),
    );

    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));
    if (props.chatbot) {
      new SlackChannelConfiguration(this, "Slack", {
        slackChannelConfigurationName: `${Stack.of(this).stackName}-alarms`,
        slackWorkspaceId: props.chatbot.workspaceId,
        slackChannelId: props.chatbot.channelId,
        notificationTopics: [this.topic],
        // The channel only receives notifications: its role has no permissions, and this guardrail caps
        // whatever a channel member could ever do through Chatbot to reading CloudWatch.
        guardrailPolicies: [ManagedPolicy.fromAwsManagedPolicyName("CloudWatchReadOnlyAccess")],
      });
    }
  }
}
