import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "../../lambdas/config";

describe("parseEnv: URLs", () => {
  it.each(["ftp://github.example.com", "javascript:alert(1)", "file:///etc/passwd", "github.example.com"])(
    "refuses GITHUB_API_URL %s at start, naming the variable",
    (value) => {
      expect(() => parseEnv({ GITHUB_API_URL: value })).toThrow(ConfigError);
      expect(() => parseEnv({ GITHUB_API_URL: value })).toThrow(/GITHUB_API_URL: expected an http\(s\) URL/);
    },
  );

  it("refuses a SLACK_API_URL that is not http(s)", () => {
    expect(() => parseEnv({ SLACK_API_URL: "ftp://slack.example.com/api/" })).toThrow(/SLACK_API_URL/);
  });

  it.each(["https://ghe.example.com/api/v3", "http://127.0.0.1:8080"])("takes %s", (value) => {
    expect(parseEnv({ GITHUB_API_URL: value }).GITHUB_API_URL).toBe(value);
  });
});
