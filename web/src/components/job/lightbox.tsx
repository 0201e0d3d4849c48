"use client";

import { useEffect } from "react";
import {
  Check,
  ChevronLeft,
  ChevronRight,
  Columns2,
  Download,
  Image as ImageIcon,
  RotateCcw,
  X,
} from "lucide-react";

import { OutputStatusBadge } from "@/components/app/status-badge";
import { ModelLabel } from "@/components/app/model-label";
import { BeforeAfter } from "@/components/job/before-after";
import { LabelOverlay } from "@/components/job/label-overlay";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogTitle } from "@/components/ui/dialog";
import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs";
import type { OutputOut } from "@/lib/api/types";
import { formatDuration, formatUsd, parseApiDate } from "@/lib/format";
import { baseName } from "@/lib/grouping";
import { type ReviewDecision, reviewKey, reviewable } from "@/lib/review";

function Field({
  label,
  children,
  mono,
}: {
  label: string;
  children: React.ReactNode;
  mono?: boolean;
}) {
  return (
    <div className="space-y-0.5">
      <dt className="text-[11px] font-medium tracking-wide text-muted-foreground uppercase">
        {label}
      </dt>
      <dd className={mono ? "font-mono text-xs break-all" : "text-sm break-words"}>{children}</dd>
    </div>
  );
}

export type LightboxView = "result" | "compare";

/**
 * A large view of one output with everything known about it. Left/right
 * arrows move through the gallery order, Escape closes.
 */
