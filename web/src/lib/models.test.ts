import { describe, expect, it } from "vitest";

import type { ModelInfo } from "@/lib/api/types";

import { lifecycleText, preferredModel, priceAt, priceRange } from "./models";

function model(over: Partial<ModelInfo>): ModelInfo {
  return {
    id: "m",
    display_name: "M",
    provider: "gemini",
    status: "current",
    released: "2026-10-06",
    deprecated: null,
    shutdown: null,
    replacement: null,
    lifecycle_note: "",
    max_reference_images: 14,
    used_reference_images: 14,
    aspect_ratios: ["1:1"],
    image_sizes: ["1K", "4K"],
    default_image_size: "1K",
    price_per_image: { "1K": 0.0336, "4K": 0.1134 },
    batch_price_per_image: { "1K": 0.0168, "4K": 0.0567 },
    price_per_million_tokens: null,
    batch_price_per_million_tokens: null,
    input_image_tokens: null,
    sources: null,
    description: "",
    preview: false,
    known: true,
    default: false,
    available: true,
    ...over,
  };
}

describe("lifecycleText", () => {
  it("says nothing for a current model", () => {
    expect(lifecycleText(model({}))).toBeNull();
  });
  it("names the shutdown date and the replacement", () => {
    expect(
      lifecycleText(
        model({
          status: "shut_down",
          shutdown: "2026-10-29",
          replacement: "gemini-nano-banana-2.1",
        }),
      ),
    ).toBe("Shut down on 2026-10-29 · use gemini-nano-banana-2.1");
  });
  it("words a deprecation with or without an announced shutdown", () => {
    const legacy = model({
      status: "deprecated",
      deprecated: "2026-09-18",
      replacement: "gemini-nano-banana-2.1",
    });
    expect(lifecycleText(legacy)).toBe("Deprecated since 2026-09-18 · use gemini-nano-banana-2.1");
    expect(lifecycleText({ ...legacy, shutdown: "2027-01-15" })).toBe(
      "Deprecated since 2026-09-18, shuts down 2027-01-15 · use gemini-nano-banana-2.1",
    );
  });
});

describe("prices", () => {
  it("shows a range over sizes, one price, or Free", () => {
    expect(priceRange({ "1K": 0.0336, "4K": 0.1134 })).toBe("$0.0336 – $0.1134");
    expect(priceRange({ default: 0.039 })).toBe("$0.039");
    expect(priceRange({ default: 0 })).toBe("Free");
  });
  it("reads the price at a size, the default size, or the only price", () => {
    const prices = { "1K": 0.0336, "4K": 0.1134 };
    expect(priceAt(prices, "4K", "1K")).toBe(0.1134);
    expect(priceAt(prices, "", "1K")).toBe(0.0336);
    expect(priceAt({ default: 0.039 }, "", null)).toBe(0.039);
    expect(priceAt({}, "", null)).toBe(0);
  });
});

describe("preferredModel", () => {
  it("starts on the server's default when it is usable", () => {
    const models = [model({ id: "a" }), model({ id: "b", default: true })];
    expect(preferredModel(models)?.id).toBe("b");
  });
  it("skips shut-down and unavailable models, and prefers current ones", () => {
    const models = [
      model({ id: "gone", status: "shut_down", available: false, default: true }),
      model({ id: "legacy", status: "deprecated" }),
      model({ id: "now" }),
    ];
    expect(preferredModel(models)?.id).toBe("now");
  });
  it("falls back to the first model when none is usable", () => {
    expect(preferredModel([model({ id: "x", available: false })])?.id).toBe("x");
    expect(preferredModel([])).toBeUndefined();
  });
});
