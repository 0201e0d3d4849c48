"use client";

import { useMemo, useState } from "react";
import Link from "next/link";
import { ArrowDown, ArrowUp, Download, FolderInput, ImageIcon, Sparkles } from "lucide-react";

import { JobActionsMenu } from "@/components/app/job-actions";
import { JobProgress } from "@/components/app/job-progress";
import { ModelLabel } from "@/components/app/model-label";
import { PageHeader } from "@/components/app/page-header";
import { EmptyState, ErrorState, LoadingRows } from "@/components/app/states";
import { JobStatusBadge } from "@/components/app/status-badge";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
} from "@/components/ui/table";
import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip";
import { api } from "@/lib/api/client";
import { useJobs, useModels, useSetPriority } from "@/lib/api/queries";
import type { JobSummary } from "@/lib/api/types";
import { formatAge, formatInt, formatUsd, parseApiDate } from "@/lib/format";
import { isActive, modeLabel } from "@/lib/jobs";
import { useNow } from "@/hooks/use-now";

type Filter = "all" | "active" | "finished";

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Card className="gap-1 py-4">
      <CardContent className="space-y-1">
        <p className="text-xs font-medium tracking-wide text-muted-foreground uppercase">{label}</p>
        <p className="text-2xl font-semibold tabular-nums">{value}</p>
        {hint ? <p className="text-xs text-muted-foreground">{hint}</p> : null}
      </CardContent>
    </Card>
  );
}

function PriorityControl({ job }: { job: JobSummary }) {
  const setPriority = useSetPriority();
  const active = isActive(job.status);
  const change = (delta: number) =>
    setPriority.mutate({
      id: job.id,
      priority: Math.max(-100, Math.min(100, job.priority + delta)),
    });
  return (
    <div className="flex items-center gap-1">
      <span className="w-7 text-right tabular-nums" aria-label={`Priority ${job.priority}`}>
        {job.priority > 0 ? `+${job.priority}` : job.priority}
      </span>
      {active ? (
        <span className="flex flex-col">
          <Button
            variant="ghost"
            className="h-4 w-6 p-0"
            aria-label={`Raise priority of ${job.name || job.id}`}
            disabled={setPriority.isPending || job.priority >= 100}
            onClick={() => change(1)}
          >
            <ArrowUp className="size-3" aria-hidden />
          </Button>
          <Button
            variant="ghost"
            className="h-4 w-6 p-0"
            aria-label={`Lower priority of ${job.name || job.id}`}
            disabled={setPriority.isPending || job.priority <= -100}
            onClick={() => change(-1)}
          >
            <ArrowDown className="size-3" aria-hidden />
          </Button>
        </span>
      ) : null}
    </div>
  );
}

