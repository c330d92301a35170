import { Duration, Stack } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, Metric, Stats, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { EVERY_INSTALLATION } from "../config";
import { METRICS_NAMESPACE, POWERTOOLS_SERVICE } from "./patrol-function";

/** An org without a successful sweep for this long raises its alarm (a nightly sweep plus two hours). */
export const HEARTBEAT_HOURS = 26;

export interface SweepAlarmsProps {
  sweep: IFunction;
  /** The orgs, each with its heartbeat; or `"*"`, every org the App is installed on (see below). */
  orgs: readonly string[] | typeof EVERY_INSTALLATION;
  /** The fan-out Lambda, with `orgs: "*"`. */
  fanOut?: IFunction;
  deadLetterQueue: IQueue;
  topic: ITopic;
}

/**
 * Watching the watcher: a sweep that failed, an org that has not been swept successfully for 26 hours,
 * and a scheduled invocation that never reached the Lambda. With `orgs: "*"`, also a fan-out that failed
 * and an org the GitHub App is no longer installed on. All of them notify the alarm topic.
 */
export class SweepAlarms extends Construct {
  readonly sweepFailed: Alarm;
  /** By org; with `orgs: "*"`, one alarm under `"*"` for every org at once. */
  readonly noSuccessfulSweep: Map<string, Alarm>;
  readonly deadLetters: Alarm;
  /** With `orgs: "*"`: the fan-out failed (an org not handed on, its record not kept, GitHub not listed). */
  readonly fanOutFailed?: Alarm;
  /** With `orgs: "*"`: an org the App was installed on at the last fan-out is no longer listed. */
  readonly installationLost?: Alarm;

  constructor(scope: Construct, id: string, props: SweepAlarmsProps) {
    super(scope, id);
    const prefix = Stack.of(this).stackName;
    const notify = new SnsAction(props.topic);

    // The sweep handler throws when anything failed (after finishing what it could), so Lambda's Errors
    // counts failed sweeps, including the ones that failed before any metric could be published.
    this.sweepFailed = new Alarm(this, "SweepFailed", {
      alarmName: `${prefix}-sweep-failed`,
      alarmDescription:
        "A patrol sweep failed (GitHub, the ledger, Slack or the configuration). The sweep log's `sweep report` line (README, Logs Insights) names the org and the errors.",
      metric: props.sweep.metricErrors({ statistic: Stats.SUM, period: Duration.minutes(5) }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const heartbeat = (dimensionsMap: Record<string, string>) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: "SweepSucceeded",
        dimensionsMap: { service: POWERTOOLS_SERVICE, ...dimensionsMap },
        statistic: Stats.SUM,
        period: Duration.hours(1),
      });
    const heartbeatAlarm = {
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: HEARTBEAT_HOURS,
      datapointsToAlarm: HEARTBEAT_HOURS,
      // No heartbeat is the very thing to catch.
      treatMissingData: TreatMissingData.BREACHING,
    };

    this.noSuccessfulSweep =
      props.orgs === EVERY_INSTALLATION
        ? new Map([
            [
              EVERY_INSTALLATION,
              // The orgs are found at each run, so no alarm can name one at synth. A Metrics Insights query
              // could group the per-org heartbeats, but its alarms evaluate only the last 3 hours, not 26; a
              // SEARCH expression cannot back an alarm at all. So this one watches the heartbeat the sweep
              // also publishes without its org (SweepSucceeded with `service` alone): it catches the night
              // nothing was swept (the schedule, the fan-out or GitHub App gone). One org's gap is caught
              // where it starts: its sweep failed (SweepFailed), it was not handed on (FanOutFailed), or the
              // App left it (InstallationLost).
              new Alarm(this, "NoSuccessfulSweep", {
                alarmName: `${prefix}-no-successful-sweep`,
                alarmDescription: `No successful patrol sweep of any org the GitHub App is installed on for ${HEARTBEAT_HOURS} hours: the schedule or the fan-out did not run, or every sweep since failed.`,
                metric: heartbeat({}),
                ...heartbeatAlarm,
              }),
            ],
          ])
        : new Map(
            props.orgs.map((org) => [
              org,
              new Alarm(this, `NoSuccessfulSweep-${org}`, {
                alarmName: `${prefix}-no-successful-sweep-${org}`,
                alarmDescription: `No successful patrol sweep of ${org} for ${HEARTBEAT_HOURS} hours: its schedule did not run, or every sweep since failed.`,
                // The heartbeat: the handler publishes SweepSucceeded=1 (EMF, through Powertools, whose
                // metrics always carry the `service` dimension beside `org`) after a sweep without errors.
                metric: heartbeat({ org }),
                ...heartbeatAlarm,
              }),
            ]),
          );

    if (props.orgs === EVERY_INSTALLATION) {
      if (!props.fanOut) throw new Error('orgs "*" needs the fan-out Lambda to watch');
      // The fan-out throws at the end when an org could not be handed on or its record not kept, and
      // fails at once when GitHub would not list the installations.
      this.fanOutFailed = new Alarm(this, "FanOutFailed", {
        alarmName: `${prefix}-fan-out-failed`,
        alarmDescription:
          "The patrol fan-out failed: it could not list the GitHub App's installations, hand an org to the sweep, or keep its record of the installations. The fan-out log's `fan-out report` line names the orgs and the errors.",
        metric: props.fanOut.metricErrors({ statistic: Stats.SUM, period: Duration.minutes(5) }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      // Published by every fan-out that compared its listing with the last one's record.
      this.installationLost = new Alarm(this, "InstallationLost", {
        alarmName: `${prefix}-installation-lost`,
        alarmDescription:
          "An org the GitHub App was installed on at the last fan-out is no longer listed (uninstalled, suspended or renamed): patrol no longer sweeps it. The fan-out log names it (`disappeared`).",
        metric: new Metric({
          namespace: METRICS_NAMESPACE,
          metricName: "InstallationsLost",
          dimensionsMap: { service: POWERTOOLS_SERVICE },
          statistic: Stats.MAXIMUM,
          period: Duration.minutes(5),
        }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }

    this.deadLetters = new Alarm(this, "DeadLetters", {
      alarmName: `${prefix}-sweep-dead-letters`,
      alarmDescription:
        props.orgs === EVERY_INSTALLATION
          ? "EventBridge Scheduler could not invoke the fan-out Lambda (after its retries): no org was swept that night; the dead-letter queue holds the undelivered event."
          : "EventBridge Scheduler could not invoke the sweep Lambda (after its retries); the dead-letter queue holds the undelivered event, which names the org.",
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: Stats.MAXIMUM,
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    for (const alarm of [
      this.sweepFailed,
      ...this.noSuccessfulSweep.values(),
      this.deadLetters,
      ...(this.fanOutFailed ? [this.fanOutFailed] : []),
      ...(this.installationLost ? [this.installationLost] : []),
    ]) {
      alarm.addAlarmAction(notify);
    }
  }
}
