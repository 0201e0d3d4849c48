"use client";

import { useState } from "react";
import { Ban, Download, MoreHorizontal, Pause, Play, RotateCcw } from "lucide-react";

import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
} from "@/components/ui/alert-dialog";
import { Button } from "@/components/ui/button";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { api } from "@/lib/api/client";
import { useJobAction } from "@/lib/api/queries";
import type { JobDetail, JobSummary } from "@/lib/api/types";
import { canCancel, canPause, canResume } from "@/lib/jobs";
import { plural } from "@/lib/format";

function jobTitle(job: Pick<JobSummary, "name" | "id">): string {
  return job.name || `Job ${job.id.slice(0, 8)}`;
}

/** Cancel asks first: it cannot be undone. */
export function CancelJobDialog({
  job,
  open,
  onOpenChange,
}: {
  job: JobSummary;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const action = useJobAction();
  const remaining = job.counts.pending;
  return (
    <AlertDialog open={open} onOpenChange={onOpenChange}>
      <AlertDialogContent>
        <AlertDialogHeader>
          <AlertDialogTitle>Cancel “{jobTitle(job)}”?</AlertDialogTitle>
          <AlertDialogDescription>
            {remaining > 0
              ? `${plural(remaining, "image")} not generated yet will be dropped. `
              : ""}
            Images already generated stay available for download. This cannot be undone.
          </AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel>Keep running</AlertDialogCancel>
          <AlertDialogAction
            className="bg-destructive text-white hover:bg-destructive/90"
            onClick={() => action.mutate({ id: job.id, action: "cancel" })}
          >
            Cancel job
          </AlertDialogAction>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}

/** Retrying failures that are permanent sends the same request again: ask first. */
export function RetryFailedDialog({
  job,
  open,
  onOpenChange,
}: {
  job: JobDetail;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const action = useJobAction();
  const f = job.failures;
  return (
    <AlertDialog open={open} onOpenChange={onOpenChange}>
      <AlertDialogContent data-testid="retry-confirm">
        <AlertDialogHeader>
          <AlertDialogTitle>
            {f.permanent} of {f.permanent + f.retryable} failures will fail again
          </AlertDialogTitle>
          <AlertDialogDescription>{f.message}</AlertDialogDescription>
        </AlertDialogHeader>
        <ul className="space-y-1 text-sm">
          {f.groups.map((g) => (
            <li key={g.kind} className="flex justify-between gap-3">
              <span className="font-mono">{g.kind}</span>
              <span className={g.permanent ? "text-destructive" : "text-muted-foreground"}>
                {plural(g.count, "output")} · {g.permanent ? "permanent" : "may succeed"}
              </span>
            </li>
          ))}
        </ul>
        <AlertDialogFooter>
          <AlertDialogCancel>Don&apos;t retry</AlertDialogCancel>
          <AlertDialogAction onClick={() => action.mutate({ id: job.id, action: "retry" })}>
            Retry all {f.permanent + f.retryable} anyway
          </AlertDialogAction>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}

/** The row menu on the dashboard. */
export function JobActionsMenu({ job }: { job: JobSummary }) {
  const action = useJobAction();
  const [confirm, setConfirm] = useState(false);
  const failed = job.counts.failed + job.counts.blocked;
  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button variant="ghost" size="icon-sm" aria-label={`Actions for ${jobTitle(job)}`}>
            <MoreHorizontal aria-hidden />
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end" className="w-52">
          <DropdownMenuLabel className="truncate">{jobTitle(job)}</DropdownMenuLabel>
          <DropdownMenuSeparator />
          {canPause(job.status) ? (
            <DropdownMenuItem onSelect={() => action.mutate({ id: job.id, action: "pause" })}>
              <Pause aria-hidden /> Pause
            </DropdownMenuItem>
          ) : null}
          {canResume(job.status) ? (
            <DropdownMenuItem onSelect={() => action.mutate({ id: job.id, action: "resume" })}>
              <Play aria-hidden /> Resume
            </DropdownMenuItem>
          ) : null}
          <DropdownMenuItem
            disabled={failed === 0}
            onSelect={() => action.mutate({ id: job.id, action: "retry" })}
          >
            <RotateCcw aria-hidden /> Retry failed{failed ? ` (${failed})` : ""}
          </DropdownMenuItem>
          <DropdownMenuItem asChild disabled={job.counts.succeeded === 0}>
            <a href={api.exportUrl(job.id)} download>
              <Download aria-hidden /> Download ZIP
            </a>
          </DropdownMenuItem>
          {canCancel(job.status) ? (
            <>
              <DropdownMenuSeparator />
              <DropdownMenuItem variant="destructive" onSelect={() => setConfirm(true)}>
                <Ban aria-hidden /> Cancel job…
              </DropdownMenuItem>
            </>
          ) : null}
        </DropdownMenuContent>
      </DropdownMenu>
      <CancelJobDialog job={job} open={confirm} onOpenChange={setConfirm} />
    </>
  );
}
