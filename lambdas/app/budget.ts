/**
 * A run's time. Every outside call a run makes is bounded twice: by its own timeout (one try of one call)
 * and by the run's budget (every try, every retry wait, every rate-limit wait). When the budget ends, or
 * the run returns, its signal aborts whatever is still in flight and refuses whatever would start, so a
 * failed run writes nothing after it returned and the Lambda's own timeout never ends a sweep.
 */

import { setMaxListeners } from "node:events";

/** Why the run stopped; the first reason given is the one kept. */
export class OutOfTimeError extends Error {
  override name = "OutOfTimeError";
}

/** How an aborted call fails: an `AbortError`, which Octokit's and the SDKs' retries never retry. */
function abortError(reason: string): DOMException {
  return new DOMException(reason, "AbortError");
}

export interface BudgetOptions {
  /** Epoch ms by which the run must have returned. */
  deadline: number;
  /**
   * Time kept back at the end for recording what the run did (outcomes, sent alerts): the run's work
   * (listing, revoking, posting) must be done `reserveMs` before the deadline.
   */
  reserveMs?: number;
  clock?: () => number;
  /** The budget this one is carved out of: it ends when that one does. */
  parent?: Budget;
}

export class Budget {
  readonly deadline: number;
  readonly #clock: () => number;
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  #stopped: string | undefined;
  #work: Budget | undefined;
  readonly #reserveMs: number;

  constructor(options: BudgetOptions) {
    this.#clock = options.clock ?? Date.now;
    this.deadline = Math.min(options.deadline, options.parent?.deadline ?? Number.POSITIVE_INFINITY);
    this.#reserveMs = options.reserveMs ?? 0;
    // Every call of the run listens to its signal (sixteen ledger writes at once, a page ahead, …).
    setMaxListeners(0, this.#controller.signal);
    const parent = options.parent;
    if (parent) {
      if (parent.stopped) this.stop(parent.stopped);
      else
        parent.signal.addEventListener("abort", () => this.stop(parent.stopped ?? "stopped"), { once: true });
    }
    const ms = this.deadline - this.#clock();
    this.#timer = setTimeout(
      () => this.stop(`out of time: the run's budget ended at ${new Date(this.deadline).toISOString()}`),
      Math.max(0, Math.min(ms, 2 ** 31 - 1)),
    );
    this.#timer.unref?.();
  }

  /** A budget of `ms` from now. */
  static of(ms: number, options: Omit<BudgetOptions, "deadline"> = {}): Budget {
    const clock = options.clock ?? Date.now;
    return new Budget({ ...options, clock, deadline: clock() + ms });
  }

  /** The part of this budget the run's work may spend: it ends `reserveMs` before the deadline. */
  get work(): Budget {
    this.#work ??=
      this.#reserveMs > 0
        ? new Budget({ deadline: this.deadline - this.#reserveMs, clock: this.#clock, parent: this })
        : this;
    return this.#work;
  }

  /** Aborted when the budget ends or the run stops. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Why the run stopped, once it has. */
  get stopped(): string | undefined {
    return this.#stopped;
  }

  remaining(): number {
    return Math.max(0, this.deadline - this.#clock());
  }

  /** Whether waiting `ms` (a retry-after, a rate-limit reset) still ends inside the budget. */
  fits(ms: number): boolean {
    return this.#stopped === undefined && this.#clock() + ms < this.deadline;
  }

  /** Ends the budget now: calls in flight are aborted, calls not yet made are refused. */
  stop(reason: string): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = reason;
    clearTimeout(this.#timer);
    this.#controller.abort(abortError(reason));
  }

  /** The run returned: nothing it started may go on. */
  end(): void {
    this.stop("the run ended");
  }

  /** Throws when the budget has ended: a step that cannot start says so instead of starting. */
  check(what: string): void {
    if (this.#stopped !== undefined) throw new OutOfTimeError(`${what} not started: ${this.#stopped}`);
  }

  /** Settles with `work`, or rejects as soon as the budget ends (whatever `work` is still waiting on). */
  race<T>(work: Promise<T>): Promise<T> {
    const signal = this.signal;
    if (signal.aborted) {
      work.catch(() => {});
      return Promise.reject(signal.reason);
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      work.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
  }

  /** Waits `ms`, or rejects when the budget ends first. */
  sleep(ms: number): Promise<void> {
    return this.race(
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
      }),
    );
  }

  /** The signal for one try of one call: its own timeout, cut short by the end of the budget. */
  trySignal(timeoutMs: number): AbortSignal {
    return AbortSignal.any([
      this.signal,
      AbortSignal.timeout(Math.max(1, Math.min(timeoutMs, this.remaining()))),
    ]);
  }

  /**
   * `fetch` with every try bounded: a try that outlives `timeoutMs` fails with a `TimeoutError` (which
   * the clients' retries may try again, within the budget); once the budget has ended, a try is refused
   * before anything reaches the wire.
   */
  fetch(timeoutMs: number, base: typeof fetch = fetch): typeof fetch {
    return (input, init) => {
      if (this.signal.aborted) return Promise.reject(this.signal.reason);
      const signals = [this.trySignal(timeoutMs), ...(init?.signal ? [init.signal] : [])];
      return base(input, { ...init, signal: AbortSignal.any(signals) });
    };
  }
}

/** A budget for code that has none (a test, a one-off call): a day, which no call here comes near. */
export function unbounded(): Budget {
  return Budget.of(86_400_000);
}

/**
 * How an invocation's time is split (sized in infra/sizing.ts): the handler returns `RETURN_MARGIN_MS`
 * before Lambda would end it (metrics published, report returned), and the run's work stops
 * `RECORD_RESERVE_MS` before that, leaving the time to write down what it did.
 */
export const RETURN_MARGIN_MS = 5_000;
export const RECORD_RESERVE_MS = 60_000;
/** An invocation without a Lambda context (called directly): Lambda's longest, 15 minutes. */
export const DEFAULT_INVOCATION_MS = 15 * 60_000;

/** A run of `totalMs`, its work ending early enough to record what it did (a third of a short run). */
export function runBudget(totalMs: number, clock: () => number = Date.now): Budget {
  const total = Math.max(0, totalMs);
  return Budget.of(total, { clock, reserveMs: Math.min(RECORD_RESERVE_MS, Math.floor(total / 3)) });
}

/** The budget of an invocation with `remainingMs` left (Lambda's `context.getRemainingTimeInMillis()`). */
export function invocationBudget(remainingMs: number, clock: () => number = Date.now): Budget {
  return runBudget(remainingMs - RETURN_MARGIN_MS, clock);
}