function JobRow({
  job,
  now,
  models,
}: {
  job: JobSummary;
  now: Date;
  models?: { id: string; display_name: string }[];
}) {
  const href = `/jobs/view/?id=${encodeURIComponent(job.id)}`;
  const created = parseApiDate(job.created_at);
  return (
    <TableRow data-job-id={job.id}>
      <TableCell className="hidden w-12 text-center text-muted-foreground tabular-nums xl:table-cell">
        {job.queue_position ? (
          <Tooltip>
            <TooltipTrigger asChild>
              <span className="inline-flex size-6 items-center justify-center rounded-full bg-muted text-xs font-medium text-foreground">
                {job.queue_position}
              </span>
            </TooltipTrigger>
            <TooltipContent>Position in the queue (priority first, then age)</TooltipContent>
          </Tooltip>
        ) : (
          "—"
        )}
      </TableCell>
      <TableCell className="max-w-[400px] whitespace-normal md:min-w-[200px] md:whitespace-nowrap">
        <Link
          href={href}
          className="block font-medium break-words outline-none hover:underline focus-visible:underline md:truncate"
        >
          {job.name || `Job ${job.id.slice(0, 8)}`}
        </Link>
        <div className="mt-0.5 flex flex-wrap items-center gap-1.5 text-xs text-muted-foreground md:flex-nowrap">
          <Badge
            variant={job.mode === "semi_auto" ? "banana" : "secondary"}
            className="px-1.5 py-0"
          >
            {modeLabel(job.mode)}
          </Badge>
          <ModelLabel
            model={job.model}
            provider={job.provider}
            models={models}
            className="min-w-0"
          />
        </div>
        <div
          className="mt-0.5 text-xs text-muted-foreground xl:hidden"
          title={created?.toLocaleString()}
        >
          {formatAge(job.created_at, now)}
        </div>
        {/* On a phone the status and progress columns would be scrolled out of sight. */}
        <div className="mt-2 flex flex-col items-start gap-1.5 md:hidden">
          <JobStatusBadge status={job.status} interrupted={Boolean(job.interrupted_at)} />
          <JobProgress
            counts={job.counts}
            compact
            className="w-full"
            label={`Progress of ${job.name || job.id}`}
          />
        </div>
      </TableCell>
      <TableCell className="hidden md:table-cell">
        <JobStatusBadge status={job.status} interrupted={Boolean(job.interrupted_at)} />
        {job.queue_position ? (
          <p className="mt-1 text-xs text-muted-foreground xl:hidden">
            #{job.queue_position} in queue
          </p>
        ) : null}
        {job.error ? (
          <p className="mt-1 max-w-[200px] truncate text-xs text-destructive" title={job.error}>
            {job.error}
          </p>
        ) : null}
      </TableCell>
      <TableCell className="hidden w-[220px] min-w-[150px] md:table-cell">
        <JobProgress
          counts={job.counts}
          compact
          status={job.status}
          label={`Progress of ${job.name || job.id}`}
        />
      </TableCell>
      <TableCell className="hidden text-right tabular-nums md:table-cell">
        {job.cost_estimate === 0 && job.cost_actual === 0 ? (
          <div className="text-muted-foreground">Free</div>
        ) : (
          <>
            <div className="font-medium">{formatUsd(job.cost_actual)}</div>
            <div className="text-xs text-muted-foreground">of ~{formatUsd(job.cost_estimate)}</div>
          </>
        )}
      </TableCell>
      <TableCell
        className="hidden text-muted-foreground xl:table-cell"
        title={created?.toLocaleString()}
      >
        {formatAge(job.created_at, now)}
      </TableCell>
      <TableCell className="hidden md:table-cell">
        <PriorityControl job={job} />
      </TableCell>
      <TableCell className="w-24 text-right">
        <div className="flex items-center justify-end gap-1">
          <Tooltip>
            <TooltipTrigger asChild>
              <Button
                variant="ghost"
                size="icon-sm"
                asChild
                aria-disabled={job.counts.succeeded === 0}
                className={
                  job.counts.succeeded === 0 ? "pointer-events-none opacity-40" : undefined
                }
              >
                <a
                  href={api.exportUrl(job.id)}
                  download
                  aria-label={`Download ZIP of ${job.name || job.id}`}
                  tabIndex={job.counts.succeeded === 0 ? -1 : undefined}
                >
                  <Download aria-hidden />
                </a>
              </Button>
            </TooltipTrigger>
            <TooltipContent>Download ZIP</TooltipContent>
          </Tooltip>
          <JobActionsMenu job={job} />
        </div>
      </TableCell>
    </TableRow>
  );
}

