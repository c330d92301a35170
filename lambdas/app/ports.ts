import type { KnownBlock, View } from "@slack/types";
import type { SlackMessage } from "../core/digest";
import type { LeakRecord } from "../core/leaked";
import type { ClassicCredential } from "../core/revoke";
import type { CarriedAlert, RevocationOutcome } from "../core/sweep";
import type { EntryWrite, Grant, LedgerEntry, LedgerEvent, PatRequest } from "../core/types";

/**
 * The ports the use cases need, declared here by the layer that uses them; lambdas/adapters/ implements
 * them (GitHub through Octokit, the ledger in DynamoDB, Slack's Web API), and tests pass the same adapters
 * pointed at the loopback simulators.
 */

/** Narrows a listing with GitHub's own filters instead of listing the whole org. */
export interface GrantFilter {
  owners?: readonly string[];
  tokenIds?: readonly number[];
}

export type ClassicListing =
  | { available: true; credentials: ClassicCredential[] }
  | { available: false; reason: string };

/** An organization's fine-grained PAT grants and requests on GitHub: read, revoke, review. */
export interface GrantSource {
  listGrants(org: string, onPage?: (listed: number) => void, filter?: GrantFilter): Promise<Grant[]>;
  /** Classic PATs' SSO authorizations: only on Enterprise Cloud orgs with SAML SSO. */
  listClassicCredentials(org: string, login?: string): Promise<ClassicListing>;
  removeClassicCredential(org: string, credentialId: number): Promise<void>;
  /** Approves or denies a pending request; a denial's reason (≤ 1,024 characters) is shown to the requester. */
  reviewRequest(org: string, requestId: number, action: "approve" | "deny", reason?: string): Promise<void>;
  /** Pending requests; `filter` narrows them with GitHub's own filters (a webhook's one token). */
  listRequests(org: string, filter?: GrantFilter): Promise<PatRequest[]>;
  /** How many repositories a `subset` request names (its listing says only where to find them). */
  requestRepositoryCount(org: string, requestId: number): Promise<number>;
  revokeGrants(org: string, patIds: readonly number[]): Promise<RevocationOutcome[]>;
  /**
   * Revokes leaked token values themselves, everywhere (GitHub's credential revocation API, 1,000 a
   * call): not just their access to the org. The values go to GitHub and nowhere else.
   */
  revokeCredentials(org: string, values: readonly string[]): Promise<void>;
}

/** One installation of the GitHub App on an organization. */
export interface Installation {
  id: number;
  /** The organization's login (`account.login`), as GitHub spells it. */
  org: string;
  /** Suspended by an org owner: its tokens are refused, so there is nothing patrol can do there. */
  suspended: boolean;
}

/** Where the GitHub App is installed, asked as the App itself (its JWT), not as an installation. */
export interface InstallationSource {
  /** Every installation on an organization, every page; installations on user accounts are left out. */
  listInstallations(): Promise<Installation[]>;
}

/** The orgs the last fan-out found the App installed on, and the version a writer must have read. */
export interface RecordedInstallations {
  orgs: string[];
  at: string;
  version: number;
}

/** The fan-out's memory between runs: what it found last time, so that an org that left is noticed. */
export interface InstallationsRecord {
  /** The last run's record (a consistent read), or null before the first run. */
  readInstallations(): Promise<RecordedInstallations | null>;
  /**
   * Replaces the record, conditional on the version read (`null`: there was none). Returns false, writing
   * nothing, when another run wrote it since.
   */
  writeInstallations(
    record: { orgs: readonly string[]; lost: readonly string[]; at: string },
    expectedVersion: number | null,
  ): Promise<boolean>;
}

export interface WriteResult {
  written: LedgerEntry[];
  /** Entries another writer changed since they were read: nothing was written over them. */
  conflicts: { entryId: string; message: string }[];
}

export type { CarriedAlert };

/** A digest recorded before it is posted, so that a run that never learned whether Slack took it can ask. */
export interface PendingDigest {
  /** The run that posted it; the message carries it as its key. */
  runId: string;
  at: string;
  alerts: CarriedAlert[];
}

