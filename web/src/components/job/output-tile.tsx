"use client";

import { memo } from "react";
import { Ban, Check, CircleX, Clock, Loader2, Pause, ShieldAlert, X } from "lucide-react";

import { Checkbox } from "@/components/ui/checkbox";
import type { OutputOut } from "@/lib/api/types";
import { OUTPUT_STATUS_LABEL, pendingState, type PendingState } from "@/lib/jobs";
import { FLAGS, reviewable } from "@/lib/review";
import { cn } from "@/lib/utils";

const SHORT = new Map(FLAGS.map((f) => [f.value, f.short]));

/** Quality flags as small badges over the thumbnail; the reason is the tooltip. */
function FlagBadges({ output }: { output: OutputOut }) {
  const flags = output.flags ?? [];
  if (!flags.length) return null;
  return (
    <span className="absolute bottom-1 left-1 flex flex-wrap gap-0.5" data-testid="flag-badges">
      {flags.map((f) => (
        <span
          key={`${f.flag}:${f.detail}`}
          title={`${f.label}: ${f.detail}`}
          data-flag={f.flag}
          className="rounded bg-warning/90 px-1 py-px text-[10px] font-semibold text-[oklch(0.3_0.08_60)] shadow-sm"
        >
          {SHORT.get(f.flag) ?? f.flag}
        </span>
      ))}
    </span>
  );
}

function ReviewMark({ review }: { review: OutputOut["review"] }) {
  if (review === "accepted")
    return (
      <span className="absolute top-1 right-1 rounded-full bg-success p-0.5 text-white shadow">
        <Check className="size-3" aria-hidden />
      </span>
    );
  if (review === "rejected")
    return (
      <span className="absolute top-1 right-1 rounded-full bg-destructive p-0.5 text-white shadow">
        <X className="size-3" aria-hidden />
      </span>
    );
  return null;
}

const PENDING_ICON: Record<PendingState, typeof Clock> = {
  queued: Clock,
  paused: Pause,
  generating: Loader2,
  cancelling: Ban,
};

/** A pending output as its job really stands: only a running job spins "Generating". */
function PendingPlaceholder({ state, className }: { state: PendingState; className: string }) {
  const Icon = PENDING_ICON[state];
  return (
    <div className={cn(className, "text-muted-foreground")} data-pending-state={state}>
      <Icon className={cn("size-5", state === "generating" && "animate-spin")} aria-hidden />
      {OUTPUT_PENDING_LABEL[state]}
    </div>
  );
}

const OUTPUT_PENDING_LABEL: Record<PendingState, string> = {
  queued: "Queued",
  paused: "Paused",
  generating: "Generating",
  cancelling: "Cancelling",
};

function Placeholder({ status, jobStatus }: { status: string; jobStatus: string }) {
  const common = "flex size-full flex-col items-center justify-center gap-1 text-[11px]";
  switch (status) {
    case "pending":
      return <PendingPlaceholder state={pendingState(jobStatus)} className={common} />;
    case "blocked":
      return (
        <div className={cn(common, "bg-warning/10 text-[oklch(0.5_0.13_60)]")}>
          <ShieldAlert className="size-5" aria-hidden /> Blocked
        </div>
      );
    case "cancelled":
      return (
        <div className={cn(common, "text-muted-foreground")}>
          <Ban className="size-5" aria-hidden /> Cancelled
        </div>
      );
    default:
      return (
        <div className={cn(common, "bg-destructive/8 text-destructive")}>
          <CircleX className="size-5" aria-hidden /> Failed
        </div>
      );
  }
}

/** One output in the gallery: a button that opens the lightbox, with an optional selection box. */
export const OutputTile = memo(function OutputTile({
  output,
  jobStatus,
  label,
  size,
  selectable,
  selected,
  onOpen,
  onToggle,
}: {
  output: OutputOut;
  /** The job's status: a pending output of a paused job is paused, not generating. */
  jobStatus: string;
  label: string;
  size: number;
  selectable: boolean;
  selected: boolean;
  onOpen: (id: string) => void;
  onToggle: (id: string) => void;
}) {
  const status =
    output.status === "pending"
      ? OUTPUT_PENDING_LABEL[pendingState(jobStatus)]
      : (OUTPUT_STATUS_LABEL[output.status] ?? output.status);
  const review = reviewable(output) ? (output.review ?? "unreviewed") : null;
  const flagText = (output.flags ?? []).map((f) => f.label.toLowerCase()).join(", ");
  const described = [
    label,
    status,
    review && review !== "unreviewed" ? review : null,
    flagText ? `flagged: ${flagText}` : null,
    selectable ? (selected ? "selected" : "not selected") : null,
  ].filter(Boolean);
  return (
    <div className="group relative shrink-0" style={{ width: size }}>
      <button
        type="button"
        data-tile
        data-output-id={output.id}
        data-status={output.status}
        data-review={review ?? undefined}
        data-reviewable={review ? "" : undefined}
        onClick={() => (selectable ? onToggle(output.id) : onOpen(output.id))}
        aria-label={described.join(", ")}
        title={output.prompt}
        aria-pressed={selectable ? selected : undefined}
        className={cn(
          "bg-checker relative block aspect-square w-full overflow-hidden rounded-lg border transition-shadow outline-none focus-visible:ring-[3px] focus-visible:ring-ring",
          selected && "ring-2 ring-banana-strong",
          review === "accepted" && !selected && "ring-2 ring-success/70",
          review === "rejected" && "opacity-55",
        )}
      >
        {output.thumbnail_url && output.status === "succeeded" ? (
          <img
            src={output.thumbnail_url}
            alt=""
            decoding="async"
            className="size-full object-cover transition-transform duration-200 group-hover:scale-[1.03]"
          />
        ) : (
          <Placeholder status={output.status} jobStatus={jobStatus} />
        )}
        <FlagBadges output={output} />
        {review ? <ReviewMark review={review} /> : null}
      </button>
      {selectable ? (
        <Checkbox
          checked={selected}
          onCheckedChange={() => onToggle(output.id)}
          aria-label={`Select ${label}`}
          className="absolute top-1.5 left-1.5 bg-background/90 shadow-sm"
          tabIndex={-1}
        />
      ) : null}
      <p className="mt-1 truncate text-[11px] text-muted-foreground" title={output.prompt}>
        {label}
      </p>
    </div>
  );
});
