"use client";

import Link from "next/link";
import { FlaskConical, Loader2, PencilLine, PlayCircle } from "lucide-react";

import { Button } from "@/components/ui/button";
import { useJobAction } from "@/lib/api/queries";
import type { JobDetail } from "@/lib/api/types";
import { formatInt, formatUsd } from "@/lib/format";

/** Where "change the prompt" goes: the job's form, prefilled from this job. */
export function retryFormHref(job: JobDetail): string {
  const form = job.mode === "automatic" ? "automatic" : "semi-auto";
  return `/new/${form}/?from=${encodeURIComponent(job.id)}`;
}

/**
 * A trial job: it ran a sample of its images. Run the rest (the trial's images are kept,
 * never made or paid for again), or change the prompt and try again.
 */
export function TrialPanel({ job }: { job: JobDetail }) {
  const action = useJobAction();
  const trial = job.trial;
  if (!trial || trial.continued) return null;
  const running = job.counts.pending > 0;
  return (
    <div
      role="region"
      aria-label="Trial run"
      data-testid="trial-panel"
      className="flex flex-wrap items-center gap-3 rounded-lg border border-sky-300 bg-sky-50 p-3 text-sm dark:bg-sky-950/30"
    >
      <FlaskConical className="size-4 shrink-0 text-sky-700" aria-hidden />
      <p className="min-w-0 flex-1">
        <span className="font-medium">
          Trial on {formatInt(job.total_outputs)} of {formatInt(trial.planned_outputs)} images.
        </span>{" "}
        {running ? "Its images are on their way. " : "Like what you see? "}
        The rest: {formatInt(trial.rest_outputs)} images,{" "}
        {trial.rest_cost_usd === 0 ? "free" : `about ${formatUsd(trial.rest_cost_usd)}`}; the
        trial&apos;s images are kept.
      </p>
      <div className="flex gap-2">
        <Button variant="outline" size="sm" asChild>
          <Link href={retryFormHref(job)}>
            <PencilLine aria-hidden /> Change the prompt
          </Link>
        </Button>
        <Button
          size="sm"
          variant="banana"
          disabled={action.isPending}
          onClick={() => action.mutate({ id: job.id, action: "continue" })}
        >
          {action.isPending ? (
            <Loader2 className="animate-spin" aria-hidden />
          ) : (
            <PlayCircle aria-hidden />
          )}
          Run on the rest
        </Button>
      </div>
    </div>
  );
}
