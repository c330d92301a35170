#!/usr/bin/env node
// The `patrol` command. It runs the CLI as `npm ci` built it (dist/cli, see scripts/build-cli.mjs); when
// that build is missing or older than the sources (a checkout being worked on), it runs the TypeScript
// sources through tsx instead, so what runs is always what the sources say.
import { readdirSync, statSync } from "node:fs";
import module from "node:module";
import { fileURLToPath } from "node:url";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// Node 22+ keeps the compiled code of the CLI and its packages on disk (in the OS temp directory), so a
// command after the first skips compiling them: an operator runs many in an incident.
module.enableCompileCache?.();
// `patrol … | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const root = fileURLToPath(new URL("..", import.meta.url));
const built = `${root}dist/cli/main.js`;

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function fresh() {
  try {
    return statSync(built).mtimeMs >= newestSource(`${root}lambdas`);
  } catch {
    return false;
  }
}

let main;
if (fresh()) {
  ({ main } = await import(built));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../lambdas/cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
