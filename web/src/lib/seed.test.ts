import { describe, expect, it } from "vitest";

import { MAX_SEED, parseSeed } from "./seed";

describe("parseSeed", () => {
  it("accepts empty (random) and whole numbers in range", () => {
    expect(parseSeed("")).toBe("random");
    expect(parseSeed("  ")).toBe("random");
    expect(parseSeed("0")).toBe(0);
    expect(parseSeed(" 42 ")).toBe(42);
    expect(parseSeed(String(MAX_SEED))).toBe(MAX_SEED);
  });
  it("rejects anything else", () => {
    expect(parseSeed("-1")).toBeNull();
    expect(parseSeed("1.5")).toBeNull();
    expect(parseSeed("abc")).toBeNull();
    expect(parseSeed(String(MAX_SEED + 1))).toBeNull();
  });
});
