import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { buildPatrolApp } from "../../infra/patrol-app";
import type { PatrolStack } from "../../infra/patrol-stack";

/** `cdk.json`'s context (feature flags and the example configuration), as `cdk synth` reads it. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL("../../cdk.json", import.meta.url), "utf8"),
).context;

export interface Synthesized {
  app: App;
  stack: PatrolStack;
  assembly: CloudAssembly;
  template: Template;
  /** The template as plain JSON, for searching it whole. */
  json: Record<string, unknown>;
  outdir: string;
  dispose(): void;
}

/**
 * Synthesizes the app exactly as `cdk synth` does (same builder, cdk-nag included), with `cdk.json`'s
 * context plus `context`, into a temporary directory. Bundling the Lambdas takes seconds, so only the
 * tests that need the bundles ask for it; the others skip it (CDK's own `bundling-stacks` switch).
 */
export function synthPatrol(
  context: Record<string, unknown>,
  options: { bundle?: boolean } = {},
): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), "patrol-cdk-"));
  const app = new App({
    outdir,
    context: {
      ...CDK_JSON_CONTEXT,
      ...context,
      ...(options.bundle ? {} : { "aws:cdk:bundling-stacks": [] }),
    },
  });
  const stack = buildPatrolApp(app);
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const json = JSON.parse(readFileSync(artifact.templateFullPath, "utf8")) as Record<string, unknown>;
  return {
    app,
    stack,
    assembly,
    template: Template.fromJSON(json),
    json,
    outdir,
    dispose: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
