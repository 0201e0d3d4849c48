/**
 * The typed API client: openapi-fetch over the generated schema, wrapped so
 * every call either returns the answer's data or throws an ApiError with a
 * message a user can act on. Base URL is the page's own origin; the session
 * cookie rides along.
 */
import createClient from "openapi-fetch";

import { networkError, toApiError } from "./errors";
import { announceUnauthorized, API_BASE, downloadPost, uploadForm } from "./http";
import { takeEarly } from "./preload";
import type { paths } from "./schema";
import type { IngestReport, JobCreate, ReviewRequest } from "./types";

const client = createClient<paths>({
  baseUrl: "",
  credentials: "same-origin",
  fetch: async (request: Request) => {
    try {
      return await (takeEarly(request) ?? fetch(request));
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw networkError();
    }
  },
});

/** The data of a 2xx answer, or an ApiError built from the error body. */
async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    if (response.status === 401)
      announceUnauthorized(new URL(response.url || "/", "http://x").pathname);
    throw toApiError(response.status, error, response.headers.get("retry-after"));
  }
  return data as T;
}

function withQuery(
  path: string,
  query: Record<string, string | number | boolean | undefined>,
): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export type JobsQuery = NonNullable<paths["/api/v1/jobs"]["get"]["parameters"]["query"]>;
export type OutputsQuery = NonNullable<
  paths["/api/v1/jobs/{job_id}/outputs"]["get"]["parameters"]["query"]
>;

const jobPath = (id: string) => ({ params: { path: { job_id: id } } });
const datasetPath = (id: string) => ({ params: { path: { dataset_id: id } } });

export interface FileUpload {
  file: Blob;
  relPath: string;
}

export const api = {
  health: (signal?: AbortSignal) => unwrap(client.GET("/api/v1/health", { signal })),
  session: () => unwrap(client.GET("/api/v1/auth/session")),
  login: (password: string) => unwrap(client.POST("/api/v1/auth/login", { body: { password } })),
  logout: () => unwrap(client.POST("/api/v1/auth/logout")),

  models: () => unwrap(client.GET("/api/v1/models")),

  createDataset: (name: string) => unwrap(client.POST("/api/v1/datasets", { body: { name } })),
  /** `labels: false` while an upload runs: no reading of label files on every poll. */
  dataset: (id: string, labels = true) =>
    unwrap(
      client.GET("/api/v1/datasets/{dataset_id}", {
        params: { path: { dataset_id: id }, query: { labels } },
      }),
    ),

  datasets: () => unwrap(client.GET("/api/v1/datasets", { params: { query: { limit: 500 } } })),
  datasetUsage: (id: string) =>
    unwrap(client.GET("/api/v1/datasets/{dataset_id}/usage", datasetPath(id))),
  datasetItems: (id: string, cursor?: string | null, limit = 48) =>
    unwrap(
      client.GET("/api/v1/datasets/{dataset_id}/items", {
        params: { path: { dataset_id: id }, query: { limit, cursor: cursor ?? undefined } },
      }),
    ),
  renameDataset: (id: string, name: string) =>
    unwrap(client.PATCH("/api/v1/datasets/{dataset_id}", { ...datasetPath(id), body: { name } })),
  deleteDataset: (id: string) =>
    unwrap(client.DELETE("/api/v1/datasets/{dataset_id}", datasetPath(id))),
  /** Every file is sent: an empty upload is removed, an identical one reuses the stored dataset. */
  completeUpload: (id: string) =>
    unwrap(client.POST("/api/v1/datasets/{dataset_id}/complete", datasetPath(id))),

  /** Relative paths go both in each part's filename and in an aligned `paths` field. */
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
    unwrap(client.POST("/api/v1/jobs/estimate", { body: req, signal })),
  preview: (req: JobCreate, signal?: AbortSignal) =>
    unwrap(client.POST("/api/v1/jobs/preview", { body: req, signal })),
  createJob: (req: JobCreate) => unwrap(client.POST("/api/v1/jobs", { body: req })),

  jobs: (query: JobsQuery = {}) => unwrap(client.GET("/api/v1/jobs", { params: { query } })),
  job: (id: string) => unwrap(client.GET("/api/v1/jobs/{job_id}", jobPath(id))),
  continueTrial: (id: string) => unwrap(client.POST("/api/v1/jobs/{job_id}/continue", jobPath(id))),
  cancel: (id: string) => unwrap(client.POST("/api/v1/jobs/{job_id}/cancel", jobPath(id))),
  pause: (id: string) => unwrap(client.POST("/api/v1/jobs/{job_id}/pause", jobPath(id))),
  resume: (id: string) => unwrap(client.POST("/api/v1/jobs/{job_id}/resume", jobPath(id))),
  retryFailed: (id: string, outputIds?: string[]) =>
    unwrap(
      client.POST("/api/v1/jobs/{job_id}/retry-failed", {
        ...jobPath(id),
        body: outputIds ? { output_ids: outputIds } : {},
      }),
    ),
  jobStorage: (id: string) => unwrap(client.GET("/api/v1/jobs/{job_id}/storage", jobPath(id))),
  deleteJob: (id: string) => unwrap(client.DELETE("/api/v1/jobs/{job_id}", jobPath(id))),
  jobRecipe: (id: string) =>
    unwrap(client.GET("/api/v1/jobs/{job_id}/recipe", jobPath(id))) as Promise<JobCreate>,
  setPriority: (id: string, priority: number) =>
    unwrap(client.PATCH("/api/v1/jobs/{job_id}", { ...jobPath(id), body: { priority } })),

  setBudget: (id: string, maxCost: number | null) =>
    unwrap(
      client.PUT("/api/v1/jobs/{job_id}/budget", { ...jobPath(id), body: { max_cost: maxCost } }),
    ),

  outputs: (id: string, query: OutputsQuery = {}, signal?: AbortSignal) =>
    unwrap(
      client.GET("/api/v1/jobs/{job_id}/outputs", {
        params: { path: { job_id: id }, query },
        signal,
      }),
    ),

  review: (id: string, body: ReviewRequest) =>
    unwrap(
      client.POST("/api/v1/jobs/{job_id}/review", {
        ...jobPath(id),
        body: { all_outputs: false, only_unreviewed: false, ...body },
      }),
    ),
  regenerateEstimate: (id: string) =>
    unwrap(client.GET("/api/v1/jobs/{job_id}/regenerate-rejected", jobPath(id))),
  regenerateRejected: (id: string, expectedOutputs: number) =>
    unwrap(
      client.POST("/api/v1/jobs/{job_id}/regenerate-rejected", {
        ...jobPath(id),
        body: { expected_outputs: expectedOutputs },
      }),
    ),

  exportUrl: (
    id: string,
    query: {
      batch_id?: string;
      succeeded_only?: boolean;
      include_originals?: boolean;
      accepted_only?: boolean;
      include_flagged?: boolean;
    } = {},
  ) => withQuery(`${API_BASE}/jobs/${encodeURIComponent(id)}/export`, query),
  exportParts: (id: string) =>
    unwrap(client.GET("/api/v1/jobs/{job_id}/export/parts", jobPath(id))),
  exportSelection: (id: string, outputIds: string[], fallbackName: string) =>
    downloadPost(
      `${API_BASE}/jobs/${encodeURIComponent(id)}/export`,
      { output_ids: outputIds },
      fallbackName,
    ),
};
