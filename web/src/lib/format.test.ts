import { describe, expect, it } from "vitest";

import {
  formatAge,
  formatBytes,
  formatDuration,
  formatEstimate,
  formatRuns,
  formatUnitPrice,
  formatUsd,
  parseApiDate,
  runCount,
} from "./format";

describe("formatRuns", () => {
  it("shows counts as runs of 4", () => {
    expect(formatRuns(40)).toBe("10 runs of 4");
    expect(formatRuns(4)).toBe("1 run of 4");
    expect(formatRuns(3)).toBe("1 run of 3");
    expect(formatRuns(42)).toBe("11 runs (10 of 4, 1 of 2)");
    expect(formatRuns(0)).toBe("no runs");
    expect(formatRuns(10, 5)).toBe("2 runs of 5");
    expect(runCount(42)).toBe(11);
  });
});

describe("money", () => {
  it("formats totals and unit prices", () => {
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(0.001)).toBe("<$0.01");
    expect(formatUsd(1234.5)).toBe("$1,234.50");
    expect(formatUnitPrice(0.039)).toBe("$0.039");
    expect(formatUnitPrice(0.0195)).toBe("$0.0195");
    expect(formatUnitPrice(0)).toBe("Free");
  });
});

describe("formatEstimate", () => {
  it("describes a paid estimate", () => {
    const d = formatEstimate({
      outputs: 5000,
      tasks: 1250,
      batches: 2,
      price_per_image: 0.039,
      cost_usd: 195,
      provider: "gemini",
    });
    expect(d.outputs).toBe("5,000 images");
    expect(d.tasks).toBe("1,250 tasks");
    expect(d.batches).toBe("2 batches");
    expect(d.cost).toBe("$195.00");
    expect(d.unitPrice).toBe("$0.039 / image");
    expect(d.summary).toBe("5,000 images in 1,250 tasks across 2 batches, estimated cost $195.00.");
  });

  it("says free for the offline classic provider", () => {
    const d = formatEstimate({
      outputs: 1,
      tasks: 1,
      batches: 1,
      price_per_image: 0,
      cost_usd: 0,
      provider: "classic",
    });
    expect(d.outputs).toBe("1 image");
    expect(d.batches).toBe("1 batch");
    expect(d.cost).toBe("Free");
    expect(d.unitPrice).toBe("Free (offline augmentation)");
  });
});

describe("time", () => {
  const now = new Date("2025-01-10T12:00:00Z");
  it("treats naive API timestamps as UTC", () => {
    expect(parseApiDate("2025-01-10T11:00:00")?.toISOString()).toBe("2025-01-10T11:00:00.000Z");
    expect(parseApiDate("2025-01-10T11:00:00+01:00")?.toISOString()).toBe(
      "2025-01-10T10:00:00.000Z",
    );
    expect(parseApiDate("garbage")).toBeNull();
  });
  it("formats ages", () => {
    expect(formatAge("2025-01-10T11:59:50", now)).toBe("just now");
    expect(formatAge("2025-01-10T11:55:00", now)).toBe("5 min ago");
    expect(formatAge("2025-01-10T09:00:00", now)).toBe("3 h ago");
    expect(formatAge("2025-01-09T11:00:00", now)).toBe("yesterday");
    expect(formatAge("2025-01-01T12:00:00", now)).toBe("9 days ago");
    expect(formatAge(null, now)).toBe("—");
  });
  it("formats durations", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(1234)).toBe("1.2 s");
    expect(formatDuration(42_000)).toBe("42 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
    expect(formatDuration(3_840_000)).toBe("1 h 4 min");
    expect(formatDuration(null)).toBe("—");
  });
  it("formats sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(50 * 1024 * 1024)).toBe("50 MB");
  });
});
