"use client";

import Link from "next/link";
import { CheckCircle2, ListPlus } from "lucide-react";

import { JobStatusBadge } from "@/components/app/status-badge";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { useJobs } from "@/lib/api/queries";
import type { JobDetail } from "@/lib/api/types";

function jobTitle(job: JobDetail): string {
  return job.name || `Job ${job.id.slice(0, 8)}`;
}

function jobHref(job: JobDetail): string {
  return `/jobs/view/?id=${encodeURIComponent(job.id)}`;
}

/** The job just queued: the form keeps its settings for the next one. */
export function QueuedAlert({
  job,
  onQueueAnother,
}: {
  job: JobDetail;
  onQueueAnother: () => void;
}) {
  return (
    <Alert variant="info" data-testid="queued-alert">
      <CheckCircle2 aria-hidden />
      <AlertTitle>Queued “{jobTitle(job)}”</AlertTitle>
      <AlertDescription>
        <p>Your settings are kept: change what you like and queue another.</p>
        <div className="mt-2 flex gap-2">
          <Button size="sm" variant="outline" asChild>
            <Link href={jobHref(job)}>View job</Link>
          </Button>
          <Button size="sm" variant="ghost" onClick={onQueueAnother}>
            <ListPlus aria-hidden /> Queue another
          </Button>
        </div>
      </AlertDescription>
    </Alert>
  );
}

/** The jobs queued from this page, newest first, with their live status. */
export function QueuedThisSession({ jobs: queued }: { jobs: JobDetail[] }) {
  const jobs = useJobs();
  const live = new Map((jobs.data?.items ?? []).map((j) => [j.id, j]));
  if (queued.length === 0) return null;
  return (
    <Card className="gap-3">
      <CardHeader>
        <CardTitle className="text-sm">Queued from this page</CardTitle>
      </CardHeader>
      <CardContent>
        <ul className="space-y-2" data-testid="queued-jobs">
          {queued.map((job) => (
            <li key={job.id} className="flex items-center justify-between gap-2 text-sm">
              <Link href={jobHref(job)} className="min-w-0 truncate hover:underline">
                {jobTitle(job)}
              </Link>
              <JobStatusBadge status={live.get(job.id)?.status ?? job.status} />
            </li>
          ))}
        </ul>
      </CardContent>
    </Card>
  );
}
