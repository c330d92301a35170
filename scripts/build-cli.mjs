#!/usr/bin/env node
// Builds the `patrol` CLI once with esbuild, as the Lambdas are built, so that a command starts without a
// TypeScript loader: our code is bundled, split where the CLI imports a use case or an adapter lazily,
// and the packages stay in node_modules. `npm ci` runs it (the `prepare` script); bin/patrol.mjs falls
// back to running the sources through tsx when the build is missing or older than them.
import { build } from "esbuild";

await build({
  entryPoints: { main: "lambdas/cli/main.ts" },
  outdir: "dist/cli",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  packages: "external",
  sourcemap: true,
  sourcesContent: false,
  logLevel: "warning",
});
