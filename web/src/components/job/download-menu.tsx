"use client";

import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { ChevronDown, Download, FileArchive, Loader2 } from "lucide-react";
import { toast } from "sonner";

import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { api } from "@/lib/api/client";
import { errorMessage } from "@/lib/api/errors";
import type { JobDetail } from "@/lib/api/types";
import { formatBytes, formatInt, plural } from "@/lib/format";

function zipName(job: JobDetail, suffix: string): string {
  const base = (job.name || `job-${job.id.slice(0, 8)}`).replace(/[^\w.-]+/g, "-");
  return `${base}${suffix}.zip`;
}

function PartsDialog({
  job,
  open,
  onOpenChange,
}: {
  job: JobDetail;
  open: boolean;
  onOpenChange: (o: boolean) => void;
}) {
  const parts = useQuery({
    queryKey: ["export-parts", job.id, job.revision],
    queryFn: () => api.exportParts(job.id),
    enabled: open,
  });
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Download in parts</DialogTitle>
          <DialogDescription>
            Large jobs split into several ZIPs so each download stays a manageable size.
          </DialogDescription>
        </DialogHeader>
        {parts.isPending ? (
          <p className="flex items-center gap-2 text-sm text-muted-foreground">
            <Loader2 className="size-4 animate-spin" aria-hidden /> Working out the parts…
          </p>
        ) : parts.isError ? (
          <p className="text-sm text-destructive">{errorMessage(parts.error)}</p>
        ) : (
          <ul className="divide-y rounded-md border">
            {parts.data.parts.map((p) => (
              <li
                key={p.part}
                className="flex items-center justify-between gap-3 px-3 py-2 text-sm"
              >
                <span>
                  Part {p.part} · {plural(p.outputs, "image")} · about {formatBytes(p.approx_bytes)}
                </span>
                <Button size="sm" variant="outline" asChild>
                  <a href={p.url} download>
                    <Download aria-hidden /> ZIP
                  </a>
                </Button>
              </li>
            ))}
          </ul>
        )}
      </DialogContent>
    </Dialog>
  );
}

/** Every way to download a job: whole, succeeded only, one batch, a selection, or in parts. */
export function DownloadMenu({ job, selectedIds }: { job: JobDetail; selectedIds: string[] }) {
  const [parts, setParts] = useState(false);
  const [busy, setBusy] = useState(false);
  const nothing = job.counts.succeeded === 0;
  const downloadSelection = async () => {
    setBusy(true);
    const id = toast.loading(`Preparing a ZIP of ${plural(selectedIds.length, "image")}…`);
    try {
      await api.exportSelection(job.id, selectedIds, zipName(job, "-selection"));
      toast.success("Download started", { id });
    } catch (err) {
      toast.error("Could not download the selection", { id, description: errorMessage(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button variant="banana" disabled={busy}>
            {busy ? <Loader2 className="animate-spin" aria-hidden /> : <Download aria-hidden />}{" "}
            Download
            <ChevronDown className="opacity-60" aria-hidden />
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end" className="w-64">
          <DropdownMenuLabel>ZIP with manifest</DropdownMenuLabel>
          <DropdownMenuItem asChild disabled={nothing}>
            <a href={api.exportUrl(job.id)} download data-testid="download-job">
              <FileArchive aria-hidden /> Whole job
            </a>
          </DropdownMenuItem>
          <DropdownMenuItem asChild disabled={nothing}>
            <a href={api.exportUrl(job.id, { succeeded_only: true })} download>
              <FileArchive aria-hidden /> Succeeded images only
            </a>
          </DropdownMenuItem>
          <DropdownMenuItem asChild disabled={(job.quality.review.accepted ?? 0) === 0}>
            <a
              href={api.exportUrl(job.id, { accepted_only: true })}
              download
              data-testid="download-accepted"
            >
              <FileArchive aria-hidden /> Accepted only (
              {formatInt(job.quality.review.accepted ?? 0)})
            </a>
          </DropdownMenuItem>
          {job.quality.labelled && (job.quality.flags.label_unsafe ?? 0) > 0 ? (
            <DropdownMenuItem asChild>
              <a href={api.exportUrl(job.id, { include_flagged: true })} download>
                <FileArchive aria-hidden /> With layout-moved images (
                {formatInt(job.quality.flags.label_unsafe ?? 0)})
              </a>
            </DropdownMenuItem>
          ) : null}
          <DropdownMenuItem
            disabled={selectedIds.length === 0}
            onSelect={() => void downloadSelection()}
          >
            <FileArchive aria-hidden /> Selection ({formatInt(selectedIds.length)})
          </DropdownMenuItem>
          <DropdownMenuItem disabled={nothing} onSelect={() => setParts(true)}>
            <FileArchive aria-hidden /> In parts…
          </DropdownMenuItem>
          {job.batches.length > 1 ? (
            <>
              <DropdownMenuSeparator />
              <DropdownMenuLabel>One batch</DropdownMenuLabel>
              {job.batches.map((b) => (
                <DropdownMenuItem key={b.id} asChild disabled={b.counts.succeeded === 0}>
                  <a href={api.exportUrl(job.id, { batch_id: b.id })} download>
                    <span className="truncate">{b.name || "(root folder)"}</span>
                    <span className="ml-auto text-xs text-muted-foreground tabular-nums">
                      {formatInt(b.counts.succeeded)}
                    </span>
                  </a>
                </DropdownMenuItem>
              ))}
            </>
          ) : null}
        </DropdownMenuContent>
      </DropdownMenu>
      <PartsDialog job={job} open={parts} onOpenChange={setParts} />
    </>
  );
}
