/**
 * One copy of each repeated string. A large org repeats its owners, permission sets, approvers, statuses
 * and dates thousands of times, and parsed JSON gives every occurrence a string of its own: on a
 * 100,000-token ledger, sharing them halves the memory the entries hold. A pool lives for one listing or
 * one load; the strings stay shared by the objects that keep them.
 */
export class StringPool {
  readonly #strings = new Map<string, string>();
  readonly #values = new Map<string, object>();

  intern<T extends string | null | undefined>(value: T): T {
    if (typeof value !== "string") return value;
    const known = this.#strings.get(value);
    if (known !== undefined) return known as T;
    this.#strings.set(value, value);
    return value;
  }

  /**
   * One copy of each equal small value (an approved permission set, a scope), by its JSON. The value is
   * shared: whoever holds it treats it as read-only, as the ledger's entries are (a change makes a new one).
   */
  share<T extends object | null>(value: T): T {
    if (value === null) return value;
    const key = JSON.stringify(value);
    const known = this.#values.get(key);
    if (known !== undefined) return known as T;
    this.#values.set(key, value);
    return value;
  }

  /** Interns the named string fields of `record` in place. */
  internFields<T extends object>(record: T, fields: readonly (keyof T)[]): T {
    for (const field of fields) {
      const value = record[field];
      if (typeof value === "string") record[field] = this.intern(value) as T[keyof T];
    }
    return record;
  }
}
