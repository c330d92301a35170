import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";

export class RemoteFunctionError extends Error {
  override name = "RemoteFunctionError";
  constructor(
    message: string,
    /** The error type the function reported, e.g. `InvalidRevokeError`. */
    readonly errorType: string,
  ) {
    super(message);
  }
}

/**
 * Invokes a deployed patrol Lambda synchronously (`patrol revoke --function NAME`) and returns its JSON
 * result. A function error comes back as `RemoteFunctionError` with the function's own message.
 */
export async function invokeFunction(functionName: string, payload: unknown): Promise<unknown> {
  // A function's ARN carries its region; a bare name takes the environment's.
  const region = /^arn:aws[\w-]*:lambda:([a-z0-9-]+):/.exec(functionName)?.[1];
  const client = new LambdaClient(region ? { region } : {});
  try {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "RequestResponse",
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : "null";
    const body = JSON.parse(text) as unknown;
    if (out.FunctionError) {
      const { errorType = "Error", errorMessage = text } = (body ?? {}) as {
        errorType?: string;
        errorMessage?: string;
      };
      throw new RemoteFunctionError(errorMessage, errorType);
    }
    return body;
  } catch (error) {
    // The SDK says only "Region is missing": say where a region comes from.
    if (error instanceof Error && /region is missing/i.test(error.message)) {
      throw new LambdaRegionError(
        `--function ${functionName}: no AWS region to find it in; set AWS_REGION (or AWS_DEFAULT_REGION, or a profile with a region via AWS_PROFILE), or pass the function's full ARN`,
      );
    }
    throw error;
  } finally {
    client.destroy();
  }
}

export class LambdaRegionError extends Error {
  override name = "LambdaRegionError";
}

/**
 * Hands an event to a Lambda asynchronously (InvocationType Event): Lambda queues it and answers 202 at
 * once, so the caller (the Slack endpoint, with 3 s to answer) never waits for the work itself.
 */
export function makeAsyncInvoker(
  functionName: string,
  options: { timeoutMs?: number } = {},
): (payload: unknown) => Promise<void> {
  // One try: Slack gives the endpoint 3 s in all, and the SDK's 3 tries of 1.5 s would not fit in it.
  const client = new LambdaClient({
    maxAttempts: 1,
    requestHandler: { requestTimeout: options.timeoutMs ?? 1_500, throwOnRequestTimeout: true },
  });
  return async (payload) => {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "Event",
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
    if (out.StatusCode !== 202)
      throw new Error(`${functionName} did not take the work (HTTP ${out.StatusCode})`);
  };
}
