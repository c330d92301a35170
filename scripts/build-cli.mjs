#!/usr/bin/env node
// Builds the `patrol` CLI once with esbuild, as the Lambdas are built, so that a command starts without a
// TypeScript loader and without resolving hundreds of package files: our code and its packages are
// bundled, split where the CLI imports a use case or an adapter lazily. dynalite (the embedded ledger) and
// its LevelDB binding stay in node_modules: they load native code and their own files. `npm ci` runs it
// (the `prepare` script); bin/patrol.mjs falls back to running the sources through tsx when the build is
// missing or older than them.
import { rm } from "node:fs/promises";
import { build } from "esbuild";

// Chunks are named by content: without a clean directory, each build would leave the last one's behind.
await rm("dist/cli", { recursive: true, force: true });

await build({
  entryPoints: { main: "lambdas/cli/main.ts" },
  outdir: "dist/cli",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  external: ["dynalite", "classic-level", "level", "leveldown"],
  mainFields: ["module", "main"],
  // CommonJS packages in an ESM bundle still call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __patrolRequire } from 'node:module'; const require = __patrolRequire(import.meta.url);",
  },
  sourcemap: true,
  sourcesContent: false,
  logLevel: "warning",
});