export function JobsDashboard() {
  const [filter, setFilter] = useState<Filter>("all");
  const jobs = useJobs();
  const models = useModels();
  const now = useNow(15_000);

  const items = useMemo(() => jobs.data?.items ?? [], [jobs.data]);
  const shown = useMemo(() => {
    const list = items.filter((j) =>
      filter === "all" ? true : filter === "active" ? isActive(j.status) : !isActive(j.status),
    );
    // Queue order first (active jobs by position), then newest first.
    return [...list].sort((a, b) => {
      const pa = a.queue_position ?? Number.POSITIVE_INFINITY;
      const pb = b.queue_position ?? Number.POSITIVE_INFINITY;
      if (pa !== pb) return pa - pb;
      return b.created_at.localeCompare(a.created_at);
    });
  }, [items, filter]);

  const stats = useMemo(() => {
    const active = items.filter((j) => isActive(j.status)).length;
    const images = items.reduce((n, j) => n + j.counts.succeeded, 0);
    const spend = items.reduce((n, j) => n + j.cost_actual, 0);
    const pending = items.reduce((n, j) => n + (isActive(j.status) ? j.counts.pending : 0), 0);
    return { active, images, spend, pending };
  }, [items]);

  const actions = (
    <>
      <Button variant="outline" asChild>
        <Link href="/new/semi-auto/">
          <Sparkles aria-hidden /> New semi-auto job
        </Link>
      </Button>
      <Button variant="banana" asChild>
        <Link href="/new/automatic/">
          <FolderInput aria-hidden /> New automatic job
        </Link>
      </Button>
    </>
  );

  return (
    <div>
      <PageHeader
        title="Jobs"
        description="Every generation job, in queue order. Progress updates live."
        actions={actions}
      />
      {jobs.isPending ? (
        <LoadingRows rows={6} />
      ) : jobs.isError ? (
        <ErrorState
          title="Could not load jobs"
          error={jobs.error}
          onRetry={() => void jobs.refetch()}
        />
      ) : items.length === 0 ? (
        <EmptyState
          icon={ImageIcon}
          title="No jobs yet"
          description="Augment a dataset (drop a folder of images, get N variations of each) or generate creative batches from reference images and prompts."
          action={<div className="flex flex-wrap justify-center gap-2">{actions}</div>}
        />
      ) : (
        <div className="space-y-5">
          <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
            <Stat
              label="Active jobs"
              value={formatInt(stats.active)}
              hint={`${formatInt(stats.pending)} images to go`}
            />
            <Stat label="Images generated" value={formatInt(stats.images)} />
            <Stat label="Spend so far" value={formatUsd(stats.spend)} />
            <Stat label="Jobs" value={formatInt(jobs.data.total)} />
          </div>
          <Card className="gap-0 py-0">
            <div className="flex items-center justify-between gap-3 border-b px-4 py-3">
              <Tabs value={filter} onValueChange={(v) => setFilter(v as Filter)}>
                <TabsList aria-label="Filter jobs">
                  <TabsTrigger value="all">All</TabsTrigger>
                  <TabsTrigger value="active">Active</TabsTrigger>
                  <TabsTrigger value="finished">Finished</TabsTrigger>
                </TabsList>
              </Tabs>
              <p className="text-xs text-muted-foreground" aria-live="polite">
                {plural(shown.length)}
              </p>
            </div>
            {shown.length === 0 ? (
              <p className="px-4 py-10 text-center text-sm text-muted-foreground">
                No {filter === "active" ? "active" : "finished"} jobs.
              </p>
            ) : (
              <Table aria-label="Jobs">
                <TableHeader>
                  <TableRow className="hover:bg-transparent">
                    <TableHead className="hidden text-center xl:table-cell">Queue</TableHead>
                    <TableHead>Job</TableHead>
                    <TableHead className="hidden md:table-cell">Status</TableHead>
                    <TableHead className="hidden md:table-cell">Progress</TableHead>
                    <TableHead className="hidden text-right md:table-cell">Cost</TableHead>
                    <TableHead className="hidden xl:table-cell">Age</TableHead>
                    <TableHead className="hidden md:table-cell">Priority</TableHead>
                    <TableHead className="text-right">
                      <span className="sr-only">Actions</span>
                    </TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {shown.map((job) => (
                    <JobRow key={job.id} job={job} now={now} models={models.data} />
                  ))}
                </TableBody>
              </Table>
            )}
          </Card>
        </div>
      )}
    </div>
  );
}

function plural(n: number): string {
  return `${formatInt(n)} ${n === 1 ? "job" : "jobs"}`;
}
