/** Job status vocabulary shared by the dashboard and the job page. */
import type { JobDetail, JobStatus, OutputStatus } from "@/lib/api/types";

export const ACTIVE_STATUSES: ReadonlySet<string> = new Set(["queued", "running", "paused"]);

export function isActive(status: string): boolean {
  return ACTIVE_STATUSES.has(status);
}

export function canPause(status: string): boolean {
  return status === "queued" || status === "running";
}
export function canResume(status: string): boolean {
  return status === "paused";
}
export function canCancel(status: string): boolean {
  return isActive(status);
}

export const JOB_STATUS_LABEL: Record<JobStatus, string> = {
  queued: "Queued",
  running: "Running",
  paused: "Paused",
  completed: "Completed",
  completed_with_errors: "Completed with errors",
  failed: "Failed",
  cancelled: "Cancelled",
};

export const OUTPUT_STATUS_LABEL: Record<OutputStatus, string> = {
  pending: "Pending",
  succeeded: "Succeeded",
  blocked: "Blocked",
  failed: "Failed",
  cancelled: "Cancelled",
};

export function jobStatusLabel(status: string): string {
  return JOB_STATUS_LABEL[status as JobStatus] ?? status;
}

export function modeLabel(mode: string): string {
  return mode === "semi_auto" ? "Semi-automatic" : "Automatic";
}

/** Poll fast while work happens, slowly while paused, not at all when finished. */
export function pollInterval(status: string | undefined): number | false {
  if (status === "queued" || status === "running") return 1_500;
  if (status === "paused") return 5_000;
  return false;
}

/** A job page's detail polling: while the job runs, and after it ended while one of
 * its webhook deliveries is still being tried (each attempt is shown on the page). */
export function jobPollInterval(
  job: Pick<JobDetail, "status" | "webhooks"> | undefined,
): number | false {
  const byStatus = pollInterval(job?.status);
  if (byStatus !== false) return byStatus;
  return job?.webhooks.some((w) => w.state === "pending") ? 3_000 : false;
}

/** What a pending output is doing, from its job's status. */
export type PendingState = "queued" | "paused" | "generating" | "cancelling";

export function pendingState(jobStatus: string): PendingState {
  if (jobStatus === "paused") return "paused";
  if (jobStatus === "queued") return "queued";
  // After a cancel, outputs still pending are in flight: their images are kept if they
  // arrive (they are paid for), else they become cancelled.
  if (jobStatus === "cancelled") return "cancelling";
  return "generating";
}
