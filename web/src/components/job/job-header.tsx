"use client";

import { useState } from "react";
import Link from "next/link";
import {
  Ban,
  CheckSquare,
  ChevronLeft,
  Clock,
  Coins,
  Pause,
  Play,
  RotateCcw,
  Settings2,
} from "lucide-react";

import { BudgetHold } from "@/components/job/budget-hold";
import { GeminiBatches } from "@/components/job/gemini-batches";
import { TrialPanel } from "@/components/job/trial-panel";
import { WebhookDeliveries } from "@/components/job/webhook-deliveries";
import { CancelJobDialog, RetryFailedDialog } from "@/components/app/job-actions";
import { JobProgress } from "@/components/app/job-progress";
import { ModelLabel } from "@/components/app/model-label";
import { JobStatusBadge } from "@/components/app/status-badge";
import { DownloadMenu } from "@/components/job/download-menu";
import { DeleteJobButton, DuplicateJobButton } from "@/components/job/job-housekeeping";
import { RegenerateRejected } from "@/components/job/review-bar";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { useJobAction, useModels } from "@/lib/api/queries";
import type { JobDetail } from "@/lib/api/types";
import { formatAge, formatDuration, formatInt, formatUsd, parseApiDate } from "@/lib/format";
import {
  type PendingState,
  canCancel,
  canPause,
  canResume,
  modeLabel,
  pendingState,
} from "@/lib/jobs";
import { useNow } from "@/hooks/use-now";

function Stat({
  icon: Icon,
  label,
  children,
}: {
  icon: typeof Clock;
  label: string;
  children: React.ReactNode;
}) {
  return (
    <Card className="gap-2 py-4">
      <CardContent className="space-y-2">
        <p className="flex items-center gap-1.5 text-xs font-medium tracking-wide text-muted-foreground uppercase">
          <Icon className="size-3.5" aria-hidden /> {label}
        </p>
        {children}
      </CardContent>
    </Card>
  );
}

const PENDING_WORD: Record<PendingState, string> = {
  queued: "queued",
  paused: "paused",
  generating: "in progress",
  cancelling: "cancelling (in flight)",
};

function elapsed(job: JobDetail, now: Date): string {
  const start = parseApiDate(job.started_at);
  if (!start) return "Not started";
  const end = parseApiDate(job.finished_at) ?? now;
  return formatDuration(end.getTime() - start.getTime());
}

