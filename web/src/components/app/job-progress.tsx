import type { StatusCounts } from "@/lib/api/types";
import { formatInt, formatPercent } from "@/lib/format";
import { pendingState } from "@/lib/jobs";
import { cn } from "@/lib/utils";

/**
 * A stacked bar: succeeded (green), blocked (amber), failed (red), cancelled
 * (grey) out of the total, with the numbers beside it.
 */
export function JobProgress({
  counts,
  className,
  compact = false,
  label,
  status,
}: {
  counts: StatusCounts;
  /** The job's status: pending outputs of a cancelled job are shown as cancelling. */
  status?: string;
  className?: string;
  compact?: boolean;
  label?: string;
}) {
  const total = Math.max(1, counts.total);
  const done = counts.total - counts.pending;
  const segments = [
    { key: "succeeded", value: counts.succeeded, className: "bg-success" },
    { key: "blocked", value: counts.blocked, className: "bg-warning" },
    { key: "failed", value: counts.failed, className: "bg-destructive" },
    { key: "cancelled", value: counts.cancelled, className: "bg-muted-foreground/40" },
  ];
  const fraction = counts.total ? done / counts.total : 0;
  return (
    <div className={cn("flex min-w-0 flex-col gap-1.5", className)}>
      <div
        role="progressbar"
        aria-label={label ?? "Progress"}
        aria-valuemin={0}
        aria-valuemax={counts.total}
        aria-valuenow={done}
        aria-valuetext={`${formatInt(counts.succeeded)} succeeded, ${formatInt(counts.failed)} failed, ${formatInt(counts.blocked)} blocked, ${formatInt(counts.total)} total`}
        className={cn(
          "flex w-full overflow-hidden rounded-full bg-primary/8",
          compact ? "h-1.5" : "h-2.5",
        )}
      >
        {segments.map((s) =>
          s.value > 0 ? (
            <div
              key={s.key}
              className={cn("h-full transition-[width] duration-500", s.className)}
              style={{ width: `${(s.value / total) * 100}%` }}
            />
          ) : null,
        )}
      </div>
      <div className="flex items-center justify-between gap-2 text-xs text-muted-foreground tabular-nums">
        <span>
          <span className="font-medium text-foreground">{formatInt(counts.succeeded)}</span>
          {/* Apart: failed ones can be retried, blocked ones are the model's answer. */}
          {counts.failed > 0 ? (
            <span className="text-destructive"> · {formatInt(counts.failed)} failed</span>
          ) : null}
          {counts.blocked > 0 ? (
            <span className="text-[oklch(0.5_0.13_60)]">
              {" "}
              · {formatInt(counts.blocked)} blocked
            </span>
          ) : null}{" "}
          / {formatInt(counts.total)}
        </span>
        <span data-testid="progress-state">
          {status && counts.pending > 0 && pendingState(status) === "cancelling"
            ? `${formatInt(counts.pending)} cancelling`
            : counts.pending === 0 && counts.cancelled > 0
              ? `${formatInt(counts.cancelled)} cancelled`
              : formatPercent(fraction)}
        </span>
      </div>
    </div>
  );
}
