import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

/** What a Function URL handler answers: a status, a content type, a body. */
export type Answer = APIGatewayProxyStructuredResultV2;

export function answer(statusCode: number, body = "", json = false): Answer {
  return {
    statusCode,
    headers: { "content-type": json ? "application/json" : "text/plain; charset=utf-8" },
    body,
  };
}

/** The request's body as the bytes that were signed (a Function URL base64-encodes any binary type). */
export function rawBody(event: APIGatewayProxyEventV2): Buffer {
  return Buffer.from(event.body ?? "", event.isBase64Encoded ? "base64" : "utf8");
}
