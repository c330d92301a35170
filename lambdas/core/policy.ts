import * as z from "zod";
import { RequestRulesSchema } from "./request-rules";

/**
 * The sweep's policy: one schema, safe defaults. Out of the box patrol reports only; in `enforce` mode it
 * revokes flagged, not-needed and expired tokens, and only alerts on the rest.
 */
export const PolicySchema = z
  .object({
    /**
     * `report` (the default everywhere: CLI, Lambda, deployment) only alerts, every revocation held;
     * `enforce`, chosen explicitly, carries revocations out. An on-demand revocation acts in both.
     */
    mode: z.enum(["enforce", "report"]).default("report"),
    /** Days before expiry at which to warn, each alerted once per expiry date. */
    expiryWarningDays: z
      .array(z.number().int().positive())
      .nonempty()
      .default([30, 14, 7, 1])
      .transform((days) => [...new Set(days)].sort((a, b) => a - b)),
    revoke: z
      .object({
        notNeeded: z.boolean().default(true),
        expired: z.boolean().default(true),
        unregistered: z.boolean().default(false),
        unused: z.boolean().default(false),
        noExpiry: z.boolean().default(false),
        overLifetime: z.boolean().default(false),
        permissionDrift: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** With `revoke.unregistered`, how long an unregistered token may live after patrol first saw it. */
    unregisteredGraceDays: z.number().int().nonnegative().default(7),
    /** A token not used (or never used) for this many days is `unused`. */
    unusedDays: z.number().int().positive().default(90),
    /** Longest lifetime allowed, from creation (or grant) to expiry; GitHub's own maximum is 366. */
    maxLifetimeDays: z.number().int().positive().default(366),
    /** A pending request older than this is listed in the digest (once a day). */
    requestWaitHours: z.number().positive().default(24),
    /** Above this many policy-driven revocations in one run, they are held; flagged ones still go. */
    maxRevocationsPerRun: z.number().int().nonnegative().default(25),
    /**
     * A listing that lost more than this share of the live grants the ledger knows (and at least
     * `suspectListingMinimum` of them) is not believed: nothing becomes `gone` and the sweep fails.
     */
    suspectListingShare: z.number().min(0).max(1).default(0.2),
    suspectListingMinimum: z.number().int().positive().default(3),
    /** Approval rules for new requests (lambdas/core/request-rules.ts): none by default, a person decides. */
    requestRules: RequestRulesSchema,
  })
  .strict();

export type Policy = z.output<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;

export const DEFAULT_POLICY: Policy = PolicySchema.parse({});

export function parsePolicy(input: unknown): Policy {
  return PolicySchema.parse(input ?? {});
}
