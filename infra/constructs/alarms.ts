import { Duration, Stack } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, Metric, Stats, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE, POWERTOOLS_SERVICE } from "./patrol-function";

/** An org without a successful sweep for this long raises its alarm (a nightly sweep plus two hours). */
export const HEARTBEAT_HOURS = 26;

export interface SweepAlarmsProps {
  sweep: IFunction;
  orgs: readonly string[];
  deadLetterQueue: IQueue;
  topic: ITopic;
}

/**
 * Watching the watcher: a sweep that failed, an org that has not been swept successfully for 26 hours,
 * and a scheduled invocation that never reached the Lambda. All three notify the alarm topic.
 */
export class SweepAlarms extends Construct {
  readonly sweepFailed: Alarm;
  readonly noSuccessfulSweep: Map<string, Alarm>;
  readonly deadLetters: Alarm;

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

    this.noSuccessfulSweep = new Map(
      props.orgs.map((org) => [
        org,
        new Alarm(this, `NoSuccessfulSweep-${org}`, {
          alarmName: `${prefix}-no-successful-sweep-${org}`,
          alarmDescription: `No successful patrol sweep of ${org} for ${HEARTBEAT_HOURS} hours: its schedule did not run, or every sweep since failed.`,
          // The heartbeat: the handler publishes SweepSucceeded=1 (EMF, through Powertools, whose metrics
          // always carry the `service` dimension beside `org`) after a sweep without errors.
          metric: new Metric({
            namespace: METRICS_NAMESPACE,
            metricName: "SweepSucceeded",
            dimensionsMap: { service: POWERTOOLS_SERVICE, org },
            statistic: Stats.SUM,
            period: Duration.hours(1),
          }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: HEARTBEAT_HOURS,
          datapointsToAlarm: HEARTBEAT_HOURS,
          // No heartbeat is the very thing to catch.
          treatMissingData: TreatMissingData.BREACHING,
        }),
      ]),
    );

    this.deadLetters = new Alarm(this, "DeadLetters", {
      alarmName: `${prefix}-sweep-dead-letters`,
      alarmDescription:
        "EventBridge Scheduler could not invoke the sweep Lambda (after its retries); the dead-letter queue holds the undelivered event, which names the org.",
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: Stats.MAXIMUM,
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    for (const alarm of [this.sweepFailed, ...this.noSuccessfulSweep.values(), this.deadLetters]) {
      alarm.addAlarmAction(notify);
    }
  }
}
