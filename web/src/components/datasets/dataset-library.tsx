"use client";

import { useState } from "react";
import Link from "next/link";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Check, FolderInput, Images, Pencil, Trash2, X } from "lucide-react";
import { toast } from "sonner";

import { PageHeader } from "@/components/app/page-header";
import { EmptyState, ErrorState, LoadingRows } from "@/components/app/states";
import { DatasetBrowser } from "@/components/datasets/dataset-browser";
import { DeleteDatasetDialog } from "@/components/datasets/delete-dataset-dialog";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { api } from "@/lib/api/client";
import { errorMessage } from "@/lib/api/errors";
import type { DatasetOut } from "@/lib/api/types";
import { formatAge, formatBytes, formatInt, plural } from "@/lib/format";

const FORMAT_LABEL: Record<string, string> = {
  images: "Images",
  folders: "Class folders",
  yolo: "YOLO",
  coco: "COCO",
  voc: "Pascal VOC",
};

function RenameField({ dataset, onDone }: { dataset: DatasetOut; onDone: () => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState(dataset.name);
  const rename = useMutation({
    mutationFn: () => api.renameDataset(dataset.id, name),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["datasets"] });
      onDone();
    },
    onError: (err) => toast.error("Could not rename", { description: errorMessage(err) }),
  });
  return (
    <form
      className="flex items-center gap-1"
      onSubmit={(e) => {
        e.preventDefault();
        rename.mutate();
      }}
    >
      <Input
        aria-label="Dataset name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        maxLength={255}
        className="h-8 w-64"
        autoFocus
      />
      <Button type="submit" size="icon" variant="ghost" aria-label="Save name">
        <Check aria-hidden />
      </Button>
      <Button type="button" size="icon" variant="ghost" aria-label="Cancel" onClick={onDone}>
        <X aria-hidden />
      </Button>
    </form>
  );
}

function DatasetRow({ dataset }: { dataset: DatasetOut }) {
  const [renaming, setRenaming] = useState(false);
  const [browsing, setBrowsing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  return (
    <Card data-testid="dataset-row">
      <CardContent className="space-y-3">
        <div className="flex flex-wrap items-start justify-between gap-3">
          <div className="min-w-0 space-y-1">
            {renaming ? (
              <RenameField dataset={dataset} onDone={() => setRenaming(false)} />
            ) : (
              <h2 className="flex items-center gap-2 font-semibold">
                <span className="truncate">{dataset.name || "(unnamed)"}</span>
                <Button
                  size="icon"
                  variant="ghost"
                  className="size-7"
                  aria-label={`Rename ${dataset.name}`}
                  onClick={() => setRenaming(true)}
                >
                  <Pencil aria-hidden />
                </Button>
              </h2>
            )}
            <p className="text-sm text-muted-foreground">
              {plural(dataset.item_count, "image")} ·{" "}
              {FORMAT_LABEL[dataset.label_format ?? ""] ?? "Not analysed yet"} ·{" "}
              {formatBytes(dataset.size_bytes)} · {plural(dataset.job_count, "job")} · added{" "}
              {formatAge(dataset.created_at)} ·{" "}
              <span className="font-mono text-xs">{dataset.id.slice(0, 8)}</span>
            </p>
            {dataset.classes.length > 0 ? (
              <ul className="flex flex-wrap gap-1" aria-label="Classes">
                {dataset.classes.slice(0, 12).map((c) => (
                  <li key={c}>
                    <Badge variant="secondary" className="font-mono text-xs">
                      {c}
                    </Badge>
                  </li>
                ))}
                {dataset.classes.length > 12 ? (
                  <li className="text-xs text-muted-foreground">
                    +{formatInt(dataset.classes.length - 12)} more
                  </li>
                ) : null}
              </ul>
            ) : null}
          </div>
          <div className="flex flex-wrap gap-2">
            <Button variant="outline" size="sm" onClick={() => setBrowsing((b) => !b)}>
              <Images aria-hidden /> {browsing ? "Hide images" : "Browse"}
            </Button>
            <Button variant="outline" size="sm" asChild>
              <Link href={`/new/automatic/?dataset=${dataset.id}`}>
                <FolderInput aria-hidden /> New job
              </Link>
            </Button>
            <Button
              variant="outline"
              size="sm"
              className="text-destructive hover:text-destructive"
              onClick={() => setDeleting(true)}
            >
              <Trash2 aria-hidden /> Delete
            </Button>
          </div>
        </div>
        {browsing ? <DatasetBrowser datasetId={dataset.id} total={dataset.item_count} /> : null}
      </CardContent>
      <DeleteDatasetDialog dataset={dataset} open={deleting} onOpenChange={setDeleting} />
    </Card>
  );
}

/** Every stored dataset: reuse one for a new job instead of uploading it again. */
export function DatasetLibrary() {
  const datasets = useQuery({ queryKey: ["datasets"], queryFn: api.datasets });
  return (
    <div>
      <PageHeader
        title="Datasets"
        description="Datasets you uploaded. Start a new job from one instead of uploading it again; images shared between datasets are stored once."
      />
      {datasets.isPending ? (
        <LoadingRows rows={3} />
      ) : datasets.isError ? (
        <ErrorState
          title="Could not load the datasets"
          error={datasets.error}
          onRetry={() => void datasets.refetch()}
        />
      ) : datasets.data.items.length === 0 ? (
        <EmptyState
          title="No datasets yet"
          description="Upload a folder of images in a new automatic job; it is kept here for the next one."
          action={
            <Button asChild variant="banana">
              <Link href="/new/automatic/">New automatic job</Link>
            </Button>
          }
        />
      ) : (
        <div className="space-y-3">
          {datasets.data.items.map((d) => (
            <DatasetRow key={d.id} dataset={d} />
          ))}
        </div>
      )}
    </div>
  );
}
