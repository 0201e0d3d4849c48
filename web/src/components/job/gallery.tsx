"use client";

import { useCallback, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useWindowVirtualizer } from "@tanstack/react-virtual";
import { ArrowRight, Columns2, Download, FolderOpen, Layers } from "lucide-react";

import { JobProgress } from "@/components/app/job-progress";
import { OutputTile } from "@/components/job/output-tile";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { api } from "@/lib/api/client";
import type { BatchOut, JobDetail, OutputOut } from "@/lib/api/types";
import { plural } from "@/lib/format";
import {
  baseName,
  flattenGroups,
  groupAutomatic,
  groupSemiAuto,
  type GalleryRow,
} from "@/lib/grouping";
import type { LightboxView } from "@/components/job/lightbox";
import { type ReviewDecision, reviewKey } from "@/lib/review";
import { cn } from "@/lib/utils";

type Row = GalleryRow<OutputOut, BatchOut>;

export function useGalleryRows(job: JobDetail, outputs: OutputOut[]): Row[] {
  return useMemo(
    () =>
      job.mode === "automatic"
        ? flattenGroups<OutputOut, BatchOut>(groupAutomatic(outputs, job.batches), "source")
        : flattenGroups<OutputOut, BatchOut>(groupSemiAuto(outputs, job.batches), "run"),
    [job.mode, job.batches, outputs],
  );
}

/**
 * Arrow keys move between tiles: left/right within the order, up/down to the next row.
 * A (accept), R or X (reject), U (clear) review the focused image and move on.
 */
function onGalleryKeyDown(
  e: React.KeyboardEvent<HTMLDivElement>,
  onReview: ((id: string, decision: ReviewDecision) => void) | undefined,
) {
  const target = e.target as HTMLElement;
  if (!target.matches("[data-tile]")) return;
  const tiles = Array.from(e.currentTarget.querySelectorAll<HTMLElement>("[data-tile]"));
  const i = tiles.indexOf(target);
  if (i < 0) return;
  let next: HTMLElement | undefined;
  const decision = e.ctrlKey || e.metaKey || e.altKey ? null : reviewKey(e.key);
  if (decision && onReview) {
    const id = target.dataset.outputId;
    if (!id || target.dataset.reviewable === undefined) return;
    e.preventDefault();
    onReview(id, decision);
    tiles[i + 1]?.focus();
    return;
  }
  if (e.key === "ArrowRight") next = tiles[i + 1];
  else if (e.key === "ArrowLeft") next = tiles[i - 1];
  else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    const row = target.closest("[data-gallery-row]");
    const rows = Array.from(e.currentTarget.querySelectorAll<HTMLElement>("[data-gallery-row]"));
    let r = rows.indexOf(row as HTMLElement);
    const step = e.key === "ArrowDown" ? 1 : -1;
    for (r += step; r >= 0 && r < rows.length; r += step) {
      const candidate = rows[r]?.querySelector<HTMLElement>("[data-tile]");
      if (candidate) {
        next = candidate;
        break;
      }
    }
  } else return;
  if (next) {
    e.preventDefault();
    next.focus();
  }
}

