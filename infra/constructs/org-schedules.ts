import { Duration, RemovalPolicy, Stack, TimeZone, Validations } from "aws-cdk-lib";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Schedule, ScheduleExpression, ScheduleGroup, ScheduleTargetInput } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { EVERY_INSTALLATION } from "../config";

export interface OrgSchedulesProps {
  sweep: IFunction;
  /**
   * The orgs, one schedule each; or `"*"`, every org the GitHub App is installed on: one schedule, of the
   * fan-out, which hands each installed org to the sweep.
   */
  orgs: readonly string[] | typeof EVERY_INSTALLATION;
  /** The fan-out Lambda: required with `orgs: "*"`. */
  fanOut?: IFunction;
  /** EventBridge Scheduler cron fields, e.g. `0 3 * * ? *`. */
  cron: string;
  timeZone: string;
}

/**
 * One EventBridge Scheduler schedule per org, each invoking the sweep with `{ "org": "<login>" }`: orgs
 * are swept in parallel, and one org's failure touches no other. With `orgs: "*"`, one schedule invokes
 * the fan-out instead (with `{}`), which does the same for every org the App is installed on that night.
 * An invocation Scheduler could not deliver (after its retries) lands in an encrypted dead-letter queue,
 * which has an alarm.
 */
export class OrgSchedules extends Construct {
  readonly deadLetterQueue: Queue;
  readonly schedules: Schedule[];

  constructor(scope: Construct, id: string, props: OrgSchedulesProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, "DeadLetters", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason:
        "This queue is itself the dead-letter queue of the sweep schedules (EventBridge Scheduler's DeadLetterConfig, which cdk-nag does not recognise as a redrive policy); an alarm fires as soon as it holds a message.",
    });

    // Goes with the stack: its generated name would block a later redeploy if it stayed behind.
    const group = new ScheduleGroup(this, "Group", { removalPolicy: RemovalPolicy.DESTROY });
    const everyInstallation = props.orgs === EVERY_INSTALLATION;
    if (everyInstallation && !props.fanOut) throw new Error('orgs "*" needs the fan-out Lambda to schedule');
    // What the schedules invoke: the sweep, once per org; or the fan-out, once.
    const invoked = everyInstallation && props.fanOut ? props.fanOut : props.sweep;
    // One role for every schedule, trusted by this schedule group only and allowed exactly two things.
    // Handed to the targets immutable, so LambdaInvoke's broader default grant (the function's versions
    // and aliases too, `<arn>:*`) is not added.
    const role = new Role(this, "InvokeRole", {
      description: everyInstallation
        ? "EventBridge Scheduler: invoke the patrol fan-out, which hands each installed org to the sweep"
        : "EventBridge Scheduler: invoke the patrol sweep for each org",
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        conditions: {
          StringEquals: {
            "aws:SourceAccount": Stack.of(this).account,
            "aws:SourceArn": group.scheduleGroupArn,
          },
        },
      }),
    });
    role.addToPolicy(
      new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [invoked.functionArn] }),
    );
    role.addToPolicy(
      new PolicyStatement({ actions: ["sqs:SendMessage"], resources: [this.deadLetterQueue.queueArn] }),
    );
    const target = (input: Record<string, string>) =>
      new LambdaInvoke(invoked, {
        role: role.withoutPolicyUpdates(),
        input: ScheduleTargetInput.fromObject(input),
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 3,
        maxEventAge: Duration.hours(2),
      });
    const schedule = ScheduleExpression.expression(`cron(${props.cron})`, TimeZone.of(props.timeZone));
    this.schedules =
      props.orgs === EVERY_INSTALLATION
        ? [
            new Schedule(this, "SweepEveryInstallation", {
              description: "patrol: nightly sweep of every org the GitHub App is installed on",
              scheduleGroup: group,
              schedule,
              target: target({}),
            }),
          ]
        : props.orgs.map(
            (org) =>
              new Schedule(this, `Sweep-${org}`, {
                description: `patrol: nightly sweep of ${org}`,
                scheduleGroup: group,
                schedule,
                target: target({ org }),
              }),
          );
  }
}
