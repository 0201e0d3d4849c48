"use client";

import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Check, Loader2, RefreshCw, ShieldAlert, X } from "lucide-react";

import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import {
  Select,
  SelectContent,
  SelectGroup,
  SelectItem,
  SelectLabel,
  SelectTrigger,
  SelectValue,
} from "@/components/ui/select";
import { api } from "@/lib/api/client";
import { errorMessage } from "@/lib/api/errors";
import { useRegenerateRejected } from "@/lib/api/queries";
import type { JobDetail } from "@/lib/api/types";
import { formatInt, formatUsd, plural } from "@/lib/format";
import { FLAGS, type QualityFilter } from "@/lib/review";

function count(map: Record<string, number> | undefined, key: string): number {
  return map?.[key] ?? 0;
}

/** Filter the gallery by quality flag or review state. */
export function QualityFilterSelect({
  job,
  value,
  onChange,
}: {
  job: JobDetail;
  value: QualityFilter;
  onChange: (value: QualityFilter) => void;
}) {
  const q = job.quality;
  return (
    <Select value={value} onValueChange={(v) => onChange(v as QualityFilter)}>
      <SelectTrigger size="sm" className="w-52" aria-label="Filter by review and flags">
        <SelectValue />
      </SelectTrigger>
      <SelectContent>
        <SelectItem value="all">All reviews and flags</SelectItem>
        <SelectGroup>
          <SelectLabel>Review</SelectLabel>
          {(["unreviewed", "accepted", "rejected"] as const).map((r) => (
            <SelectItem key={r} value={r}>
              {r[0]!.toUpperCase() + r.slice(1)} ({formatInt(count(q.review, r))})
            </SelectItem>
          ))}
        </SelectGroup>
        <SelectGroup>
          <SelectLabel>Flags</SelectLabel>
          <SelectItem value="flagged">Any flag ({formatInt(q.flagged)})</SelectItem>
          {FLAGS.map((f) => (
            <SelectItem key={f.value} value={f.value}>
              {f.label} ({formatInt(count(q.flags, f.value))})
            </SelectItem>
          ))}
        </SelectGroup>
      </SelectContent>
    </Select>
  );
}

/** Counts of flags and review decisions, on the job page. */
export function QualitySummary({ job }: { job: JobDetail }) {
  const q = job.quality;
  const flags = FLAGS.filter((f) => count(q.flags, f.value) > 0);
  return (
    <p className="flex flex-wrap items-center gap-x-3 gap-y-1 text-xs" data-testid="job-quality">
      <span className="inline-flex items-center gap-1">
        <Check className="size-3.5 text-success" aria-hidden />
        {formatInt(count(q.review, "accepted"))} accepted
      </span>
      <span className="inline-flex items-center gap-1">
        <X className="size-3.5 text-destructive" aria-hidden />
        {formatInt(count(q.review, "rejected"))} rejected
      </span>
      <span className="text-muted-foreground">
        {formatInt(count(q.review, "unreviewed"))} to review
      </span>
      {flags.length ? (
        <span className="inline-flex items-center gap-1 text-[oklch(0.5_0.13_60)]">
          <ShieldAlert className="size-3.5" aria-hidden />
          {flags
            .map((f) => `${formatInt(count(q.flags, f.value))} ${f.label.toLowerCase()}`)
            .join(" · ")}
        </span>
      ) : (
        <span className="text-muted-foreground">no quality flags</span>
      )}
    </p>
  );
}

/** "Regenerate rejected": priced first, then confirmed for exactly that many outputs. */
export function RegenerateRejected({ job }: { job: JobDetail }) {
  const [open, setOpen] = useState(false);
  const rejected = count(job.quality.review, "rejected");
  const price = useQuery({
    queryKey: ["regenerate-price", job.id, job.revision],
    queryFn: () => api.regenerateEstimate(job.id),
    enabled: open,
  });
  const regenerate = useRegenerateRejected(job.id);
  if (rejected === 0 || job.status === "cancelled") return null;
  return (
    <>
      <Button variant="outline" onClick={() => setOpen(true)} data-testid="regenerate-rejected">
        <RefreshCw aria-hidden /> Regenerate rejected ({formatInt(rejected)})
      </Button>
      <Dialog open={open} onOpenChange={setOpen}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>Generate the rejected images again?</DialogTitle>
            <DialogDescription>
              Only the rejected slots are asked again, each with a new seed. Their current images
              are discarded.
            </DialogDescription>
          </DialogHeader>
          {price.isPending ? (
            <p className="flex items-center gap-2 text-sm text-muted-foreground">
              <Loader2 className="size-4 animate-spin" aria-hidden /> Working out the price…
            </p>
          ) : price.isError ? (
            <p className="text-sm text-destructive">{errorMessage(price.error)}</p>
          ) : (
            <p className="text-sm" data-testid="regenerate-price">
              {plural(price.data.outputs, "image")} ·{" "}
              <span className="font-semibold">
                {price.data.cost_usd === 0 ? "free" : formatUsd(price.data.cost_usd)}
              </span>
            </p>
          )}
          <DialogFooter>
            <Button variant="ghost" onClick={() => setOpen(false)}>
              Keep them
            </Button>
            <Button
              variant="banana"
              disabled={!price.data || price.data.outputs === 0 || regenerate.isPending}
              onClick={() =>
                price.data &&
                regenerate.mutate(price.data.outputs, { onSuccess: () => setOpen(false) })
              }
            >
              {regenerate.isPending ? <Loader2 className="animate-spin" aria-hidden /> : null}
              Regenerate {price.data ? formatInt(price.data.outputs) : ""}
            </Button>
          </DialogFooter>
        </DialogContent>
      </Dialog>
    </>
  );
}
