/**
 * API errors as the user should read them. The server answers every failure
 * with `{"error": {"code", "message", "details"}}` whose message already says
 * what to do; this adds the cases the server cannot describe (it is down, the
 * session expired, a proxy answered with HTML).
 */

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** Seconds to wait before trying again, from Retry-After. */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    code: string,
    message: string,
    details?: unknown,
    retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }

  /** Worth trying the same request again later. */
  get transient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

function isErrorBody(value: unknown): value is { error: ApiErrorBody } {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const e = (value as { error: unknown }).error;
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as ApiErrorBody).code === "string" &&
    typeof (e as ApiErrorBody).message === "string"
  );
}

const FALLBACK: Record<number, string> = {
  401: "Your session has ended. Sign in again to continue.",
  403: "This server refused the request. Reload the page and try again.",
  404: "That item no longer exists. It may have been deleted.",
  413: "The upload is larger than the server accepts. Send fewer or smaller files.",
  429: "The server is busy. Wait a moment and try again.",
  502: "The BananaBatch server is not answering behind its proxy. Check that it is running.",
  503: "The server is temporarily unavailable. Try again in a moment.",
  504: "The server took too long to answer. Try again in a moment.",
};

/** Build an ApiError from a status and whatever body came back. */
export function toApiError(
  status: number,
  body: unknown,
  retryAfterHeader?: string | null,
): ApiError {
  const retryAfter = retryAfterHeader ? Number.parseInt(retryAfterHeader, 10) : NaN;
  const wait = Number.isFinite(retryAfter) ? retryAfter : null;
  if (isErrorBody(body)) {
    return new ApiError(status, body.error.code, body.error.message, body.error.details, wait);
  }
  const message =
    FALLBACK[status] ??
    (status >= 500
      ? `The server hit an unexpected error (HTTP ${status}). Try again; if it keeps happening, check the server log.`
      : `The request failed (HTTP ${status}).`);
  return new ApiError(status, `http_${status}`, message, undefined, wait);
}

export const NETWORK_ERROR_MESSAGE =
  "Cannot reach the BananaBatch server. Check that it is running and your network is up.";

export function networkError(): ApiError {
  return new ApiError(0, "network_error", NETWORK_ERROR_MESSAGE);
}

/** One sentence for a toast or an error panel, whatever was thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 429 && err.retryAfter) {
      return `${err.message} (try again in ${err.retryAfter} s)`;
    }
    return err.message;
  }
  if (err instanceof TypeError) return NETWORK_ERROR_MESSAGE;
  if (err instanceof Error && err.message) return err.message;
  return "Something went wrong. Try again.";
}

/** Field-level messages from a 422, keyed by field path (`prompts[0].count`). */
export function fieldErrors(err: unknown): Record<string, string> {
  if (!(err instanceof ApiError) || !Array.isArray(err.details)) return {};
  const out: Record<string, string> = {};
  for (const d of err.details as unknown[]) {
    if (typeof d === "object" && d !== null && "field" in d && "message" in d) {
      const field = String((d as { field: unknown }).field);
      out[field] ??= String((d as { message: unknown }).message);
    }
  }
  return out;
}
