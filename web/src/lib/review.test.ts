import { describe, expect, it } from "vitest";

import { matchesQuality, reviewKey, withReview } from "./review";

const out = (over: Record<string, unknown> = {}) => ({
  id: "o1",
  status: "succeeded" as const,
  image_url: "/x.png",
  review: "unreviewed" as const,
  flags: [] as { flag: "near_identical" | "label_unsafe"; label: string; detail: string }[],
  ...over,
});

describe("review keys", () => {
  it("maps a, r/x and u/0", () => {
    expect(reviewKey("a")).toBe("accepted");
    expect(reviewKey("R")).toBe("rejected");
    expect(reviewKey("x")).toBe("rejected");
    expect(reviewKey("u")).toBe("unreviewed");
    expect(reviewKey("0")).toBe("unreviewed");
    expect(reviewKey("ArrowLeft")).toBeNull();
  });
});

describe("quality filter", () => {
  const flagged = out({
    flags: [{ flag: "label_unsafe", label: "Layout moved", detail: "moved" }],
  });
  it("keeps flags and review states", () => {
    expect(matchesQuality(flagged, "flagged")).toBe(true);
    expect(matchesQuality(flagged, "label_unsafe")).toBe(true);
    expect(matchesQuality(flagged, "near_identical")).toBe(false);
    expect(matchesQuality(out(), "flagged")).toBe(false);
    expect(matchesQuality(out({ review: "rejected" }), "rejected")).toBe(true);
    expect(matchesQuality(out(), "accepted")).toBe(false);
    expect(matchesQuality(out({ status: "failed", image_url: null }), "unreviewed")).toBe(false);
    expect(matchesQuality(out({ status: "failed", image_url: null }), "all")).toBe(true);
  });
});

describe("optimistic review", () => {
  it("marks only reviewable outputs of the set", () => {
    const items = [out(), out({ id: "o2" }), out({ id: "o3", status: "failed", image_url: null })];
    const next = withReview(items, new Set(["o1", "o3"]), "accepted");
    expect(next.map((o) => o.review)).toEqual(["accepted", "unreviewed", "unreviewed"]);
    expect(next[1]).toBe(items[1]);
  });
});
