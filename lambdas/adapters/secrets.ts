import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

export class SecretError extends Error {
  override name = "SecretError";
}

const client = new SecretsManagerClient({});
const cache = new Map<string, Promise<string>>();

/**
 * Reads a secret once per process (a Lambda's cold start) and keeps it. Errors name the secret, never its
 * value. `AWS_ENDPOINT_URL_SECRETS_MANAGER` points the SDK at a simulator in tests.
 */
export function readSecret(secretId: string): Promise<string> {
  let value = cache.get(secretId);
  if (!value) {
    value = client.send(new GetSecretValueCommand({ SecretId: secretId })).then(
      (out) => {
        if (out.SecretString === undefined) throw new SecretError(`secret ${secretId} has no string value`);
        return out.SecretString;
      },
      (error: unknown) => {
        const name = error instanceof Error ? error.name : "Error";
        throw new SecretError(`reading secret ${secretId} failed: ${name}`);
      },
    );
    cache.set(secretId, value);
    value.catch(() => cache.delete(secretId));
  }
  return value;
}
