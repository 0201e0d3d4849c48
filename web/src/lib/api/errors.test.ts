import { describe, expect, it } from "vitest";

import { ApiError, errorMessage, fieldErrors, toApiError, NETWORK_ERROR_MESSAGE } from "./errors";

describe("toApiError", () => {
  it("keeps the server's code, message and details", () => {
    const err = toApiError(409, {
      error: {
        code: "conflict",
        message: "The job already finished.",
        details: { status: "completed" },
      },
    });
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(409);
    expect(err.code).toBe("conflict");
    expect(errorMessage(err)).toBe("The job already finished.");
    expect(err.transient).toBe(false);
  });

  it("explains bodies that are not ours", () => {
    expect(toApiError(502, "<html>Bad gateway</html>").message).toContain("not answering");
    expect(toApiError(500, null).message).toContain("unexpected error (HTTP 500)");
    expect(toApiError(500, null).transient).toBe(true);
    expect(toApiError(418, null).message).toBe("The request failed (HTTP 418).");
  });

  it("adds Retry-After to the message", () => {
    const err = toApiError(
      429,
      { error: { code: "too_many_requests", message: "Slow down." } },
      "12",
    );
    expect(err.retryAfter).toBe(12);
    expect(errorMessage(err)).toBe("Slow down. (try again in 12 s)");
  });

  it("describes network failures and field errors", () => {
    expect(errorMessage(new TypeError("Failed to fetch"))).toBe(NETWORK_ERROR_MESSAGE);
    const err = toApiError(422, {
      error: {
        code: "validation_failed",
        message: "Invalid request",
        details: [{ field: "prompts[0].count", message: "must be at most 1000" }],
      },
    });
    expect(fieldErrors(err)).toEqual({ "prompts[0].count": "must be at most 1000" });
    expect(fieldErrors(new Error("x"))).toEqual({});
  });
});
