"use client";

import { useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { AlertCircle, CheckCircle2, CircleDashed, Loader2, RotateCcw, XCircle } from "lucide-react";

import { Button } from "@/components/ui/button";
import { Progress } from "@/components/ui/progress";
import { formatBytes, formatInt, formatPercent } from "@/lib/format";
import type { FileState, UploadQueue, UploadTotals } from "@/lib/upload-queue";
import { cn } from "@/lib/utils";

function StatusIcon({ status }: { status: FileState["status"] }) {
  switch (status) {
    case "done":
      return <CheckCircle2 className="size-3.5 text-success" aria-label="Uploaded" />;
    case "uploading":
      return <Loader2 className="size-3.5 animate-spin text-info" aria-label="Uploading" />;
    case "rejected":
      return <XCircle className="size-3.5 text-destructive" aria-label="Refused by the server" />;
    case "failed":
      return <AlertCircle className="size-3.5 text-destructive" aria-label="Upload failed" />;
    default:
      return <CircleDashed className="size-3.5 text-muted-foreground" aria-label="Waiting" />;
  }
}

const ROW = 34;
const PROBLEM_ROW = 50;
const LIST_MAX = 224;

function FileList({ files, problems }: { files: FileState[]; problems: boolean }) {
  const parentRef = useRef<HTMLDivElement>(null);
  const rowSize = problems ? PROBLEM_ROW : ROW;
  const virtualizer = useVirtualizer({
    count: files.length,
    getScrollElement: () => parentRef.current,
    estimateSize: () => rowSize,
    overscan: 12,
  });
  return (
    <div
      ref={parentRef}
      className="overflow-auto rounded-md border bg-background"
      style={{ height: Math.min(LIST_MAX, files.length * rowSize + 2) }}
      role="list"
      aria-label={problems ? "Files with problems" : "Files"}
      tabIndex={0}
    >
      <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
        {virtualizer.getVirtualItems().map((row) => {
          const f = files[row.index];
          if (!f) return null;
          return (
            <div
              key={f.id}
              role="listitem"
              className="absolute inset-x-0 flex flex-col justify-center gap-0.5 border-b px-3 text-xs last:border-0"
              style={{ height: row.size, transform: `translateY(${row.start}px)` }}
            >
              <div className="flex items-center gap-2">
                <StatusIcon status={f.status} />
                <span className="min-w-0 flex-1 truncate font-mono" title={f.relPath}>
                  {f.relPath}
                </span>
                {f.error && !problems ? (
                  <span className="max-w-[55%] truncate text-destructive" title={f.error}>
                    {f.error}
                  </span>
                ) : f.status === "uploading" ? (
                  <Progress
                    value={(f.loaded / Math.max(1, f.size)) * 100}
                    className="h-1 w-20"
                    aria-label={`Uploading ${f.relPath}`}
                  />
                ) : (
                  <span className="text-muted-foreground tabular-nums">{formatBytes(f.size)}</span>
                )}
              </div>
              {f.error && problems ? (
                <p className="truncate pl-5.5 text-destructive" title={f.error}>
                  {f.error}
                </p>
              ) : null}
            </div>
          );
        })}
      </div>
    </div>
  );
}

export function UploadPanel({
  queue,
  totals,
  version,
}: {
  queue: UploadQueue;
  totals: UploadTotals;
  version: number;
}) {
  const [view, setView] = useState<"all" | "problems">("all");
  const files = useMemo(() => queue.files(), [queue, version]); // eslint-disable-line react-hooks/exhaustive-deps
  const problems = useMemo(
    () => files.filter((f) => f.status === "failed" || f.status === "rejected"),
    [files],
  );
  const shown = view === "problems" ? problems : files;
  const finished = totals.done + totals.rejected + totals.failed;
  const working = !totals.settled;
  return (
    <div className="space-y-3" aria-live="polite">
      <div className="space-y-1.5">
        <div className="flex items-center justify-between gap-3 text-sm">
          <span className="font-medium">
            {working ? (
              <span className="inline-flex items-center gap-1.5">
                <Loader2 className="size-3.5 animate-spin" aria-hidden /> Uploading{" "}
                {formatInt(finished)} of {formatInt(totals.files)} files
              </span>
            ) : (
              <span data-testid="upload-complete">
                Uploaded {formatInt(totals.done)} of {formatInt(totals.files)} files
              </span>
            )}
          </span>
          <span className="text-xs text-muted-foreground tabular-nums">
            {formatBytes(totals.loadedBytes)} / {formatBytes(totals.bytes)} ·{" "}
            {formatPercent(totals.fraction)}
          </span>
        </div>
        <Progress
          value={totals.fraction * 100}
          aria-label="Overall upload progress"
          indicatorClassName={
            totals.failed + totals.rejected > 0 && !working ? "bg-warning" : "bg-success"
          }
        />
      </div>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <div className="flex gap-1" role="tablist" aria-label="File list">
          <Button
            type="button"
            size="sm"
            role="tab"
            aria-selected={view === "all"}
            variant={view === "all" ? "secondary" : "ghost"}
            onClick={() => setView("all")}
          >
            All files ({formatInt(files.length)})
          </Button>
          <Button
            type="button"
            size="sm"
            role="tab"
            aria-selected={view === "problems"}
            variant={view === "problems" ? "secondary" : "ghost"}
            className={cn(problems.length > 0 && "text-destructive")}
            onClick={() => setView("problems")}
          >
            Problems ({formatInt(problems.length)})
          </Button>
        </div>
        {totals.failed > 0 && !working ? (
          <Button
            type="button"
            size="sm"
            variant="outline"
            onClick={() => {
              queue.retryFailed();
              setView("all");
            }}
          >
            <RotateCcw aria-hidden /> Retry {formatInt(totals.failed)} failed upload
            {totals.failed === 1 ? "" : "s"}
          </Button>
        ) : null}
      </div>
      {shown.length > 0 ? (
        <FileList key={view} files={shown} problems={view === "problems"} />
      ) : (
        <p className="rounded-md border bg-background px-3 py-6 text-center text-xs text-muted-foreground">
          No problems so far.
        </p>
      )}
      {totals.rejected > 0 ? (
        <p className="text-xs text-muted-foreground">
          Files the server refused (not an image, damaged, too large) are left out of the dataset;
          fix them and drop them again if you need them.
        </p>
      ) : null}
    </div>
  );
}
