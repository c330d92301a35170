/**
 * The CDK app's entry (`cdk.json`: `npx tsx infra/app.ts`). Configuration comes from `cdk.json` context
 * or `-c key=value`; see README, Deploy.
 */
import { App } from "aws-cdk-lib";
import { ContextError, unknownContextKeys } from "./config";
import { buildPatrolApp } from "./patrol-app";

const app = new App();
for (const key of unknownContextKeys(Object.keys(app.node.getAllContext()))) {
  console.warn(`patrol: ignoring unknown context key "${key}" (is it misspelt?)`);
}
try {
  buildPatrolApp(app);
} catch (error) {
  if (!(error instanceof ContextError)) throw error;
  console.error(`patrol: ${error.message}`);
  process.exit(1);
}
