/**
 * A GitHub webhook delivery as patrol reads it: its headers, then (once its signature is verified on the
 * raw body) a `personal_access_token_request` payload parsed into the request event the ledger takes.
 * Only that event is patrol's business; any other is answered and ignored.
 */
import * as z from "zod";
import { headerOf } from "./http";
import { flattenPermissions } from "./ledger/access";
import type { RequestEvent } from "./sweep";
import type { PatRequest } from "./types";

/** GitHub's PAT request payloads are a few KB; anything far larger is refused before it is hashed. */
export const MAX_DELIVERY_BYTES = 256 * 1024;

export const PAT_REQUEST_EVENT = "personal_access_token_request";

export class DeliveryError extends Error {
  override name = "DeliveryError";
}

/** What a signed delivery's headers say: the event, and the delivery's id (the same on a redelivery). */
export interface DeliveryHeaders {
  event: string;
  deliveryId: string;
}

export function readDeliveryHeaders(headers: Record<string, string | undefined>): DeliveryHeaders {
  const event = headerOf(headers, "x-github-event");
  const deliveryId = headerOf(headers, "x-github-delivery");
  if (!event) throw new DeliveryError("no X-GitHub-Event header: is this a GitHub webhook delivery?");
  if (!deliveryId || !/^[\w-]{1,100}$/.test(deliveryId))
    throw new DeliveryError("no X-GitHub-Delivery header (a GUID): is this a GitHub webhook delivery?");
  return { event, deliveryId };
}

const ACTIONS = ["created", "approved", "denied", "cancelled"] as const;

const Permissions = z.record(z.string(), z.record(z.string(), z.string()).optional());

/** The fields patrol reads of the payload (typed in full by `@octokit/openapi-webhooks-types`). */
const PayloadSchema = z.object({
  action: z.string(),
  personal_access_token_request: z.object({
    id: z.number().int().positive(),
    owner: z.object({ login: z.string().min(1) }),
    permissions_result: Permissions,
    repository_selection: z.enum(["none", "all", "subset"]),
    created_at: z.string(),
    token_id: z.number().int().positive(),
    token_name: z.string().min(1),
    token_expired: z.boolean(),
    token_expires_at: z.string().nullable(),
    repository_count: z.number().int().nonnegative().nullable().optional(),
  }),
  organization: z.object({ login: z.string().min(1) }),
  sender: z.object({ login: z.string().min(1) }).optional(),
});

export type ParsedDelivery =
  | { kind: "ignored"; why: string }
  | {
      kind: "request";
      org: string;
      event: RequestEvent;
      sender: string;
      /** For a `subset` selection, how many repositories (the REST listing does not say). */
      repositoryCount: number | null;
    };

function iso(value: string | null): string | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/**
 * A verified delivery's body. Throws `DeliveryError` (a 400) on a body that is not the JSON GitHub sends
 * for the event; other events and actions are `ignored`, answered 2xx as GitHub expects.
 */
export function parseDelivery(event: string, raw: Buffer): ParsedDelivery {
  if (event !== PAT_REQUEST_EVENT) return { kind: "ignored", why: `the ${event} event is not patrol's` };
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new DeliveryError("the body is not JSON");
  }
  const parsed = PayloadSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
    throw new DeliveryError(`not a ${PAT_REQUEST_EVENT} payload: ${problems}`);
  }
  const { action, personal_access_token_request: r, organization, sender } = parsed.data;
  if (!(ACTIONS as readonly string[]).includes(action))
    return { kind: "ignored", why: `the ${action} action is not one patrol acts on` };
  const createdAt = iso(r.created_at);
  if (createdAt === null) throw new DeliveryError("personal_access_token_request.created_at is not a date");
  const request: PatRequest = {
    requestId: r.id,
    tokenId: r.token_id,
    tokenName: r.token_name,
    owner: r.owner.login,
    // The webhook carries no reason: the REST listing has it, and the handler reads it there.
    reason: null,
    repositorySelection: r.repository_selection,
    permissions: flattenPermissions(r.permissions_result),
    createdAt,
    tokenExpired: r.token_expired,
    tokenExpiresAt: iso(r.token_expires_at),
  };
  const by = sender?.login ?? r.owner.login;
  const typed = action as (typeof ACTIONS)[number];
  const requestEvent: RequestEvent =
    typed === "created" ? { action: typed, request } : { action: typed, request, by };
  return {
    kind: "request",
    org: organization.login,
    event: requestEvent,
    sender: by,
    repositoryCount: r.repository_count ?? null,
  };
}
