"use client";

import Link from "next/link";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Loader2 } from "lucide-react";
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
import { api } from "@/lib/api/client";
import { errorMessage } from "@/lib/api/errors";
import type { DatasetOut } from "@/lib/api/types";
import { formatBytes, plural } from "@/lib/format";

/** Says what a delete frees first; while jobs use the dataset it lists them instead. */
export function DeleteDatasetDialog({
  dataset,
  open,
  onOpenChange,
}: {
  dataset: DatasetOut;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const qc = useQueryClient();
  const usage = useQuery({
    queryKey: ["dataset-usage", dataset.id],
    queryFn: () => api.datasetUsage(dataset.id),
    enabled: open,
  });
  const remove = useMutation({
    mutationFn: () => api.deleteDataset(dataset.id),
    onSuccess: (done) => {
      void qc.invalidateQueries({ queryKey: ["datasets"] });
      toast.success(`Dataset ${done.name || dataset.id.slice(0, 8)} deleted`, {
        description: `Freed ${formatBytes(done.freed_bytes)} (${plural(done.freed_files, "file")}).`,
      });
      onOpenChange(false);
    },
    onError: (err) =>
      toast.error("Could not delete the dataset", { description: errorMessage(err) }),
  });
  const jobs = usage.data?.jobs ?? [];
  return (
    <AlertDialog open={open} onOpenChange={onOpenChange}>
      <AlertDialogContent>
        <AlertDialogHeader>
          <AlertDialogTitle>Delete {dataset.name || "this dataset"}?</AlertDialogTitle>
          <AlertDialogDescription asChild>
            <div className="space-y-2" data-testid="delete-dataset-detail">
              {usage.isPending ? (
                <span className="flex items-center gap-2">
                  <Loader2 className="size-4 animate-spin" aria-hidden /> Checking what it frees…
                </span>
              ) : usage.isError ? (
                <span>{errorMessage(usage.error)}</span>
              ) : jobs.length > 0 ? (
                <>
                  <span className="block">
                    {plural(jobs.length, "job")} {jobs.length === 1 ? "was" : "were"} made from it;
                    their exports and retries need its images. Delete{" "}
                    {jobs.length === 1 ? "that job" : "those jobs"} first:
                  </span>
                  <ul className="list-disc pl-5">
                    {jobs.slice(0, 8).map((j) => (
                      <li key={j.id}>
                        <Link className="underline" href={`/jobs/view/?id=${j.id}`}>
                          {j.name || j.id.slice(0, 8)}
                        </Link>{" "}
                        ({j.status.replaceAll("_", " ")})
                      </li>
                    ))}
                  </ul>
                </>
              ) : (
                <span className="block">
                  {plural(usage.data?.item_count ?? 0, "image")} ·{" "}
                  {formatBytes(usage.data?.size_bytes ?? 0)} stored. Deleting it frees{" "}
                  <strong>{formatBytes(usage.data?.freed_bytes_if_deleted ?? 0)}</strong> (images
                  another dataset or job uses stay stored).
                </span>
              )}
            </div>
          </AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel>Keep it</AlertDialogCancel>
          <AlertDialogAction
            className="bg-destructive text-white hover:bg-destructive/90"
            disabled={!usage.data || jobs.length > 0 || remove.isPending}
            onClick={(e) => {
              e.preventDefault();
              remove.mutate();
            }}
          >
            {remove.isPending ? <Loader2 className="animate-spin" aria-hidden /> : null}
            Delete dataset
          </AlertDialogAction>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}
