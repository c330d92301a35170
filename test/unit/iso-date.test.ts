import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoMs } from "../../lambdas/core/sweep";

/** `isoMs` reads `toISOString()`'s form digit by digit: it must read every string exactly as `Date.parse`. */
describe("isoMs", () => {
  it.each([
    // The form the adapters write, read digit by digit.
    "2026-11-22T03:00:00.000Z",
    "2026-06-15T12:34:56.789Z",
    "1970-01-01T00:00:00.000Z",
    "1969-12-31T23:59:59.999Z",
    "9999-12-31T23:59:59.999Z",
    "0100-01-01T00:00:00.000Z",
    // Leap days, and days past the end of their month (both carry into the next month).
    "2024-02-29T00:00:00.000Z",
    "2000-02-29T12:00:00.000Z",
    "2026-02-29T00:00:00.000Z",
    "1900-02-29T00:00:00.000Z",
    "2026-02-30T00:00:00.000Z",
    "2026-04-31T00:00:00.000Z",
    "2026-12-31T23:59:59.999Z",
    // Out of the everyday range: left to Date.parse.
    "2026-01-01T24:00:00.000Z",
    "2026-01-01T24:00:01.000Z",
    "2026-01-01T25:00:00.000Z",
    "2026-01-01T23:60:00.000Z",
    "2026-01-01T23:59:60.000Z",
    "2026-13-01T00:00:00.000Z",
    "2026-00-01T00:00:00.000Z",
    "2026-01-00T00:00:00.000Z",
    "2026-01-32T00:00:00.000Z",
    "0099-01-01T00:00:00.000Z",
    "0000-01-01T00:00:00.000Z",
    // Other forms: fewer or more fractional digits, offsets, date only.
    "2026-11-22T03:00:00Z",
    "2026-11-22T03:00:00.5Z",
    "2026-11-22T03:00:00.123456Z",
    "2026-11-22T03:00:00.000+02:00",
    "2026-11-22T03:00:00.000-05:30",
    "2026-11-22",
    "2026-11-22T03:00",
    "+002026-11-22T03:00:00.000Z",
    // Garbage, some of it shaped like the fast form.
    "",
    "garbage",
    "2026-1a-22T03:00:00.000Z",
    "2026-11-22T03:0 :00.000Z",
    "2026-11-22T03:00:00.00xZ",
    " 026-11-22T03:00:00.000Z",
    "-026-11-22T03:00:00.000Z",
    "2026-11-22T03:00:00,000Z",
    "2026/11/22T03:00:00.000Z",
    "2026-11-22t03:00:00.000z",
  ])("reads %j as Date.parse does", (value) => {
    expect(isoMs(value)).toBe(Date.parse(value));
  });

  it("reads every date toISOString writes as Date.parse does", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("0100-01-01T00:00:00Z"),
          max: new Date("9999-12-31T23:59:59.999Z"),
          noInvalidDate: true,
        }),
        (date) => {
          const iso = date.toISOString();
          expect(isoMs(iso)).toBe(Date.parse(iso));
          expect(isoMs(iso)).toBe(date.getTime());
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("reads any string of the fast form's shape as Date.parse does", () => {
    // Each position holds a digit, or now and then any character: digits out of range and stray characters.
    const char = fc.oneof(
      { arbitrary: fc.constantFrom(..."0123456789"), weight: 20 },
      { arbitrary: fc.constantFrom(..."9:-.TZ +/a"), weight: 1 },
    );
    const digits = (n: number) => fc.array(char, { minLength: n, maxLength: n }).map((cs) => cs.join(""));
    const shaped = fc
      .tuple(digits(4), digits(2), digits(2), digits(2), digits(2), digits(2), digits(3))
      .map(([y, mo, d, h, mi, s, ms]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
    fc.assert(
      fc.property(shaped, (value) => {
        expect(isoMs(value)).toBe(Date.parse(value));
      }),
      { numRuns: 20_000 },
    );
  });
});
