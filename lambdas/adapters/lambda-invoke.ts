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
  const client = new LambdaClient({});
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
  } finally {
    client.destroy();
  }
}
