"use client";

import { Badge } from "@/components/ui/badge";
import type { JobDetail } from "@/lib/api/types";
import { formatAge } from "@/lib/format";

const EVENT_LABEL: Record<string, string> = {
  "job.completed": "completed",
  "job.failed": "failed",
  "job.cancelled": "cancelled",
  "job.budget_paused": "paused at its cap",
};

/** The job's webhook and how each event's delivery went (attempts, last answer). */
export function WebhookDeliveries({ job }: { job: JobDetail }) {
  if (!job.webhook_url) return null;
  return (
    <section aria-label="Webhook" className="space-y-2 rounded-lg border p-3 text-sm">
      <p className="font-medium">
        Webhook{" "}
        <span className="font-normal break-all text-muted-foreground">{job.webhook_url}</span>
      </p>
      {job.webhooks.length === 0 ? (
        <p className="text-muted-foreground">No event yet: one is sent when the job ends.</p>
      ) : (
        <ul className="space-y-1" data-testid="webhook-deliveries">
          {job.webhooks.map((d) => (
            <li key={d.id} className="flex flex-wrap items-center gap-2">
              <Badge variant={d.state === "failed" ? "destructive" : "outline"}>{d.state}</Badge>
              <span>
                {EVENT_LABEL[d.event] ?? d.event} · {d.attempts} attempt(s)
                {d.last_status ? ` · HTTP ${d.last_status}` : ""}
                {d.delivered_at ? ` · ${formatAge(d.delivered_at)}` : ""}
              </span>
              {d.last_error && d.state !== "delivered" ? (
                <span className="text-muted-foreground">· {d.last_error}</span>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