export function JobHeader({ job, selectedIds }: { job: JobDetail; selectedIds: string[] }) {
  const action = useJobAction();
  const [confirm, setConfirm] = useState(false);
  const [confirmRetry, setConfirmRetry] = useState(false);
  const models = useModels();
  // The job-level retry re-queues failed outputs only: a block is the model's answer to
  // the prompt, so blocked outputs are retried one by one (lightbox or selection).
  const failed = job.counts.failed;
  return (
    <div className="mb-6 space-y-3">
      <Link
        href="/"
        className="inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground"
      >
        <ChevronLeft className="size-4" aria-hidden /> Jobs
      </Link>
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0 space-y-2">
          <h1 className="truncate text-2xl font-semibold tracking-tight" data-testid="job-title">
            {job.name || `Job ${job.id.slice(0, 8)}`}
          </h1>
          <div className="flex flex-wrap items-center gap-2 text-sm text-muted-foreground">
            <span data-testid="job-status">
              <JobStatusBadge status={job.status} interrupted={Boolean(job.interrupted_at)} />
            </span>
            <Badge variant={job.mode === "semi_auto" ? "banana" : "secondary"}>
              {modeLabel(job.mode)}
            </Badge>
            <ModelLabel model={job.model} provider={job.provider} models={models.data} />
            {job.queue_position ? <span>· #{job.queue_position} in the queue</span> : null}
          </div>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          {canPause(job.status) ? (
            <Button
              variant="outline"
              onClick={() => action.mutate({ id: job.id, action: "pause" })}
              disabled={action.isPending}
            >
              <Pause aria-hidden /> Pause
            </Button>
          ) : null}
          {canResume(job.status) ? (
            <Button
              variant="outline"
              onClick={() => action.mutate({ id: job.id, action: "resume" })}
              disabled={action.isPending}
            >
              <Play aria-hidden /> Resume
            </Button>
          ) : null}
          {failed > 0 ? (
            <Button
              variant="outline"
              onClick={() =>
                // Permanent failures would fail again: say so before paying for it.
                job.failures.permanent > 0
                  ? setConfirmRetry(true)
                  : action.mutate({ id: job.id, action: "retry" })
              }
              disabled={action.isPending}
            >
              <RotateCcw aria-hidden /> Retry failed ({formatInt(failed)})
            </Button>
          ) : null}
          <RegenerateRejected job={job} />
          {canCancel(job.status) ? (
            <Button
              variant="outline"
              className="text-destructive hover:text-destructive"
              onClick={() => setConfirm(true)}
            >
              <Ban aria-hidden /> Cancel
            </Button>
          ) : null}
          <DownloadMenu job={job} selectedIds={selectedIds} />
          <DuplicateJobButton job={job} />
          <DeleteJobButton job={job} />
        </div>
      </div>
      {job.hold_reason ? <BudgetHold job={job} /> : null}
      <TrialPanel job={job} />
      <GeminiBatches job={job} />
      <WebhookDeliveries job={job} />
      <CancelJobDialog job={job} open={confirm} onOpenChange={setConfirm} />
      <RetryFailedDialog job={job} open={confirmRetry} onOpenChange={setConfirmRetry} />
    </div>
  );
}

/** Where the job's tasks stand at the executor: RunPod's queue can take a while. */
function RemoteLine({ remote, now }: { remote: JobDetail["remote"]; now: Date }) {
  const parts: string[] = [];
  if (remote.queued > 0) {
    const since = remote.oldest_queued_since
      ? ` (oldest sent ${formatAge(remote.oldest_queued_since, now)})`
      : "";
    parts.push(`${formatInt(remote.queued)} waiting for a worker${since}`);
  }
  if (remote.running > 0) parts.push(`${formatInt(remote.running)} running`);
  if (remote.avg_delay_ms !== null && remote.avg_execution_ms !== null) {
    parts.push(
      `mean wait ${formatDuration(remote.avg_delay_ms)}, run ${formatDuration(remote.avg_execution_ms)}`,
    );
  }
  if (parts.length === 0) return null;
  return (
    <p className="text-xs text-muted-foreground" data-testid="job-remote">
      Executor: {parts.join(" · ")}
    </p>
  );
}

export function Summary({ job }: { job: JobDetail }) {
  const now = useNow(1_000);
  const spec = job.spec as { variations?: number; prompt?: string };
  return (
    <div className="mb-6 grid gap-3 md:grid-cols-2 xl:grid-cols-4">
      <Stat icon={CheckSquare} label="Progress">
        <JobProgress counts={job.counts} label="Job progress" status={job.status} />
        {/* Every output is in exactly one of these, so they add up to the total. */}
        <p className="text-xs text-muted-foreground" data-testid="job-counts">
          {formatInt(job.counts.pending)} {PENDING_WORD[pendingState(job.status)]} ·{" "}
          {formatInt(job.counts.blocked)} blocked · {formatInt(job.counts.cancelled)} cancelled
        </p>
      </Stat>
      <Stat icon={Coins} label="Cost">
        {job.cost_estimate === 0 && job.cost_actual === 0 ? (
          <>
            <p className="text-2xl font-semibold">Free</p>
            <p className="text-xs text-muted-foreground">
              {job.provider === "classic" ? "Offline augmentation costs nothing" : "No charge"}
            </p>
          </>
        ) : (
          <>
            <p className="text-2xl font-semibold tabular-nums">{formatUsd(job.cost_actual)}</p>
            <p className="text-xs text-muted-foreground">Estimate {formatUsd(job.cost_estimate)}</p>
          </>
        )}
      </Stat>
      <Stat icon={Clock} label="Time">
        <p className="text-2xl font-semibold tabular-nums">{elapsed(job, now)}</p>
        <p className="text-xs text-muted-foreground">
          Created {formatAge(job.created_at, now)}
          {job.finished_at ? ` · finished ${formatAge(job.finished_at, now)}` : ""}
        </p>
        <RemoteLine remote={job.remote} now={now} />
      </Stat>
      <Stat icon={Settings2} label="Settings">
        <dl className="grid grid-cols-2 gap-x-3 gap-y-1 text-xs">
          {job.mode === "automatic" ? (
            <>
              <dt className="text-muted-foreground">Variations</dt>
              <dd>{spec.variations ?? "—"}</dd>
            </>
          ) : (
            <>
              <dt className="text-muted-foreground">References</dt>
              <dd>{job.reference_asset_ids.length}</dd>
            </>
          )}
          <dt className="text-muted-foreground">Aspect / size</dt>
          <dd>
            {job.options.aspect_ratio ?? "default"} / {job.options.image_size ?? "default"}
          </dd>
          <dt className="text-muted-foreground">Format</dt>
          <dd className="uppercase">{job.options.output_format}</dd>
          <dt className="text-muted-foreground">Seed</dt>
          <dd className="font-mono">{job.seed}</dd>
        </dl>
      </Stat>
    </div>
  );
}
