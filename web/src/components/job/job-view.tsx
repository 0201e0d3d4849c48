"use client";

import { useCallback, useMemo, useState } from "react";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import {
  Ban,
  CheckSquare,
  ChevronLeft,
  Clock,
  Coins,
  Loader2,
  Pause,
  Play,
  RotateCcw,
  Settings2,
  X,
} from "lucide-react";

import { CancelJobDialog } from "@/components/app/job-actions";
import { JobProgress } from "@/components/app/job-progress";
import { ModelLabel } from "@/components/app/model-label";
import { EmptyState, ErrorState, LoadingRows } from "@/components/app/states";
import { JobStatusBadge } from "@/components/app/status-badge";
import { DownloadMenu } from "@/components/job/download-menu";
import { Gallery, useGalleryRows } from "@/components/job/gallery";
import { Lightbox, type LightboxView } from "@/components/job/lightbox";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import {
  Select,
  SelectContent,
  SelectItem,
  SelectTrigger,
  SelectValue,
} from "@/components/ui/select";
import { Skeleton } from "@/components/ui/skeleton";
import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { ApiError } from "@/lib/api/errors";
import { useJob, useJobAction, useJobOutputs, useModels } from "@/lib/api/queries";
import { BudgetHold } from "@/components/job/budget-hold";
import type { JobDetail, OutputOut, OutputStatus } from "@/lib/api/types";
import { formatAge, formatDuration, formatInt, formatUsd, parseApiDate } from "@/lib/format";
import { orderedOutputs } from "@/lib/grouping";
import { canCancel, canPause, canResume, modeLabel } from "@/lib/jobs";
import { useNow } from "@/hooks/use-now";

type StatusFilter = "all" | OutputStatus;
const FILTERS: { value: StatusFilter; label: string }[] = [
  { value: "all", label: "All" },
  { value: "succeeded", label: "Succeeded" },
  { value: "failed", label: "Failed" },
  { value: "blocked", label: "Blocked" },
  { value: "pending", label: "Pending" },
  { value: "cancelled", label: "Cancelled" },
];
const ALL_BATCHES = "__all__";
const TILE_SIZES = { S: 112, M: 152, L: 208 } as const;
type TileSize = keyof typeof TILE_SIZES;

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

function elapsed(job: JobDetail, now: Date): string {
  const start = parseApiDate(job.started_at);
  if (!start) return "Not started";
  const end = parseApiDate(job.finished_at) ?? now;
  return formatDuration(end.getTime() - start.getTime());
}

function JobHeader({ job, selectedIds }: { job: JobDetail; selectedIds: string[] }) {
  const action = useJobAction();
  const [confirm, setConfirm] = useState(false);
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
              <JobStatusBadge status={job.status} />
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
              onClick={() => action.mutate({ id: job.id, action: "retry" })}
              disabled={action.isPending}
            >
              <RotateCcw aria-hidden /> Retry failed ({formatInt(failed)})
            </Button>
          ) : null}
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
        </div>
      </div>
      {job.hold_reason ? <BudgetHold job={job} /> : null}
      <CancelJobDialog job={job} open={confirm} onOpenChange={setConfirm} />
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

