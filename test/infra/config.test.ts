import { describe, expect, it } from "vitest";
import {
  type PatrolConfig,
  parsePatrolContext,
  policyJson,
  refuseUnknownContextKeys,
  unknownContextKeys,
} from "../../infra/config";
import { parsePolicyJson } from "../../lambdas/config";
import { OrgSchema } from "../../lambdas/handlers/sweep";
import { CDK_JSON_CONTEXT } from "./synth";

const BASE = { orgs: ["acme"], slackChannel: "C0123456789" };
const parse = (context: Record<string, unknown>): PatrolConfig =>
  parsePatrolContext((key) => ({ ...BASE, ...context })[key]);
const problem = (context: Record<string, unknown>): string => {
  try {
    parse(context);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the context to be refused");
};

describe("the cdk.json context", () => {
  it("refuses a misspelt key, naming the key it was meant to be", () => {
    expect(() => refuseUnknownContextKeys(["org", "slackChannel", "@aws-cdk/core:checkSecretUsage"])).toThrow(
      /org: not a patrol context key; did you mean orgs\?/,
    );
    expect(() => refuseUnknownContextKeys(["orgs", "aws:cdk:bundling-stacks"])).not.toThrow();
  });

  it("refuses cdk.json as it ships: its org and channel are placeholders", () => {
    const read = (key: string) => CDK_JSON_CONTEXT[key];
    expect(() => parsePatrolContext(read)).toThrow(/orgs: "example-org" is cdk.json's placeholder/);
    expect(() => parsePatrolContext(read)).toThrow(/slackChannel: "C0000000000" is cdk.json's placeholder/);
  });

  it("needs only the orgs and the Slack channel; the rest has safe defaults", () => {
    expect(parse({})).toMatchObject({
      orgs: ["acme"],
      schedule: "0 3 * * ? *",
      timeZone: "UTC",
      mode: "report",
      slackChannel: "C0123456789",
      logRetentionDays: 365,
      stackName: "patrol",
    });
  });

  it('takes orgs "*": every org the GitHub App is installed on, however it is typed', () => {
    for (const orgs of ["*", " * ", ["*"], '["*"]']) expect(parse({ orgs }).orgs, String(orgs)).toBe("*");
    // An explicit list is read as before.
    expect(parse({ orgs: ["acme", "Acme-Labs"] }).orgs).toEqual(["acme", "Acme-Labs"]);
  });

  it("takes command-line strings too: -c orgs=a,b, JSON policies, numbers", () => {
    const config = parse({
      orgs: "acme, acme-labs",
      policy: '{"unusedDays": 30}',
      logRetentionDays: "90",
      schedule: "cron(15 1 ? * MON-FRI *)",
      alarmEmail: "",
    });
    expect(config.orgs).toEqual(["acme", "acme-labs"]);
    expect(config.policy?.unusedDays).toBe(30);
    expect(config.logRetentionDays).toBe(90);
    expect(config.schedule).toBe("15 1 ? * MON-FRI *");
    expect(config.alarmEmail).toBeUndefined();
  });

  it.each([
    [{ orgs: undefined }, /orgs: is required/],
    [{ orgs: [] }, /orgs: expected at least one GitHub organization login/],
    [{ orgs: ["acme", "not an org"] }, /orgs\.1: expected a GitHub organization login/],
    [{ orgs: ["acme", "ACME"] }, /orgs: ACME is listed twice/],
    [{ orgs: ["*", "acme"] }, /orgs: "\*" \(every org the GitHub App is installed on\) stands alone/],
    [{ orgs: "acme,*" }, /orgs: "\*" .* stands alone/],
    [{ orgs: ["acme*"] }, /orgs\.0: expected a GitHub organization login/],
    [{ orgs: 42 }, /orgs: expected a list of GitHub organization logins.*or "\*" for every org/],
    [{ slackChannel: "#alerts" }, /slackChannel: expected a Slack channel id/],
    [
      { orgs: ["example-org"] },
      /orgs: "example-org" is cdk.json's placeholder: set your organizations' logins/,
    ],
    [{ slackChannel: "C0000000000" }, /slackChannel: "C0000000000" is cdk.json's placeholder/],
    [{ schedule: "0 3 * * *" }, /schedule: expected an EventBridge Scheduler cron of six fields/],
    [{ schedule: "0 3 * * MON *" }, /schedule: .*"\?" in exactly one of day-of-month and day-of-week/],
    [{ timeZone: "Mars/Olympus" }, /timeZone: expected an IANA time zone name/],
    [{ mode: "yolo" }, /mode: expected "report" or "enforce"/],
    [{ policy: { unusedDays: -1 } }, /policy\.unusedDays: /],
    [{ policy: { revoke: { everything: true } } }, /policy\.revoke: Unrecognized key: "everything"/],
    [{ policy: { mode: "enforce" } }, /policy\.mode: set the top-level context key mode instead/],
    [
      {
        policy: {
          requestRules: [{ name: "typo", decision: "deny", when: { anyPermission: ["contens:write"] } }],
        },
      },
      /policy\.requestRules\.0\.when\.anyPermission\.0: rule typo .*contens:write matches no fine-grained permission \(did you mean contents\?\)/,
    ],
    [{ githubApiUrl: "http://ghe.internal/api/v3" }, /githubApiUrl: expected an https URL/],
    [{ alarmEmail: "secops" }, /alarmEmail: expected an email address/],
    [
      { chatbotSlackWorkspaceId: "T0123456789" },
      /chatbotSlackChannelId: expected chatbotSlackWorkspaceId and/,
    ],
    [
      { githubAppSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:patrol/github-app" },
      /githubAppSecretArn: expected a secret's complete ARN/,
    ],
    [{ logRetentionDays: 42 }, /logRetentionDays: expected one of CloudWatch Logs' retention periods/],
    [{ account: "12345" }, /account: expected a 12-digit AWS account id/],
  ])("refuses %j, naming the key and what was expected", (context, message) => {
    const text = problem(context);
    expect(text).toMatch(/^invalid cdk\.json context:/);
    expect(text).toMatch(message);
  });

  it("lists every problem at once", () => {
    expect(problem({ orgs: [], mode: "x", slackChannel: undefined }).split("\n")).toHaveLength(4);
  });

  it("accepts exactly the org logins the sweep handler accepts", () => {
    const logins = [
      "acme",
      "a",
      "acme-labs",
      "A1-b2-C3",
      "-acme",
      "acme-",
      "ac--me",
      "a_b",
      "x".repeat(39),
      "x".repeat(40),
    ];
    for (const login of logins) {
      const infra = (() => {
        try {
          parse({ orgs: [login] });
          return true;
        } catch {
          return false;
        }
      })();
      expect(infra, login).toBe(OrgSchema.safeParse(login).success);
    }
  });

  it("hands the Lambdas a policy their own parser reads back unchanged, with the mode apart", () => {
    const rules = [
      {
        name: "small-read-only",
        decision: "approve",
        when: { readOnly: true, maxRepositories: 3, reasonGiven: true, expiresWithinDays: 30 },
      },
    ];
    const config = parse({
      mode: "enforce",
      policy: { revoke: { unused: true }, expiryWarningDays: [7, 30], requestRules: rules },
    });
    const json = policyJson(config);
    expect(JSON.parse(json)).not.toHaveProperty("mode");
    const policy = parsePolicyJson(json, config.mode);
    expect(policy).toMatchObject({ mode: "enforce", expiryWarningDays: [7, 30], revoke: { unused: true } });
    expect(policy.requestRules).toEqual(rules);
  });

  it("points out context keys that are neither patrol's nor the CDK's", () => {
    expect(
      unknownContextKeys([
        "orgs",
        "alarmsEmail",
        "@aws-cdk/core:checkSecretUsage",
        "acknowledged-issue-numbers",
      ]),
    ).toEqual(["alarmsEmail"]);
  });
});
