"use client";

import { useState } from "react";
import { useRouter } from "next/navigation";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Copy, Loader2, Trash2 } from "lucide-react";
import { toast } from "sonner";

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
import { api } from "@/lib/api/client";
import { errorMessage } from "@/lib/api/errors";
import type { JobDetail } from "@/lib/api/types";
import { formatBytes, plural } from "@/lib/format";

/** Opens the job's form prefilled with its recipe (same prompts, seed and settings). */
export function DuplicateJobButton({ job }: { job: JobDetail }) {
  const router = useRouter();
  const form = job.mode === "automatic" ? "/new/automatic/" : "/new/semi-auto/";
  return (
    <Button
      variant="outline"
      onClick={() => router.push(`${form}?from=${encodeURIComponent(job.id)}`)}
    >
      <Copy aria-hidden /> Duplicate
    </Button>
  );
}

/** Delete with its files; the confirmation says how much space it frees, or why not yet. */
export function DeleteJobButton({ job }: { job: JobDetail }) {
  const [open, setOpen] = useState(false);
  const router = useRouter();
  const qc = useQueryClient();
  const storage = useQuery({
    queryKey: ["job-storage", job.id, job.status],
    queryFn: () => api.jobStorage(job.id),
    enabled: open,
  });
  const remove = useMutation({
    mutationFn: () => api.deleteJob(job.id),
    onSuccess: (done) => {
      qc.removeQueries({ queryKey: ["job", job.id] });
      void qc.invalidateQueries({ queryKey: ["jobs"] });
      void qc.invalidateQueries({ queryKey: ["datasets"] });
      toast.success(`Deleted ${done.name || "the job"}`, {
        description: `Freed ${formatBytes(done.freed_bytes)} (${plural(done.freed_files, "file")}).`,
      });
      router.push("/");
    },
    onError: (err) => toast.error("Could not delete the job", { description: errorMessage(err) }),
  });
  const info = storage.data;
  return (
    <>
      <Button
        variant="outline"
        className="text-destructive hover:text-destructive"
        onClick={() => setOpen(true)}
      >
        <Trash2 aria-hidden /> Delete
      </Button>
      <AlertDialog open={open} onOpenChange={setOpen}>
        <AlertDialogContent>
          <AlertDialogHeader>
            <AlertDialogTitle>Delete {job.name || "this job"}?</AlertDialogTitle>
            <AlertDialogDescription data-testid="delete-job-detail">
              {storage.isPending
                ? "Measuring its files…"
                : storage.isError
                  ? errorMessage(storage.error)
                  : info && !info.deletable
                    ? info.reason
                    : info
                      ? `Its ${plural(info.files, "file")} (outputs and thumbnails) take ${formatBytes(info.bytes)}; deleting frees that space. What it cost stays in the spend totals. This cannot be undone.`
                      : null}
            </AlertDialogDescription>
          </AlertDialogHeader>
          <AlertDialogFooter>
            <AlertDialogCancel>Keep it</AlertDialogCancel>
            <AlertDialogAction
              className="bg-destructive text-white hover:bg-destructive/90"
              disabled={!info?.deletable || remove.isPending}
              onClick={(e) => {
                e.preventDefault();
                remove.mutate();
              }}
            >
              {remove.isPending ? <Loader2 className="animate-spin" aria-hidden /> : null}
              Delete job
            </AlertDialogAction>
          </AlertDialogFooter>
        </AlertDialogContent>
      </AlertDialog>
    </>
  );
}
