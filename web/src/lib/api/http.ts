/**
 * Low-level transport shared by the typed client: same-origin requests with the
 * session cookie, API errors turned into ApiError, 401 announced so the app can
 * send the user to the login page, and XHR uploads with progress.
 */
import { ApiError, networkError, toApiError } from "./errors";

export const API_BASE = "/api/v1";

/** Fired on window when any request answers 401 (the login page listens). */
export const UNAUTHORIZED_EVENT = "bananabatch:unauthorized";

export function announceUnauthorized(path: string): void {
  if (typeof window === "undefined") return;
  if (path.startsWith(`${API_BASE}/auth/`)) return;
  window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT));
}

async function readBody(response: Response): Promise<unknown> {
  const type = response.headers.get("content-type") ?? "";
  if (response.status === 204) return null;
  if (type.includes("json")) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }
  try {
    return await response.text();
  } catch {
    return null;
  }
}

/** Raise ApiError for a non-2xx answer (and announce 401s). */
export async function ensureOk(response: Response, path: string): Promise<Response> {
  if (response.ok) return response;
  const body = await readBody(response);
  if (response.status === 401) announceUnauthorized(path);
  throw toApiError(response.status, body, response.headers.get("retry-after"));
}

/** fetch with network failures mapped to ApiError(0). */
export async function send(input: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(input, { credentials: "same-origin", ...init });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw networkError();
  }
}

/** POST a FormData with upload progress (fetch cannot report it). */
export function uploadForm<T>(
  path: string,
  form: FormData,
  onProgress: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.withCredentials = true;
    xhr.responseType = "text";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = xhr.responseText;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(body as T);
        return;
      }
      if (xhr.status === 401) announceUnauthorized(path);
      reject(toApiError(xhr.status, body, xhr.getResponseHeader("retry-after")));
    };
    xhr.onerror = () => reject(networkError());
    xhr.ontimeout = () => reject(new ApiError(408, "timeout", "The upload timed out. Try again."));
    xhr.onabort = () => reject(new DOMException("Upload aborted", "AbortError"));
    if (signal) {
      if (signal.aborted) {
        reject(new DOMException("Upload aborted", "AbortError"));
        return;
      }
      signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    xhr.send(form);
  });
}

/** Download a POST answer (a ZIP of a selection) as a file. */
export async function downloadPost(
  path: string,
  body: unknown,
  fallbackName: string,
): Promise<void> {
  const response = await ensureOk(
    await send(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    path,
  );
  const disposition = response.headers.get("content-disposition") ?? "";
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match?.[1] ? decodeURIComponent(match[1]) : fallbackName;
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
