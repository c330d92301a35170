import { type GitHubSim, generateAppKeyPair, startGitHubSim } from "./github-sim";
import { type SlackSim, startSlackSim } from "./slack-sim";

export const SIM_APP_ID = 424242;
export const SLACK_TOKEN = "xoxb-test-token";
export const SLACK_CHANNEL = "C0PATROL";

export interface Loopback {
  github: GitHubSim;
  slack: SlackSim;
  app: { appId: number; privateKeyPem: string };
  /** The environment that points patrol at these simulators, as a user would set it for real services. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * A simulated GitHub (with a GitHub App installed on each org) and Slack on 127.0.0.1, and the
 * environment that points patrol at them. Used by the integration tests, the demo and the benchmark.
 */
export async function startLoopback(options: {
  orgs: string[];
  latencyMs?: number;
  /** Serve GitHub as Enterprise Server does, under e.g. "/api/v3" (`GITHUB_API_URL` then ends with it). */
  githubPathPrefix?: string;
}): Promise<Loopback> {
  const keys = generateAppKeyPair();
  const installations = Object.fromEntries(options.orgs.map((org, i) => [org, 90_000 + i]));
  const github = await startGitHubSim({
    app: { appId: SIM_APP_ID, publicKeyPem: keys.publicKeyPem },
    installations,
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
    ...(options.githubPathPrefix !== undefined ? { pathPrefix: options.githubPathPrefix } : {}),
  });
  const slack = await startSlackSim({ validTokens: [SLACK_TOKEN] });
  return {
    github,
    slack,
    app: { appId: SIM_APP_ID, privateKeyPem: keys.privateKeyPem },
    env: {
      GITHUB_API_URL: github.url,
      GITHUB_APP_ID: String(SIM_APP_ID),
      GITHUB_APP_PRIVATE_KEY: keys.privateKeyPem,
      SLACK_API_URL: slack.url,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_CHANNEL,
      // The tests of what a sweep revokes choose enforce mode, as a deployment must: report is the default.
      PATROL_MODE: "enforce",
    },
    async close() {
      await Promise.all([github.close(), slack.close()]);
    },
  };
}
