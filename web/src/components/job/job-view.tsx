"use client";

import { useCallback, useMemo, useState } from "react";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { CheckSquare, Loader2, RotateCcw, X } from "lucide-react";

import { EmptyState, ErrorState, LoadingRows } from "@/components/app/states";
import { JobHeader, Summary } from "@/components/job/job-header";
import { JobRecipe } from "@/components/job/job-recipe";
import { Gallery, useGalleryRows } from "@/components/job/gallery";
import { Lightbox, type LightboxView } from "@/components/job/lightbox";
import { QualityFilterSelect, QualitySummary } from "@/components/job/review-bar";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
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
import { type JobOutputs, useJob, useJobAction, useJobOutputs, useReview } from "@/lib/api/queries";
import type { JobDetail, OutputOut, OutputStatus } from "@/lib/api/types";
import { formatInt } from "@/lib/format";
import { orderedOutputs } from "@/lib/grouping";
import { pendingState } from "@/lib/jobs";
import { type QualityFilter, type ReviewDecision, matchesQuality, reviewable } from "@/lib/review";

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

/** "Pending" in the job's own words: queued, paused, generating or cancelling. */
function pendingFilterLabel(jobStatus: string): string {
  const state = pendingState(jobStatus);
  return state.charAt(0).toUpperCase() + state.slice(1);
}
const TILE_SIZES = { S: 112, M: 152, L: 208 } as const;
type TileSize = keyof typeof TILE_SIZES;

function JobBody({ job, outputs }: { job: JobDetail; outputs: JobOutputs }) {
  const action = useJobAction();
  const [status, setStatus] = useState<StatusFilter>("all");
  const [quality, setQuality] = useState<QualityFilter>("all");
  const review = useReview(job.id);
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
        (batch === ALL_BATCHES || o.batch_id === batch) &&
        matchesQuality(o, quality),
    );
  }, [outputs.items, status, batch, quality]);
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
  const reviewOne = useCallback(
    (id: string, decision: ReviewDecision) => review.mutate({ decision, output_ids: [id] }),
    [review],
  );
  const selectedIds = useMemo(() => [...selected], [selected]);
  const selectedReviewable = useMemo(
    () => outputs.items.filter((o) => selected.has(o.id) && reviewable(o)).map((o) => o.id),
    [outputs.items, selected],
  );
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
      <JobRecipe recipe={job.recipe} />
      {job.counts.succeeded > 0 ? (
        <div className="-mt-3 mb-6">
          <QualitySummary job={job} />
        </div>
      ) : null}

      <div className="sticky top-0 z-20 -mx-4 mb-2 flex flex-wrap items-center justify-between gap-3 border-b bg-background/95 px-4 py-3 backdrop-blur sm:-mx-6 sm:px-6 lg:-mx-8 lg:px-8">
        <Tabs value={status} onValueChange={(v) => setStatus(v as StatusFilter)}>
          <TabsList aria-label="Filter by status" className="flex-wrap">
            {FILTERS.filter(
              (f) => f.value === "all" || countFor(f.value) > 0 || f.value === status,
            ).map((f) => (
              <TabsTrigger key={f.value} value={f.value} data-testid={`filter-${f.value}`}>
                {f.value === "pending" ? pendingFilterLabel(job.status) : f.label}
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
          {job.counts.succeeded > 0 ? (
            <QualityFilterSelect job={job} value={quality} onChange={setQuality} />
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
              {selectedReviewable.length > 0 ? (
                <>
                  <Button
                    size="sm"
                    variant="outline"
                    onClick={() =>
                      review.mutate({ decision: "accepted", output_ids: selectedReviewable })
                    }
                  >
                    Accept {formatInt(selectedReviewable.length)}
                  </Button>
                  <Button
                    size="sm"
                    variant="outline"
                    onClick={() =>
                      review.mutate({ decision: "rejected", output_ids: selectedReviewable })
                    }
                  >
                    Reject {formatInt(selectedReviewable.length)}
                  </Button>
                </>
              ) : null}
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
          onReview={reviewOne}
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
        onReview={(o, decision) => reviewOne(o.id, decision)}
        classes={job.quality.classes ?? []}
      />
    </>
  );
}

export function JobView() {
  const params = useSearchParams();
  const id = params.get("id");
  const job = useJob(id);
  // Asked for at the same time as the job, not after it: the first thumbnails are
  // one round trip sooner.
  const outputs = useJobOutputs(id, job.data);
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
  return <JobBody job={job.data} outputs={outputs} />;
}
