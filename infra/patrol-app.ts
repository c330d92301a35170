import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { parsePatrolContext } from "./config";
import { PatrolStack } from "./patrol-stack";

/**
 * Builds the patrol app from its context: one stack, checked by cdk-nag's AWS Solutions rules. Any
 * unacknowledged finding (error or warning) fails the synth.
 */
export function buildPatrolApp(app: App): PatrolStack {
  const config = parsePatrolContext((key) => app.node.tryGetContext(key));
  const stack = new PatrolStack(app, config.stackName, {
    config,
    description: "patrol: governs the fine-grained personal access tokens of GitHub organizations",
    // Environment-agnostic unless the context pins it: synth needs no AWS credentials and does no lookup.
    ...(config.account || config.region ? { env: { account: config.account, region: config.region } } : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
