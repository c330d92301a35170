import { type CliIo, main } from "../../lambdas/cli/main";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `patrol …` in-process with the given environment, capturing what it prints. */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env },
    interactive: false,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
