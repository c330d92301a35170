import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

export class SecretError extends Error {
  override name = "SecretError";
}

/** A secret is read once per process (a Lambda's cold start) and kept: a year is "for the process's life". */
const FOR_THE_PROCESS_S = 365 * 24 * 3600;

/**
 * Secrets Manager through Powertools Parameters, which caches each value. `AWS_ENDPOINT_URL_SECRETS_MANAGER`
 * points the SDK client at a simulator in tests.
 */
const provider = new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient({}) });

/** Reads a secret's string value. Errors name the secret, never its value. */
export async function readSecret(secretId: string): Promise<string> {
  let value: unknown;
  try {
    value = await provider.get(secretId, { maxAge: FOR_THE_PROCESS_S });
  } catch (error) {
    // Powertools wraps the SDK's error; its cause names what went wrong (never the value).
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    throw new SecretError(
      `reading secret ${secretId} failed: ${cause instanceof Error ? cause.name : "Error"}`,
    );
  }
  if (typeof value !== "string") throw new SecretError(`secret ${secretId} has no string value`);
  return value;
}
