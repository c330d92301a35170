import { ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { LEDGER_ACTIONS, type LedgerTable } from "./ledger-table";

/**
 * What an operator running the `patrol` CLI against the deployment needs, to attach to their role: the
 * ledger (read and write, the same actions the Lambdas have), the revoke Lambda (`revoke --function`), and
 * the GitHub App's secret (a local `sweep` or `revoke` calls GitHub as the App). The Slack bot token is not
 * included: an operator's commands never post as the bot; the Lambdas do.
 */
export class OperatorsPolicy extends Construct {
  readonly policy: ManagedPolicy;

  constructor(
    scope: Construct,
    id: string,
    props: { ledger: LedgerTable; revoke: IFunction; githubAppSecret: ISecret },
  ) {
    super(scope, id);
    this.policy = new ManagedPolicy(this, "Policy", {
      description:
        "patrol: run the patrol CLI against the deployment (ledger read/write, invoke revoke, read the GitHub App secret)",
      statements: [
        new PolicyStatement({
          actions: [...LEDGER_ACTIONS],
          resources: [props.ledger.table.tableArn],
        }),
        new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [props.revoke.functionArn] }),
        new PolicyStatement({
          actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
          resources: [props.githubAppSecret.secretArn],
        }),
      ],
    });
  }
}
