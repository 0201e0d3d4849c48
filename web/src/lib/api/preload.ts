/**
 * The first API answers a page needs, asked for by a small inline script while the
 * HTML is still being parsed, hundreds of milliseconds before the app's code has
 * loaded and hydrated. The API client takes a matching answer once (GET, same URL)
 * instead of asking again; whatever is not taken within a few seconds is dropped.
 */

/** Outputs per gallery page: the preload and the gallery ask for the same URL. */
export const OUTPUT_PAGE = 500;

/** How long an early answer may wait to be taken (it would be stale after). */
const KEEP_MS = 10_000;

interface Early {
  at: number;
  answer: Promise<Response>;
}

declare global {
  interface Window {
    __bbEarly?: Record<string, Early>;
  }
}

/**
 * Runs in the page before the bundle (serialised with `toString`, so it stays
 * self-contained): the session, and on a job's page the job and its first outputs.
 */
export function startEarlyRequests(outputPage: number): void {
  const early: Record<string, { at: number; answer: Promise<Response> }> = {};
  const ask = (path: string) => {
    const url = new URL(path, window.location.href).href;
    early[url] = { at: Date.now(), answer: fetch(url, { credentials: "same-origin" }) };
  };
  ask("/api/v1/auth/session");
  const id = new URLSearchParams(window.location.search).get("id");
  if (/^\/jobs\/view\/?$/.test(window.location.pathname) && id && /^[0-9a-f]{32}$/.test(id)) {
    ask(`/api/v1/jobs/${id}`);
    ask(`/api/v1/jobs/${id}/outputs?limit=${outputPage}`);
  }
  window.__bbEarly = early;
}

export const EARLY_REQUESTS_SCRIPT = `(${startEarlyRequests.toString()})(${OUTPUT_PAGE});`;

/** The early answer for this request, once; undefined when there is none (or it is old). */
export function takeEarly(
  request: Request,
  now: number = Date.now(),
): Promise<Response> | undefined {
  if (request.method !== "GET" || typeof window === "undefined") return undefined;
  const early = window.__bbEarly?.[request.url];
  if (!early) return undefined;
  delete window.__bbEarly![request.url];
  return now - early.at <= KEEP_MS ? early.answer : undefined;
}
