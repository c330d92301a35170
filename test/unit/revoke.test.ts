import { describe, expect, it } from "vitest";
import { describeSelector, InvalidRevokeError, parseRevokeRequest } from "../../lambdas/core/revoke";

const base = { org: "acme", reason: "leaked in a gist", requestedBy: "alice" };

describe("parseRevokeRequest", () => {
  it.each([
    [{ patIds: [1, 2] }, "grant ids 1, 2"],
    [{ tokenIds: [7] }, "token ids 7"],
    [{ owner: "amy" }, "every token of amy"],
    [{ tokenName: "deploy" }, 'token "deploy"'],
    [{ tokenName: "deploy", owner: "amy" }, 'token "deploy" of amy'],
    [{ all: true, confirm: "acme" }, "every token in the organization"],
  ])("accepts the selector %j", (selector, described) => {
    const request = parseRevokeRequest({ ...base, selector });

    expect(request).toEqual({ ...base, selector, dryRun: false });
    expect(describeSelector(request.selector)).toBe(described);
  });

  it("trims text, keeps dryRun, and leaves an absent owner out of a tokenName selector", () => {
    const request = parseRevokeRequest({
      org: "acme",
      selector: { tokenName: " deploy ", owner: " amy " },
      reason: "  leaked  ",
      requestedBy: " alice ",
      dryRun: true,
    });

    expect(request).toEqual({
      org: "acme",
      selector: { tokenName: "deploy", owner: "amy" },
      reason: "leaked",
      requestedBy: "alice",
      dryRun: true,
    });
    expect(Object.keys(parseRevokeRequest({ ...base, selector: { tokenName: "x" } }).selector)).toEqual([
      "tokenName",
    ]);
  });

  it.each<[string, unknown, RegExp]>([
    [
      "no requestedBy",
      { ...base, requestedBy: undefined, selector: { owner: "amy" } },
      /requestedBy: expected who asks/,
    ],
    ["a blank reason", { ...base, reason: " ", selector: { owner: "amy" } }, /reason: expected why/],
    [
      "a bad org",
      { ...base, org: "-acme", selector: { owner: "amy" } },
      /\borg: expected a GitHub organization login/,
    ],
    [
      "a non-boolean dryRun",
      { ...base, dryRun: 1, selector: { owner: "amy" } },
      /dryRun: expected true or false/,
    ],
    ["no selector", base, /selector: expected an object: exactly one of/],
    ["a string selector", { ...base, selector: "amy" }, /selector: expected an object/],
    [
      "an empty selector",
      { ...base, selector: {} },
      /selector: expected exactly one of .*; got an empty object/,
    ],
    [
      "an unknown selector",
      { ...base, selector: { login: "amy" } },
      /selector: expected exactly one of .*; got login/,
    ],
    [
      "string grant ids",
      { ...base, selector: { patIds: ["1"] } },
      /selector\.patIds(\.0)?: expected grant ids as positive whole numbers/,
    ],
    [
      "no grant ids",
      { ...base, selector: { patIds: [] } },
      /selector\.patIds: expected at least one grant id/,
    ],
    ["a grant id of 0", { ...base, selector: { patIds: [0] } }, /selector\.patIds\b/],
    ["a fractional token id", { ...base, selector: { tokenIds: [1.5] } }, /selector\.tokenIds\b/],
    [
      "token ids not an array",
      { ...base, selector: { tokenIds: 5 } },
      /selector\.tokenIds: expected an array of token ids/,
    ],
    ["a bad owner", { ...base, selector: { owner: "a b" } }, /selector\.owner: expected a GitHub login/],
    [
      "an empty token name",
      { ...base, selector: { tokenName: "  " } },
      /selector\.tokenName: expected a token name/,
    ],
    [
      "two selectors",
      { ...base, selector: { patIds: [1], owner: "amy" } },
      /selector: Unrecognized key: "owner"/,
    ],
    ["all without confirm", { ...base, selector: { all: true } }, /selector\.confirm: expected "confirm"/],
    [
      "all with a wrong confirm",
      { ...base, selector: { all: true, confirm: "other" } },
      /selector\.confirm: .*"acme"/,
    ],
    ["all: false", { ...base, selector: { all: false, confirm: "acme" } }, /selector\.all: expected true/],
    [
      "an unknown field",
      { ...base, selector: { owner: "amy" }, selectors: {} },
      /Unrecognized key: "selectors"/,
    ],
  ])("refuses %s, naming the field", (_, event, message) => {
    expect(() => parseRevokeRequest(event)).toThrow(InvalidRevokeError);
    expect(() => parseRevokeRequest(event)).toThrow(message);
  });
});