export function Lightbox({
  outputs,
  openId,
  view,
  onViewChange,
  mode,
  batchName,
  onClose,
  onNavigate,
  onRetry,
  retrying,
  onReview,
  classes = [],
}: {
  outputs: OutputOut[];
  openId: string | null;
  view: LightboxView;
  onViewChange: (view: LightboxView) => void;
  mode: string;
  batchName: (batchId: string) => string;
  onClose: () => void;
  onNavigate: (id: string) => void;
  onRetry: (output: OutputOut) => void;
  retrying: boolean;
  onReview: (output: OutputOut, decision: ReviewDecision) => void;
  /** Class names by id, for the label boxes drawn over the image. */
  classes?: string[];
}) {
  const index = openId ? outputs.findIndex((o) => o.id === openId) : -1;
  const output = index >= 0 ? outputs[index] : undefined;
  const prev = index > 0 ? outputs[index - 1] : undefined;
  const next = index >= 0 && index < outputs.length - 1 ? outputs[index + 1] : undefined;

  useEffect(() => {
    if (!output) return;
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target?.tagName === "INPUT") return; // the compare slider uses arrows
      const decision = e.ctrlKey || e.metaKey || e.altKey ? null : reviewKey(e.key);
      if (decision && reviewable(output)) {
        e.preventDefault();
        onReview(output, decision);
        if (next && decision !== "unreviewed") onNavigate(next.id);
        return;
      }
      if (e.key === "ArrowLeft" && prev) {
        e.preventDefault();
        onNavigate(prev.id);
      } else if (e.key === "ArrowRight" && next) {
        e.preventDefault();
        onNavigate(next.id);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [output, prev, next, onNavigate, onReview]);

  const canCompare = Boolean(output?.source_image_url && output.image_url);
  const showCompare = view === "compare" && canCompare;
  const title = output
    ? mode === "automatic"
      ? `${baseName(output.source_path)} · variation ${output.variation}`
      : `Run ${output.run_index + 1} · image ${output.variation} · ${batchName(output.batch_id)}`
    : "";
  const finished = parseApiDate(output?.finished_at);

  return (
    <Dialog open={Boolean(output)} onOpenChange={(open) => (!open ? onClose() : undefined)}>
      <DialogContent
        className="grid h-[min(90vh,900px)] w-[min(1280px,96vw)] max-w-none grid-rows-[auto_minmax(0,1fr)] gap-0 overflow-hidden p-0 sm:max-w-none md:grid-cols-[minmax(0,1fr)_320px] md:grid-rows-1"
        aria-describedby="lightbox-desc"
      >
        {output ? (
          <>
            <div className="relative flex min-h-0 flex-col gap-3 bg-muted/40 p-4">
              <div className="flex items-center justify-between gap-2 pr-8 md:pr-0">
                <DialogTitle className="truncate text-base">{title}</DialogTitle>
                {canCompare ? (
                  <Tabs value={view} onValueChange={(v) => onViewChange(v as LightboxView)}>
                    <TabsList aria-label="View">
                      <TabsTrigger value="result">
                        <ImageIcon aria-hidden /> Result
                      </TabsTrigger>
                      <TabsTrigger value="compare">
                        <Columns2 aria-hidden /> Before / after
                      </TabsTrigger>
                    </TabsList>
                  </Tabs>
                ) : null}
              </div>
              <div className="relative min-h-0 flex-1">
                {showCompare && output.source_image_url && output.image_url ? (
                  <BeforeAfter before={output.source_image_url} after={output.image_url} />
                ) : output.image_url && output.status === "succeeded" ? (
                  <>
                    <img
                      src={output.image_url}
                      alt={`Result: ${output.prompt}`}
                      className="bg-checker absolute inset-0 size-full rounded-lg object-contain"
                    />
                    <LabelOverlay output={output} classes={classes} />
                  </>
                ) : (
                  <div className="flex size-full flex-col items-center justify-center gap-2 rounded-lg border border-dashed text-sm text-muted-foreground">
                    <OutputStatusBadge status={output.status} />
                    {output.status === "pending"
                      ? "Not generated yet."
                      : "No image for this output."}
                  </div>
                )}
              </div>
              <div className="flex items-center justify-between">
                <Button
                  variant="outline"
                  size="sm"
                  disabled={!prev}
                  onClick={() => prev && onNavigate(prev.id)}
                  aria-label="Previous image"
                >
                  <ChevronLeft aria-hidden /> Previous
                </Button>
                <span className="text-xs text-muted-foreground tabular-nums">
                  {index + 1} / {outputs.length}
                </span>
                <Button
                  variant="outline"
                  size="sm"
                  disabled={!next}
                  onClick={() => next && onNavigate(next.id)}
                  aria-label="Next image"
                >
                  Next <ChevronRight aria-hidden />
                </Button>
              </div>
            </div>
            <aside
              className="min-h-0 overflow-y-auto border-t p-5 md:border-t-0 md:border-l"
              aria-label="Details"
            >
              <DialogDescription id="lightbox-desc" className="sr-only">
                Details of the selected output. Use the left and right arrow keys to move between
                images.
              </DialogDescription>
              <dl className="space-y-4">
                <Field label="Status">
                  <OutputStatusBadge status={output.status} />
                  {reviewable(output) && output.review !== "unreviewed" ? (
                    <span
                      className={
                        output.review === "accepted"
                          ? "ml-2 text-xs font-medium text-success"
                          : "ml-2 text-xs font-medium text-destructive"
                      }
                      data-testid="lightbox-review"
                    >
                      {output.review}
                    </span>
                  ) : null}
                </Field>
                {output.flags?.length ? (
                  <Field label="Quality flags">
                    <ul className="space-y-1" data-testid="lightbox-flags">
                      {output.flags.map((f) => (
                        <li key={`${f.flag}:${f.detail}`}>
                          <span className="font-medium">{f.label}</span>
                          <span className="block text-xs text-muted-foreground">{f.detail}</span>
                        </li>
                      ))}
                    </ul>
                  </Field>
                ) : null}
                {output.error ? (
                  <Field label={output.status === "blocked" ? "Why it was blocked" : "Error"}>
                    <span className="text-destructive">{output.error}</span>
                    {output.error_kind ? (
                      <span className="mt-0.5 block text-xs text-muted-foreground">
                        kind: {output.error_kind}
                      </span>
                    ) : null}
                  </Field>
                ) : null}
                <Field label="Prompt">
                  <span className="whitespace-pre-wrap">{output.prompt || "—"}</span>
                </Field>
                <Field label="Model">
                  <ModelLabel model={output.model} />
                </Field>
                <div className="grid grid-cols-2 gap-4">
                  <Field label="Seed" mono>
                    {output.seed}
                  </Field>
                  <Field label="Attempt">{output.attempt}</Field>
                  <Field label="Time">{formatDuration(output.duration_ms)}</Field>
                  <Field label="Cost">{formatUsd(output.cost)}</Field>
                  <Field label="Size">
                    {output.width && output.height ? `${output.width} × ${output.height}` : "—"}
                  </Field>
                  <Field label="Finished">{finished ? finished.toLocaleTimeString() : "—"}</Field>
                </div>
                {output.source_path ? (
                  <Field label="Source image" mono>
                    {output.source_path}
                  </Field>
                ) : null}
                {/* Only an image is in the ZIP: a failed or pending output has no file there. */}
                {output.status === "succeeded" && output.image_url ? (
                  <Field label="In the ZIP" mono>
                    {output.archive_path}
                  </Field>
                ) : null}
                {output.label_count !== null && output.label_count !== undefined ? (
                  <Field label="Labels">{output.label_count} object(s)</Field>
                ) : null}
                {output.transform?.length ? (
                  <Field label="What was done">{output.transform.join(", ")}</Field>
                ) : null}
              </dl>
              <div className="mt-6 flex flex-col gap-2">
                {reviewable(output) ? (
                  <div className="grid grid-cols-2 gap-2">
                    <Button
                      variant={output.review === "accepted" ? "default" : "outline"}
                      onClick={() => onReview(output, "accepted")}
                      aria-keyshortcuts="A"
                    >
                      <Check aria-hidden /> Accept
                    </Button>
                    <Button
                      variant={output.review === "rejected" ? "destructive" : "outline"}
                      onClick={() => onReview(output, "rejected")}
                      aria-keyshortcuts="R"
                    >
                      <X aria-hidden /> Reject
                    </Button>
                    <p className="col-span-2 text-center text-[11px] text-muted-foreground">
                      Keys: A accept · R reject · U clear
                    </p>
                  </div>
                ) : null}
                {output.image_url && output.status === "succeeded" ? (
                  <Button variant="outline" asChild>
                    <a href={output.image_url} download={baseName(output.archive_path)}>
                      <Download aria-hidden /> Download image
                    </a>
                  </Button>
                ) : null}
                {output.status === "failed" || output.status === "blocked" ? (
                  <Button variant="outline" onClick={() => onRetry(output)} disabled={retrying}>
                    <RotateCcw aria-hidden /> Retry this output
                  </Button>
                ) : null}
              </div>
            </aside>
          </>
        ) : (
          <DialogTitle className="sr-only">Image</DialogTitle>
        )}
      </DialogContent>
    </Dialog>
  );
}
