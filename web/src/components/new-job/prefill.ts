"use client";

import { useEffect, useRef } from "react";
import { toast } from "sonner";

import type { GenerationSettings } from "@/components/new-job/model-fields";
import { api } from "@/lib/api/client";
import { errorMessage } from "@/lib/api/errors";
import type { JobDetail } from "@/lib/api/types";

/** What a job was asked for (its stored request), read defensively: old jobs may lack fields. */
export type JobSpec = Record<string, unknown>;

export function specString(spec: JobSpec, key: string): string {
  const v = spec[key];
  return typeof v === "string" ? v : "";
}

export function specNumber(spec: JobSpec, key: string): number | null {
  const v = spec[key];
  return typeof v === "number" ? v : null;
}

/** The form settings a job ran with. */
export function settingsOf(job: JobDetail): GenerationSettings {
  return {
    model: job.model,
    aspectRatio: job.options.aspect_ratio ?? "",
    imageSize: job.options.image_size ?? "",
    outputFormat: job.options.output_format,
  };
}

/**
 * `?from=JOB` on a job form (a trial's "Change the prompt"): load that job once and hand
 * it to `apply`, which fills the form; the user edits the prompt and tries again.
 */
export function usePrefillFrom(apply: (job: JobDetail) => void | Promise<void>): void {
  const done = useRef(false);
  const latest = useRef(apply);
  useEffect(() => {
    latest.current = apply;
  });
  useEffect(() => {
    if (done.current) return;
    done.current = true;
    const id = new URLSearchParams(window.location.search).get("from");
    if (!id) return;
    api
      .job(id)
      .then((job) => latest.current(job))
      .then(() => toast.info("Settings copied from the trial: change the prompt and try again."))
      .catch((err: unknown) =>
        toast.error("Could not copy that job's settings", { description: errorMessage(err) }),
      );
  }, []);
}
