import { describe, expect, it } from "vitest";

import { pendingState } from "@/lib/jobs";

describe("pendingState", () => {
  it("follows the job, so only a running job's outputs read as generating", () => {
    expect(pendingState("queued")).toBe("queued");
    expect(pendingState("paused")).toBe("paused");
    expect(pendingState("running")).toBe("generating");
    expect(pendingState("cancelled")).toBe("cancelling");
  });
});