function Summary({ job }: { job: JobDetail }) {
  const now = useNow(1_000);
  const spec = job.spec as { variations?: number; prompt?: string };
  return (
    <div className="mb-6 grid gap-3 md:grid-cols-2 xl:grid-cols-4">
      <Stat icon={CheckSquare} label="Progress">
        <JobProgress counts={job.counts} label="Job progress" />
        <p className="text-xs text-muted-foreground">
          {formatInt(job.counts.pending)} pending · {formatInt(job.counts.blocked)} blocked ·{" "}
          {formatInt(job.counts.cancelled)} cancelled
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

function JobBody({ job }: { job: JobDetail }) {
  const outputs = useJobOutputs(job);
  const action = useJobAction();
  const [status, setStatus] = useState<StatusFilter>("all");
  const [batch, setBatch] = useState<string>(ALL_BATCHES);
  const [tile, setTile] = useState<TileSize>("M");
  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [openId, setOpenId] = useState<string | null>(null);
  const [view, setView] = useState<LightboxView>("result");

  const filtered = useMemo(() => {
    const all = outputs.items;
    return all.filter(
      (o) =>
        (status === "all" || o.status === status) &&
        (batch === ALL_BATCHES || o.batch_id === batch),
    );
  }, [outputs.items, status, batch]);
  const rows = useGalleryRows(job, filtered);
  const ordered = useMemo(() => orderedOutputs(rows), [rows]);
  const batchNames = useMemo(
    () => new Map(job.batches.map((b) => [b.id, b.name || "(root folder)"])),
    [job.batches],
  );

  const toggle = useCallback((id: string) => {
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);
  const toggleMany = useCallback((ids: string[], on: boolean) => {
    setSelected((prev) => {
      const next = new Set(prev);
      for (const id of ids) {
        if (on) next.add(id);
        else next.delete(id);
      }
      return next;
    });
  }, []);
  const open = useCallback((id: string, v: LightboxView = "result") => {
    setView(v);
    setOpenId(id);
  }, []);
  const retryOne = useCallback(
    (o: OutputOut) => action.mutate({ id: job.id, action: "retry", outputIds: [o.id] }),
    [action, job.id],
  );
  const selectedIds = useMemo(() => [...selected], [selected]);
  const selectedProblems = useMemo(
    () =>
      outputs.items.filter(
        (o) => selected.has(o.id) && (o.status === "failed" || o.status === "blocked"),
      ),
    [outputs.items, selected],
  );

  const countFor = (f: StatusFilter) => (f === "all" ? job.counts.total : job.counts[f]);

  return (
    <>
      <JobHeader job={job} selectedIds={selectedIds} />
      {job.error ? (
        <Alert variant="destructive" className="mb-6">
          <AlertTitle>This job stopped with an error</AlertTitle>
          <AlertDescription>{job.error}</AlertDescription>
        </Alert>
      ) : null}
      <Summary job={job} />

      <div className="sticky top-0 z-20 -mx-4 mb-2 flex flex-wrap items-center justify-between gap-3 border-b bg-background/95 px-4 py-3 backdrop-blur sm:-mx-6 sm:px-6 lg:-mx-8 lg:px-8">
        <Tabs value={status} onValueChange={(v) => setStatus(v as StatusFilter)}>
          <TabsList aria-label="Filter by status" className="flex-wrap">
            {FILTERS.filter(
              (f) => f.value === "all" || countFor(f.value) > 0 || f.value === status,
            ).map((f) => (
              <TabsTrigger key={f.value} value={f.value} data-testid={`filter-${f.value}`}>
                {f.label}
                <span className="rounded bg-muted px-1 text-[11px] tabular-nums">
                  {formatInt(countFor(f.value))}
                </span>
              </TabsTrigger>
            ))}
          </TabsList>
        </Tabs>
        <div className="flex flex-wrap items-center gap-2">
          {outputs.loadingMore ? (
            <span
              className="flex items-center gap-1.5 text-xs text-muted-foreground tabular-nums"
              role="status"
            >
              <Loader2 className="size-3.5 animate-spin" aria-hidden />
              Loading {formatInt(outputs.items.length)} of {formatInt(job.counts.total)}
            </span>
          ) : null}
          {job.batches.length > 1 ? (
            <Select value={batch} onValueChange={setBatch}>
              <SelectTrigger size="sm" className="w-44" aria-label="Filter by batch">
                <SelectValue />
              </SelectTrigger>
              <SelectContent>
                <SelectItem value={ALL_BATCHES}>All batches</SelectItem>
                {job.batches.map((b) => (
                  <SelectItem key={b.id} value={b.id}>
                    {b.name || "(root folder)"}
                  </SelectItem>
                ))}
              </SelectContent>
            </Select>
          ) : null}
          <Tabs value={tile} onValueChange={(v) => setTile(v as TileSize)}>
            <TabsList aria-label="Thumbnail size" className="h-8">
              {(Object.keys(TILE_SIZES) as TileSize[]).map((s) => (
                <TabsTrigger key={s} value={s} className="px-2 text-xs">
                  {s}
                </TabsTrigger>
              ))}
            </TabsList>
          </Tabs>
          {selecting ? (
            <>
              <span className="text-sm text-muted-foreground tabular-nums" aria-live="polite">
                {formatInt(selected.size)} selected
              </span>
              {selectedProblems.length > 0 ? (
                <Button
                  size="sm"
                  variant="outline"
                  onClick={() =>
                    action.mutate({
                      id: job.id,
                      action: "retry",
                      outputIds: selectedProblems.map((o) => o.id),
                    })
                  }
                >
                  <RotateCcw aria-hidden /> Retry {formatInt(selectedProblems.length)}
                </Button>
              ) : null}
              <Button
                size="sm"
                variant="ghost"
                onClick={() =>
                  toggleMany(
                    ordered.map((o) => o.id),
                    true,
                  )
                }
              >
                Select all shown
              </Button>
              <Button
                size="sm"
                variant="ghost"
                onClick={() => {
                  setSelecting(false);
                  setSelected(new Set());
                }}
              >
                <X aria-hidden /> Done
              </Button>
            </>
          ) : (
            <Button size="sm" variant="outline" onClick={() => setSelecting(true)}>
              <CheckSquare aria-hidden /> Select
            </Button>
          )}
        </div>
      </div>

      {outputs.isPending ? (
        <div className="grid grid-cols-2 gap-3 pt-4 sm:grid-cols-4 lg:grid-cols-6">
          {Array.from({ length: 12 }, (_, i) => (
            <Skeleton key={i} className="aspect-square" />
          ))}
        </div>
      ) : outputs.isError ? (
        <ErrorState
          title="Could not load the images"
          error={outputs.error}
          onRetry={() => void outputs.refetch()}
        />
      ) : filtered.length === 0 ? (
        <EmptyState
          className="mt-4"
          title={
            status === "all"
              ? "No outputs yet"
              : `No ${FILTERS.find((f) => f.value === status)?.label.toLowerCase()} images`
          }
          description={
            status === "all" ? "Images appear here as they are generated." : "Try another filter."
          }
        />
      ) : (
        <Gallery
          job={job}
          rows={rows}
          selectable={selecting}
          selected={selected}
          tileSize={TILE_SIZES[tile]}
          onOpen={open}
          onToggle={toggle}
          onToggleMany={toggleMany}
          complete={!outputs.loadingMore}
        />
      )}

      <Lightbox
        outputs={ordered}
        openId={openId}
        view={view}
        onViewChange={setView}
        mode={job.mode}
        batchName={(id) => batchNames.get(id) ?? ""}
        onClose={() => setOpenId(null)}
        onNavigate={setOpenId}
        onRetry={retryOne}
        retrying={action.isPending}
      />
    </>
  );
}

export function JobView() {
  const params = useSearchParams();
  const id = params.get("id");
  const job = useJob(id);
  if (!id) {
    return (
      <EmptyState
        title="No job selected"
        description="Open a job from the jobs list."
        action={
          <Button asChild variant="outline">
            <Link href="/">Go to jobs</Link>
          </Button>
        }
      />
    );
  }
  if (job.isPending) return <LoadingRows rows={4} />;
  if (job.error instanceof ApiError && job.error.status === 404) {
    return (
      <EmptyState
        title="This job does not exist"
        description="It may have been deleted, or the link is incomplete."
        action={
          <Button asChild variant="outline">
            <Link href="/">Go to jobs</Link>
          </Button>
        }
      />
    );
  }
  if (job.isError) {
    return (
      <ErrorState
        title="Could not load this job"
        error={job.error}
        onRetry={() => void job.refetch()}
      />
    );
  }
  return <JobBody job={job.data} />;
}
