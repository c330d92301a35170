import * as z from "zod";

/** A GitHub login (user or organization): 1–39 letters, digits and single hyphens, no hyphen at either end. */
export const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

export const LoginSchema = z
  .string({ message: "expected a GitHub login as a string" })
  .trim()
  .regex(GITHUB_LOGIN, "expected a GitHub login");

export const OrgSchema = z
  .string({ message: "expected the organization's login as a string" })
  .regex(GITHUB_LOGIN, "expected a GitHub organization login");
