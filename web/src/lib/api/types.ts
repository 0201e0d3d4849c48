/**
 * Provisional API shapes from the route contract; replaced by aliases of the
 * generated OpenAPI schema once the server exports it.
 */
export type JobStatus =
  "queued" | "running" | "paused" | "completed" | "completed_with_errors" | "failed" | "cancelled";
export type OutputStatus = "pending" | "succeeded" | "blocked" | "failed" | "cancelled";
export type JobMode = "automatic" | "semi_auto";

export interface ModelInfo {
  id: string;
  display_name: string;
  provider: "gemini" | "classic";
  max_reference_images: number;
  aspect_ratios: string[];
  image_sizes: string[];
  default_image_size: string | null;
  price_per_image: Record<string, number>;
  batch_price_per_image: Record<string, number>;
  description: string;
  preview: boolean;
  known: boolean;
  default: boolean;
  available: boolean;
}

export interface Health {
  ok: boolean;
  version: string;
  auth_required: boolean;
  db: { ok: boolean; dialect: string; error?: string | null };
  storage: Record<string, unknown>;
  executor: {
    name: string;
    ok: boolean;
    orchestrator_running: boolean;
    in_flight: number;
    details?: Record<string, unknown>;
  };
  provider: { name: "classic" | "gemini"; gemini_key_configured: boolean; default_model: string };
}

export interface SessionInfo {
  authenticated: boolean;
  auth_required: boolean;
}

export interface IngestError {
  rel_path: string;
  code: string;
  message: string;
}
export interface IngestAccepted {
  rel_path: string;
  asset_id: string;
  width: number;
  height: number;
  mime_type: string;
  duplicate: boolean;
  notes: string[];
  thumbnail_url: string;
}
export interface IngestReport {
  accepted: IngestAccepted[];
  errors: IngestError[];
  skipped: string[];
}

export interface DatasetSummary {
  id: string;
  name: string;
  item_count: number;
  folders: { folder: string; count: number }[];
  created_at: string;
}

export interface JobOptions {
  aspect_ratio?: string | null;
  image_size?: string | null;
  output_format?: "png" | "jpeg" | "webp";
}

export interface AutomaticJobCreate {
  mode: "automatic";
  name?: string;
  dataset_id: string;
  prompt: string;
  variations?: number;
  model?: string | null;
  seed?: number | null;
  options?: JobOptions;
  include_originals?: boolean;
  per_class_prompts?: Record<string, string>;
  prompts_csv?: string | null;
  priority?: number;
}

export interface SemiAutoJobCreate {
  mode: "semi_auto";
  name?: string;
  reference_asset_ids?: string[];
  prompts: { prompt: string; count?: number }[];
  model?: string | null;
  seed?: number | null;
  options?: JobOptions;
  priority?: number;
}

export type JobCreate = AutomaticJobCreate | SemiAutoJobCreate;

export interface Estimate {
  outputs: number;
  tasks: number;
  batches: number;
  price_per_image: number;
  cost_usd: number;
  model: string;
  model_known: boolean;
  provider: string;
  warnings: string[];
}

export interface PromptPreview {
  source_path: string | null;
  batch: string;
  variation: number;
  prompt: string;
}

export interface StatusCounts {
  pending: number;
  succeeded: number;
  blocked: number;
  failed: number;
  cancelled: number;
  total: number;
}

export interface JobSummary {
  id: string;
  mode: JobMode;
  name: string;
  status: JobStatus;
  provider: string;
  model: string;
  priority: number;
  total_outputs: number;
  total_tasks: number;
  counts: StatusCounts;
  progress: number;
  cost_estimate: number;
  cost_actual: number;
  error: string | null;
  revision: number;
  queue_position: number | null;
  dataset_id: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface JobList {
  items: JobSummary[];
  total: number;
  server_time: string;
}

export interface BatchOut {
  id: string;
  position: number;
  name: string;
  slug: string;
  prompt: string;
  count: number;
  counts: StatusCounts;
  progress: number;
}

export interface JobDetail extends JobSummary {
  seed: number;
  options: { aspect_ratio: string | null; image_size: string | null; output_format: string };
  spec: Record<string, unknown>;
  reference_asset_ids: string[];
  include_originals: boolean;
  batches: BatchOut[];
}

export interface OutputOut {
  id: string;
  job_id: string;
  batch_id: string;
  task_id: string;
  position: number;
  run_index: number;
  variation: number;
  source_path: string | null;
  source_asset_id: string | null;
  archive_path: string;
  prompt: string;
  model: string;
  seed: number;
  attempt: number;
  status: OutputStatus;
  error_kind: string | null;
  error: string | null;
  mime_type: string | null;
  width: number | null;
  height: number | null;
  cost: number;
  duration_ms: number | null;
  created_at: string;
  finished_at: string | null;
  image_url: string | null;
  thumbnail_url: string | null;
  source_image_url: string | null;
  source_thumbnail_url: string | null;
}

export interface OutputPage {
  items: OutputOut[];
  next_cursor: string | null;
}

export interface RetryOut {
  requeued: number;
  job: JobDetail;
}

export interface ExportParts {
  part_bytes: number;
  parts: {
    part: number;
    entries: number;
    files: number;
    outputs: number;
    approx_bytes: number;
    url: string;
  }[];
}
