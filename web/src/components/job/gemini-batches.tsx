"use client";

import { Badge } from "@/components/ui/badge";
import type { JobDetail } from "@/lib/api/types";
import { formatAge, formatInt } from "@/lib/format";

const STATE_LABEL: Record<string, string> = {
  creating: "being sent",
  pending: "waiting at Google",
  running: "running",
  succeeded: "done",
  expired: "expired: queued again",
  failed: "failed: queued again",
  cancelled: "cancelled",
  lost: "results lost: queued again",
};

/** Where each Gemini Batch API batch of the job stands ("submitted 2 h ago, running"). */
export function GeminiBatches({ job }: { job: JobDetail }) {
  const batches = job.gemini_batches ?? [];
  if (job.route !== "batch") return null;
  return (
    <section aria-label="Gemini Batch API" className="space-y-2 rounded-lg border p-3 text-sm">
      <p className="font-medium">
        Gemini Batch API{" "}
        <span className="font-normal text-muted-foreground">· half price, results within 24 h</span>
      </p>
      {batches.length === 0 ? (
        <p className="text-muted-foreground">No batch sent yet.</p>
      ) : (
        <ul className="space-y-1" data-testid="gemini-batches">
          {batches.map((b) => (
            <li key={b.display_name} className="flex flex-wrap items-center gap-2">
              <Badge variant="outline">{STATE_LABEL[b.state] ?? b.state}</Badge>
              <span>
                {b.lines_read > 0
                  ? `${formatInt(b.lines_read)} of ${formatInt(b.lines)} image(s) read`
                  : `${formatInt(b.lines)} image(s)`}{" "}
                · {b.submitted_at ? `submitted ${formatAge(b.submitted_at)}` : "not submitted yet"}
              </span>
              {b.overdue ? (
                <Badge variant="destructive" data-testid="gemini-batch-overdue">
                  overdue: waiting past Google&apos;s 24 h target
                </Badge>
              ) : null}
              {b.error ? <span className="text-muted-foreground">· {b.error}</span> : null}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
