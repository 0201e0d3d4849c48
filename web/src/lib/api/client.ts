/**
 * The typed API client: one function per route the UI calls.
 * Base URL is the page's own origin; the session cookie rides along.
 */
import { API_BASE, downloadPost, ensureOk, send, uploadForm } from "./http";
import type {
  DatasetSummary,
  Estimate,
  ExportParts,
  Health,
  IngestReport,
  JobCreate,
  JobDetail,
  JobList,
  ModelInfo,
  OutputPage,
  PromptPreview,
  RetryOut,
  SessionInfo,
} from "./types";

type Query = Record<string, string | number | boolean | null | undefined>;

function withQuery(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function request<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const url = withQuery(`${API_BASE}${path}`, options.query);
  const init: RequestInit = { method, signal: options.signal };
  if (options.body !== undefined) {
    init.headers = { "content-type": "application/json" };
    init.body = JSON.stringify(options.body);
  }
  const response = await ensureOk(await send(url, init), url);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export interface FileUpload {
  file: Blob;
  relPath: string;
}

export const api = {
  health: (signal?: AbortSignal) => request<Health>("GET", "/health", { signal }),
  session: () => request<SessionInfo>("GET", "/auth/session"),
  login: (password: string) => request<SessionInfo>("POST", "/auth/login", { body: { password } }),
  logout: () => request<unknown>("POST", "/auth/logout"),

  models: () => request<ModelInfo[]>("GET", "/models"),

  createDataset: (name: string) => request<DatasetSummary>("POST", "/datasets", { body: { name } }),
  dataset: (id: string) => request<DatasetSummary>("GET", `/datasets/${encodeURIComponent(id)}`),

  /** Relative paths go both in the part's filename and in an aligned `paths` field. */
  uploadDatasetFiles: (
    datasetId: string,
    files: FileUpload[],
    onProgress: (fraction: number) => void,
    signal?: AbortSignal,
  ) => {
    const form = new FormData();
    for (const f of files) {
      form.append("files", f.file, f.relPath);
      form.append("paths", f.relPath);
    }
    return uploadForm<IngestReport>(
      `${API_BASE}/datasets/${encodeURIComponent(datasetId)}/files`,
      form,
      onProgress,
      signal,
    );
  },
  uploadDatasetZip: (
    datasetId: string,
    file: File,
    onProgress: (fraction: number) => void,
    signal?: AbortSignal,
  ) => {
    const form = new FormData();
    form.append("file", file, file.name);
    return uploadForm<IngestReport>(
      `${API_BASE}/datasets/${encodeURIComponent(datasetId)}/zip`,
      form,
      onProgress,
      signal,
    );
  },
  uploadAssets: (files: File[], onProgress: (fraction: number) => void, signal?: AbortSignal) => {
    const form = new FormData();
    for (const f of files) form.append("files", f, f.name);
    return uploadForm<IngestReport>(`${API_BASE}/assets`, form, onProgress, signal);
  },

  estimate: (req: JobCreate, signal?: AbortSignal) =>
    request<Estimate>("POST", "/jobs/estimate", { body: req, signal }),
  preview: (req: JobCreate, signal?: AbortSignal) =>
    request<PromptPreview[]>("POST", "/jobs/preview", { body: req, signal }),
  createJob: (req: JobCreate) => request<JobDetail>("POST", "/jobs", { body: req }),

  jobs: (query: { status?: string; mode?: string; limit?: number; offset?: number } = {}) =>
    request<JobList>("GET", "/jobs", { query }),
  job: (id: string) => request<JobDetail>("GET", `/jobs/${encodeURIComponent(id)}`),
  cancel: (id: string) => request<JobDetail>("POST", `/jobs/${encodeURIComponent(id)}/cancel`),
  pause: (id: string) => request<JobDetail>("POST", `/jobs/${encodeURIComponent(id)}/pause`),
  resume: (id: string) => request<JobDetail>("POST", `/jobs/${encodeURIComponent(id)}/resume`),
  retryFailed: (id: string, outputIds?: string[]) =>
    request<RetryOut>("POST", `/jobs/${encodeURIComponent(id)}/retry-failed`, {
      body: outputIds ? { output_ids: outputIds } : {},
    }),
  setPriority: (id: string, priority: number) =>
    request<JobDetail>("PATCH", `/jobs/${encodeURIComponent(id)}`, { body: { priority } }),

  outputs: (
    id: string,
    query: { cursor?: string | null; limit?: number; batch_id?: string; status?: string } = {},
    signal?: AbortSignal,
  ) => request<OutputPage>("GET", `/jobs/${encodeURIComponent(id)}/outputs`, { query, signal }),

  exportUrl: (
    id: string,
    query: { batch_id?: string; succeeded_only?: boolean; include_originals?: boolean } = {},
  ) => withQuery(`${API_BASE}/jobs/${encodeURIComponent(id)}/export`, query),
  exportSelection: (id: string, outputIds: string[], fallbackName: string) =>
    downloadPost(
      `${API_BASE}/jobs/${encodeURIComponent(id)}/export`,
      { output_ids: outputIds },
      fallbackName,
    ),
  exportParts: (id: string) =>
    request<ExportParts>("GET", `/jobs/${encodeURIComponent(id)}/export/parts`),
  assetThumbnailUrl: (assetId: string) =>
    `${API_BASE}/assets/${encodeURIComponent(assetId)}/thumbnail`,
  assetImageUrl: (assetId: string) => `${API_BASE}/assets/${encodeURIComponent(assetId)}/image`,
};

/** Every output of a job, following cursors (500 a page). */
export async function allOutputs(
  id: string,
  query: { batch_id?: string; status?: string } = {},
  signal?: AbortSignal,
): Promise<OutputPage["items"]> {
  const items: OutputPage["items"] = [];
  let cursor: string | null = null;
  do {
    const page: OutputPage = await api.outputs(id, { ...query, cursor, limit: 500 }, signal);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}
