/**
 * Secrets as the Lambdas and the CLI read them: from Secrets Manager when an ARN is configured, else the
 * plain value (local runs). The Secrets Manager client is loaded only when a secret is actually read, so a
 * command or a function that needs none never loads it.
 */
export async function readSecret(arn: string): Promise<string> {
  return (await import("../adapters/secrets")).readSecret(arn);
}

/** The secret an ARN names, or the value given instead (e.g. `SLACK_BOT_TOKEN` beside `…_SECRET_ARN`). */
export async function secretOrValue(
  arn: string | undefined,
  value: string | undefined,
): Promise<string | undefined> {
  return arn ? readSecret(arn) : value;
}
