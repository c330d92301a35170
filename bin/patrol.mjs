#!/usr/bin/env node
// The `patrol` command: runs the TypeScript CLI through tsx, so no build step stands between `npm ci` and use.
import { register } from "tsx/esm/api";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// `patrol … | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});
register();
const { main } = await import("../lambdas/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
