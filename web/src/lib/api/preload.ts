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
 * self-contained): the session, and on a job's page the job, its first outputs and
 * the thumbnails of the first of them.
 */
export function startEarlyRequests(outputPage: number, thumbnails: number): void {
  const early: Record<string, { at: number; answer: Promise<Response> }> = {};
  const ask = (path: string) => {
    const url = new URL(path, window.location.href).href;
    const answer = fetch(url, { credentials: "same-origin" });
    early[url] = { at: Date.now(), answer };
    return answer;
  };
  ask("/api/v1/auth/session");
  const id = new URLSearchParams(window.location.search).get("id");
  if (/^\/jobs\/view\/?$/.test(window.location.pathname) && id && /^[0-9a-f]{32}$/.test(id)) {
    ask(`/api/v1/jobs/${id}`);
    // The first screen's thumbnails too, as soon as the page of outputs names them:
    // the gallery's <img> then finds them in the browser's memory cache.
    ask(`/api/v1/jobs/${id}/outputs?limit=${outputPage}`)
      .then((answer) => (answer.ok ? answer.clone().json() : null))
      .then((page: { items?: { thumbnail_url?: string | null }[] } | null) => {
        for (const output of (page?.items ?? []).slice(0, thumbnails)) {
          if (!output.thumbnail_url) continue;
          const link = document.createElement("link");
          link.rel = "preload";
          link.as = "image";
          link.href = output.thumbnail_url;
          document.head.appendChild(link);
        }
      })
      .catch(() => undefined);
  }
  window.__bbEarly = early;
}

/** Thumbnails fetched ahead: more than a first screen holds at the largest width. */
export const EARLY_THUMBNAILS = 48;

export const EARLY_REQUESTS_SCRIPT = `(${startEarlyRequests.toString()})(${OUTPUT_PAGE}, ${EARLY_THUMBNAILS});`;

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