export function Gallery({
  job,
  rows,
  selectable,
  selected,
  tileSize,
  onOpen,
  onToggle,
  onToggleMany,
  onReview,
  complete,
}: {
  complete: boolean;
  onReview?: (id: string, decision: ReviewDecision) => void;
  job: JobDetail;
  rows: Row[];
  selectable: boolean;
  selected: Set<string>;
  tileSize: number;
  onOpen: (id: string, view?: LightboxView) => void;
  onToggle: (id: string) => void;
  onToggleMany: (ids: string[], on: boolean) => void;
}) {
  const listRef = useRef<HTMLDivElement>(null);
  // Where the list starts on the page: the window virtualizer measures from there.
  const [scrollMargin, setScrollMargin] = useState(0);
  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    const measure = () => setScrollMargin(el.getBoundingClientRect().top + window.scrollY);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(document.body);
    return () => observer.disconnect();
  }, []);
  const virtualizer = useWindowVirtualizer({
    count: rows.length,
    estimateSize: (i) => (rows[i]?.kind === "batch" ? 88 : tileSize + 44),
    overscan: 6,
    scrollMargin,
    getItemKey: (i) => rows[i]?.key ?? i,
  });
  const open = useCallback((id: string) => onOpen(id), [onOpen]);
  const batchOutputs = useMemo(() => {
    const map = new Map<string, string[]>();
    for (const row of rows) {
      if (row.kind === "batch") continue;
      const list = map.get(row.batchKey) ?? [];
      list.push(...row.group.outputs.map((o) => o.id));
      map.set(row.batchKey, list);
    }
    return map;
  }, [rows]);

  const renderRow = (row: Row) => {
    if (row.kind === "batch") {
      const b = row.batch;
      const ids = batchOutputs.get(b?.id ?? "__other__") ?? [];
      const allSelected = ids.length > 0 && ids.every((id) => selected.has(id));
      return (
        <div
          className="flex flex-wrap items-end justify-between gap-3 border-b pt-6 pb-3"
          data-testid="batch-header"
        >
          <div className="min-w-0 space-y-1">
            <h3 className="flex items-center gap-2 text-base font-semibold">
              {job.mode === "automatic" ? (
                <FolderOpen className="size-4 text-muted-foreground" aria-hidden />
              ) : (
                <Layers className="size-4 text-muted-foreground" aria-hidden />
              )}
              <span className="truncate" data-testid="batch-name">
                {row.name}
              </span>
              <span className="text-xs font-normal text-muted-foreground">
                {job.mode === "automatic"
                  ? plural(row.groupCount, "source image")
                  : plural(row.groupCount, "run")}{" "}
                · {plural(row.outputCount, "image")}
              </span>
            </h3>
            {job.mode === "semi_auto" && b?.prompt && b.prompt !== row.name ? (
              <p className="line-clamp-1 max-w-3xl text-sm text-muted-foreground" title={b.prompt}>
                {b.prompt}
              </p>
            ) : null}
          </div>
          <div className="flex items-center gap-3">
            {b ? (
              <JobProgress
                counts={b.counts}
                compact
                status={job.status}
                className="w-40"
                label={`Progress of ${row.name}`}
              />
            ) : null}
            {selectable && ids.length ? (
              <label className="flex items-center gap-1.5 text-xs">
                <Checkbox
                  checked={allSelected}
                  onCheckedChange={(v) => onToggleMany(ids, v === true)}
                />
                Select all
              </label>
            ) : null}
            {b ? (
              <Button variant="outline" size="sm" asChild>
                <a
                  href={api.exportUrl(job.id, { batch_id: b.id })}
                  download
                  aria-label={`Download ZIP of ${row.name}`}
                >
                  <Download aria-hidden /> ZIP
                </a>
              </Button>
            ) : null}
          </div>
        </div>
      );
    }
    if (row.kind === "source") {
      const g = row.group;
      const first = g.outputs[0];
      const comparable = g.outputs.find((o) => o.status === "succeeded" && o.image_url);
      const name = baseName(g.sourcePath) || "source";
      return (
        <div
          className="flex items-start gap-3 py-3"
          data-gallery-row
          data-testid="source-row"
          data-source={g.sourcePath ?? ""}
        >
          <div className="shrink-0" style={{ width: tileSize }}>
            <div className="bg-checker aspect-square overflow-hidden rounded-lg border-2 border-dashed border-border">
              {first?.source_thumbnail_url ? (
                <img
                  src={first.source_thumbnail_url}
                  alt={`Original ${name}`}
                  loading="lazy"
                  className="size-full object-cover"
                />
              ) : null}
            </div>
            <p className="mt-1 truncate text-[11px] font-medium" title={g.sourcePath ?? undefined}>
              Original · {name}
            </p>
          </div>
          <ArrowRight
            className="mt-[calc(var(--tile)/2-8px)] size-4 shrink-0 text-muted-foreground"
            style={{ "--tile": `${tileSize}px` } as React.CSSProperties}
            aria-hidden
          />
          <div className="flex min-w-0 flex-wrap items-start gap-3">
            {g.outputs.map((o) => (
              <OutputTile
                key={o.id}
                output={o}
                jobStatus={job.status}
                label={`${name} variation ${o.variation}`}
                size={tileSize}
                selectable={selectable}
                selected={selected.has(o.id)}
                onOpen={open}
                onToggle={onToggle}
              />
            ))}
          </div>
          {comparable ? (
            <Button
              variant="outline"
              size="sm"
              className="shrink-0 self-center"
              onClick={() => onOpen(comparable.id, "compare")}
              aria-label={`Compare ${name} before and after`}
            >
              <Columns2 aria-hidden /> Compare
            </Button>
          ) : null}
        </div>
      );
    }
    const g = row.group;
    return (
      <div
        className="flex items-start gap-3 py-3"
        data-gallery-row
        data-testid="run-row"
        data-batch-id={row.batchKey}
      >
        <div className="flex w-14 shrink-0 flex-col items-start pt-1">
          <span className="text-xs font-medium">Run {g.runIndex + 1}</span>
          <span className="text-[11px] text-muted-foreground">
            {plural(g.outputs.length, "image")}
          </span>
        </div>
        <div className="flex min-w-0 flex-1 flex-wrap gap-3">
          {g.outputs.map((o) => (
            <OutputTile
              key={o.id}
              output={o}
              jobStatus={job.status}
              label={`Image ${o.variation}`}
              size={tileSize}
              selectable={selectable}
              selected={selected.has(o.id)}
              onOpen={open}
              onToggle={onToggle}
            />
          ))}
        </div>
      </div>
    );
  };

  const items = virtualizer.getVirtualItems();
  return (
    <div
      ref={listRef}
      role="region"
      aria-label="Gallery"
      onKeyDown={(e) => onGalleryKeyDown(e, onReview)}
      data-testid="gallery"
      data-loaded={complete ? "all" : "partial"}
      aria-busy={!complete}
    >
      <div style={{ height: virtualizer.getTotalSize(), position: "relative", width: "100%" }}>
        {items.map((item) => {
          const row = rows[item.index];
          if (!row) return null;
          return (
            <div
              key={item.key}
              data-index={item.index}
              ref={virtualizer.measureElement}
              className={cn("absolute inset-x-0 top-0")}
              style={{
                transform: `translateY(${item.start - virtualizer.options.scrollMargin}px)`,
              }}
            >
              {renderRow(row)}
            </div>
          );
        })}
      </div>
    </div>
  );
}