/** Who holds an org's sweep lease, when another sweep is running. */
export interface LeaseHolder {
  holder: string;
  until: string;
}

/** The ledger: entries and their append-only events, per org. */
export interface Ledger {
  /** Every entry of the org, each checked against the entry schema. */
  load(org: string): Promise<LedgerEntry[]>;
  /** The named entries as they stand now (a consistent read): what a writer re-reads after a conflict. */
  read(org: string, entryIds: readonly string[]): Promise<LedgerEntry[]>;
  /** Each write conditional on the version it was read at; a conflict is reported, never overwritten. */
  write(writes: readonly EntryWrite[]): Promise<WriteResult>;
  history(org: string, entryId: string): Promise<LedgerEvent[]>;
  /** Every event of the org, in entry and version order: the audit trail for an export. */
  events(org: string): Promise<LedgerEvent[]>;
  /**
   * Copies a ledger kept under the org as typed (before logins were canonical) into the org's ledger;
   * what is there already stands. The old items stay, marked as moved.
   */
  moveLegacyCase(org: string): Promise<{ entries: number; events: number; kept: string[] }>;
  /**
   * One sweep of an org at a time: the lease is taken until `until` if it is free, expired, or already
   * `holder`'s. Returns null once held, or who holds it.
   */
  acquireLease(org: string, holder: string, until: Date, now: Date): Promise<LeaseHolder | null>;
  /** Gives the lease back, if `holder` still has it. */
  releaseLease(org: string, holder: string): Promise<void>;
  /** Records the digest about to be posted: the org's one pending digest until it is settled. */
  recordDigest(org: string, digest: PendingDigest): Promise<void>;
  pendingDigest(org: string): Promise<PendingDigest | null>;
  /** The pending digest's fate is known: posted (its alerts are remembered) or never posted. */
  settleDigest(org: string, runId: string, outcome: "posted" | "not-posted"): Promise<void>;
  /** Appends the record of leaked values revoked at GitHub: their hashes, never the values. */
  recordLeaks(org: string, records: readonly LeakRecord[]): Promise<void>;
  /** Every leak recorded for the org, oldest first. */
  leaks(org: string): Promise<LeakRecord[]>;
}

export interface PostOptions {
  /** Marks the message so that `find` can tell whether Slack has it (a digest's run id). */
  key?: string;
}

/** How far back `Notifier.find` looks: a message older than this is taken as never found. */
export const FIND_WINDOW_MS = 86_400_000;

/** Where a message is: enough to thread a file under it or update it. */
export interface PostedMessage {
  channel: string;
  ts: string;
}

/** A file for a message's thread (a cut digest's full list). */
export interface Attachment {
  filename: string;
  title: string;
  content: string;
  comment: string;
}

export interface Notifier {
  post(message: SlackMessage, options?: PostOptions): Promise<PostedMessage>;
  /** The message marked with `key`, if it was posted within `FIND_WINDOW_MS`. */
  find(key: string): Promise<PostedMessage | null>;
  /** Uploads a file into the message's thread. */
  attach(to: PostedMessage, file: Attachment): Promise<void>;
}

/** What a Slack action needs of Slack besides posting: update a message, answer a click, open a modal. */
export interface SlackConsole {
  update(to: PostedMessage, message: SlackMessage): Promise<void>;
  /** A message's blocks as Slack has them now, or null if it is not there. */
  read(at: PostedMessage): Promise<KnownBlock[] | null>;
  /** Answers through a click's `response_url`, ephemerally: only the clicker sees it. */
  respond(responseUrl: string, text: string): Promise<void>;
  openView(triggerId: string, view: View): Promise<void>;
  /** The members of a Slack user group, for `PATROL_APPROVERS`. */
  membersOf(groupId: string): Promise<string[]>;
  /** A direct message to one user. */
  dm(userId: string, message: SlackMessage): Promise<PostedMessage>;
  /** The Slack user with this email, or null. */
  userByEmail(email: string): Promise<string | null>;
}
