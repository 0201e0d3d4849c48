"use client";

import { memo } from "react";
import { Ban, CircleX, Loader2, ShieldAlert } from "lucide-react";

import { Checkbox } from "@/components/ui/checkbox";
import type { OutputOut } from "@/lib/api/types";
import { OUTPUT_STATUS_LABEL } from "@/lib/jobs";
import { cn } from "@/lib/utils";

function Placeholder({ status }: { status: string }) {
  const common = "flex size-full flex-col items-center justify-center gap-1 text-[11px]";
  switch (status) {
    case "pending":
      return (
        <div className={cn(common, "text-muted-foreground")}>
          <Loader2 className="size-5 animate-spin" aria-hidden /> Generating
        </div>
      );
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
  label,
  size,
  selectable,
  selected,
  onOpen,
  onToggle,
}: {
  output: OutputOut;
  label: string;
  size: number;
  selectable: boolean;
  selected: boolean;
  onOpen: (id: string) => void;
  onToggle: (id: string) => void;
}) {
  const status = OUTPUT_STATUS_LABEL[output.status] ?? output.status;
  return (
    <div className="group relative shrink-0" style={{ width: size }}>
      <button
        type="button"
        data-tile
        data-output-id={output.id}
        data-status={output.status}
        onClick={() => (selectable ? onToggle(output.id) : onOpen(output.id))}
        aria-label={`${label}, ${status}${selectable ? (selected ? ", selected" : ", not selected") : ""}`}
        aria-pressed={selectable ? selected : undefined}
        className={cn(
          "bg-checker block aspect-square w-full overflow-hidden rounded-lg border transition-shadow outline-none focus-visible:ring-[3px] focus-visible:ring-ring",
          selected && "ring-2 ring-banana-strong",
        )}
      >
        {output.thumbnail_url && output.status === "succeeded" ? (
          <img
            src={output.thumbnail_url}
            alt=""
            loading="lazy"
            decoding="async"
            className="size-full object-cover transition-transform duration-200 group-hover:scale-[1.03]"
          />
        ) : (
          <Placeholder status={output.status} />
        )}
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
      <p className="mt-1 truncate text-[11px] text-muted-foreground">{label}</p>
    </div>
  );
});
