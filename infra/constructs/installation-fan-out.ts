import { Duration } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { FAN_OUT_TIMEOUT_MINUTES } from "../sizing";
import type { LedgerTable } from "./ledger-table";
import { PatrolFunction, type PatrolFunctionProps } from "./patrol-function";

export interface InstallationFanOutProps {
  stackName: string;
  /** The sweep Lambda each installed org is handed to, asynchronously, with `{ "org": "<login>" }`. */
  sweep: IFunction;
  ledger: LedgerTable;
  githubAppSecret: ISecret;
  /** `GITHUB_API_URL` (Enterprise Server), when set. */
  githubApiUrl?: string;
  memorySize: number;
  logRetention: PatrolFunctionProps["logRetention"];
}

/**
 * Every org the GitHub App is installed on (`orgs: "*"`): the fan-out Lambda, run by the deployment's one
 * schedule, lists the App's installations as the App and invokes the sweep once per org, asynchronously,
 * so that each org is still its own sweep and its own invocation. Its role may read the GitHub App secret,
 * read and replace its own record of the installations (one partition of the ledger table, nothing of any
 * org's) and invoke exactly the sweep function: not its versions or aliases, nor any other Lambda.
 */
export class InstallationFanOut extends Construct {
  readonly lambda: PatrolFunction;

  constructor(scope: Construct, id: string, props: InstallationFanOutProps) {
    super(scope, id);
    this.lambda = new PatrolFunction(this, "Lambda", {
      handler: "fan-out",
      functionName: `${props.stackName}-fan-out`,
      description:
        "patrol: list the GitHub App's installations and hand each org to the sweep (scheduled nightly)",
      timeout: Duration.minutes(FAN_OUT_TIMEOUT_MINUTES),
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      // Only what lambdas/handlers/fan-out.ts reads: no Slack, no policy (the sweeps apply it).
      environment: {
        PATROL_TABLE: props.ledger.table.tableName,
        GITHUB_APP_SECRET_ARN: props.githubAppSecret.secretArn,
        PATROL_SWEEP_FUNCTION: props.sweep.functionName,
        ...(props.githubApiUrl ? { GITHUB_API_URL: props.githubApiUrl } : {}),
      },
      // A failed fan-out has handed on what it could and raised its alarm; a repeat would sweep every org
      // again, so Lambda does not repeat it: the next night does.
      retryAttempts: 0,
    });
    const fn = this.lambda.function;
    props.githubAppSecret.grantRead(fn);
    props.ledger.grantInstallationsRecord(fn);
    // Exactly the sweep, not its versions and aliases (`grantInvoke` adds `ARN:*`).
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [props.sweep.functionArn] }),
    );
  }
}
