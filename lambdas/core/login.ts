import * as z from "zod";

/** A GitHub login (user or organization): 1–39 letters, digits and single hyphens, no hyphen at either end. */
export const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

export const LoginSchema = z
  .string({ message: "expected a GitHub login as a string" })
  .trim()
  .regex(GITHUB_LOGIN, "expected a GitHub login");

/** An organization's login, as given (displayed so); `canonicalOrg` is the form the ledger keys by. */
export const OrgSchema = z
  .string({ message: "expected the organization's login as a string" })
  .trim()
  .regex(GITHUB_LOGIN, "expected a GitHub organization login");

/**
 * An org login's canonical form: GitHub logins are case-insensitive, so `ACME` and `acme` are one org and
 * one ledger, keyed in lower case.
 */
export function canonicalOrg(org: string): string {
  return org.toLowerCase();
}
