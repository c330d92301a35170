/**
 * The CDK app's entry (`cdk.json`: `npx tsx infra/app.ts`). Configuration comes from `cdk.json` context
 * or `-c key=value`; see README, Deploy.
 */
import { App } from "aws-cdk-lib";
import { ContextError, refuseUnknownContextKeys } from "./config";
import { buildPatrolApp } from "./patrol-app";

const app = new App();
try {
  refuseUnknownContextKeys(Object.keys(app.node.getAllContext()));
  buildPatrolApp(app);
} catch (error) {
  if (!(error instanceof ContextError)) throw error;
  console.error(`patrol: ${error.message}`);
  process.exit(1);
}
