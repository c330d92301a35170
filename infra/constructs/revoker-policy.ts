import { ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";

/**
 * Who may revoke: a managed policy allowing exactly `lambda:InvokeFunction` on the revoke Lambda, to attach
 * to the incident responders' roles. The function has no resource policy and no trigger, so nothing else
 * in the stack (and nothing outside the account) can invoke it.
 */
export class RevokerPolicy extends Construct {
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: { revoke: IFunction }) {
    super(scope, id);
    this.policy = new ManagedPolicy(this, "Policy", {
      description: "patrol: invoke the revoke Lambda (attach to incident responders' roles)",
      statements: [
        new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [props.revoke.functionArn] }),
      ],
    });
  }
}
