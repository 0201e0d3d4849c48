import {
  Ban,
  CheckCircle2,
  CircleDashed,
  CircleX,
  Clock,
  Loader2,
  PauseCircle,
  ShieldAlert,
} from "lucide-react";

import { Badge } from "@/components/ui/badge";
import { jobStatusLabel, OUTPUT_STATUS_LABEL } from "@/lib/jobs";
import type { OutputStatus } from "@/lib/api/types";

const JOB_VARIANT = {
  queued: { variant: "secondary", icon: Clock },
  running: { variant: "info", icon: Loader2 },
  paused: { variant: "warning", icon: PauseCircle },
  completed: { variant: "success", icon: CheckCircle2 },
  completed_with_errors: { variant: "warning", icon: CheckCircle2 },
  failed: { variant: "destructive", icon: CircleX },
  cancelled: { variant: "outline", icon: Ban },
} as const;

/** A job's status; a paused job that a CLI run left behind on Ctrl-C or SIGTERM says
 * "Interrupted" (it resumes like any paused job). */
export function JobStatusBadge({
  status,
  interrupted = false,
}: {
  status: string;
  interrupted?: boolean;
}) {
  const v = JOB_VARIANT[status as keyof typeof JOB_VARIANT] ?? JOB_VARIANT.queued;
  const Icon = v.icon;
  const label = status === "paused" && interrupted ? "Interrupted" : jobStatusLabel(status);
  return (
    <Badge variant={v.variant} data-status={status} title={label}>
      <Icon className={status === "running" ? "animate-spin" : undefined} aria-hidden />
      {label}
    </Badge>
  );
}

const OUTPUT_VARIANT = {
  pending: { variant: "secondary", icon: CircleDashed },
  succeeded: { variant: "success", icon: CheckCircle2 },
  blocked: { variant: "warning", icon: ShieldAlert },
  failed: { variant: "destructive", icon: CircleX },
  cancelled: { variant: "outline", icon: Ban },
} as const;

export function OutputStatusBadge({ status }: { status: string }) {
  const v = OUTPUT_VARIANT[status as OutputStatus] ?? OUTPUT_VARIANT.pending;
  const Icon = v.icon;
  return (
    <Badge variant={v.variant}>
      <Icon aria-hidden />
      {OUTPUT_STATUS_LABEL[status as OutputStatus] ?? status}
    </Badge>
  );
}
