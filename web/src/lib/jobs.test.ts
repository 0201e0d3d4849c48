import { describe, expect, it } from "vitest";

import { jobPollInterval, pendingState } from "@/lib/jobs";
import type { JobDetail } from "@/lib/api/types";

describe("pendingState", () => {
  it("follows the job, so only a running job's outputs read as generating", () => {
    expect(pendingState("queued")).toBe("queued");
    expect(pendingState("paused")).toBe("paused");
    expect(pendingState("running")).toBe("generating");
    expect(pendingState("cancelled")).toBe("cancelling");
  });
});

describe("jobPollInterval", () => {
  const hook = (state: "pending" | "delivered" | "failed") =>
    ({ state }) as JobDetail["webhooks"][number];

  it("polls a running job, and an ended one only while a webhook is being tried", () => {
    expect(jobPollInterval({ status: "running", webhooks: [] })).toBe(1_500);
    expect(jobPollInterval({ status: "completed", webhooks: [] })).toBe(false);
    expect(jobPollInterval({ status: "completed", webhooks: [hook("pending")] })).toBe(3_000);
    expect(
      jobPollInterval({ status: "cancelled", webhooks: [hook("delivered"), hook("failed")] }),
    ).toBe(false);
    expect(jobPollInterval(undefined)).toBe(false);
  });
});
