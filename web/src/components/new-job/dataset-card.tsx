"use client";

import { FolderTree, Loader2, RotateCcw } from "lucide-react";

import { Alert, AlertDescription } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import {
  Card,
  CardAction,
  CardContent,
  CardDescription,
  CardHeader,
  CardTitle,
} from "@/components/ui/card";
import { DatasetLabelsPanel } from "@/components/new-job/dataset-labels";
import { Dropzone } from "@/components/new-job/dropzone";
import { StoredDatasets } from "@/components/new-job/stored-datasets";
import { UploadPanel } from "@/components/new-job/upload-panel";
import type { DatasetSource } from "@/components/new-job/use-dataset-source";
import { ZipStatus } from "@/components/new-job/zip-status";
import type { FolderCount } from "@/lib/files";
import { formatInt, plural } from "@/lib/format";

function ClassChips({ folders, source }: { folders: FolderCount[]; source: "server" | "local" }) {
  return (
    <div className="space-y-2" data-testid="detected-classes">
      <p className="flex items-center gap-1.5 text-sm font-medium">
        <FolderTree className="size-4 text-muted-foreground" aria-hidden />
        {folders.length === 1 && folders[0]?.folder === ""
          ? "Flat dataset (no class folders)"
          : `${plural(folders.length, "class", "classes")} detected`}
        <span className="text-xs font-normal text-muted-foreground">
          {source === "server" ? "· stored on the server" : "· in your selection"}
        </span>
      </p>
      <ul className="flex flex-wrap gap-1.5" aria-label="Classes">
        {folders.map((f) => (
          <li key={f.folder}>
            <Badge variant="secondary" className="gap-1.5 py-1 text-xs">
              <span className="font-mono">{f.folder || "(root)"}</span>
              <span className="rounded bg-background px-1 tabular-nums">{formatInt(f.count)}</span>
            </Badge>
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * Step 1 of the automatic form: drop a folder or ZIP (or pick a stored dataset), follow
 * its upload, and see the classes, labels and splits found in it.
 */
export function DatasetCard({
  source,
  splits,
  onSplitsChange,
  onStartOver,
}: {
  source: DatasetSource;
  /** The splits to augment; null: the server's default. */
  splits: string[] | null;
  onSplitsChange: (splits: string[]) => void;
  onStartOver: () => void;
}) {
  const {
    dataset,
    datasetName,
    stored,
    itemCount,
    labels,
    labelled,
    folders,
    queue,
    totals,
    version,
    skipped,
    zip,
    starting,
    fromLibrary,
    notes,
    finished,
    finishing,
    openStored,
    onFiles,
  } = source;
  return (
    <Card>
      <CardHeader>
        <CardTitle>1. Dataset</CardTitle>
        <CardDescription>
          A folder of images, with one sub-folder per class (like{" "}
          <span className="font-mono">cat/</span>, <span className="font-mono">dog/</span>), or a
          ZIP of one.
        </CardDescription>
        {dataset ? (
          <CardAction>
            <Button variant="ghost" size="sm" onClick={onStartOver}>
              <RotateCcw aria-hidden /> Start over
            </Button>
          </CardAction>
        ) : null}
      </CardHeader>
      <CardContent className="space-y-5">
        {fromLibrary ? null : (
          <Dropzone
            idPrefix="dataset"
            title={dataset ? "Drop more images to add them" : "Drop a folder or a ZIP here"}
            hint="Sub-folders are kept as classes. Thousands of files are fine: they upload in parallel and retry on errors."
            onFiles={(files) => void onFiles(files)}
            disabled={starting || finishing || zip?.status === "uploading"}
            compact={Boolean(dataset)}
          />
        )}
        {notes.map((note) => (
          <Alert
            key={note.kind}
            variant={note.kind === "nested" ? "default" : "destructive"}
            data-testid={`selection-note-${note.kind}`}
          >
            <AlertDescription>{note.text}</AlertDescription>
          </Alert>
        ))}
        {finished?.outcome === "reused" ? (
          <Alert data-testid="dataset-reused">
            <AlertDescription>{finished.message}</AlertDescription>
          </Alert>
        ) : null}
        {!dataset && !starting ? <StoredDatasets onPick={(id) => void openStored(id)} /> : null}
        {starting ? (
          <p className="flex items-center gap-2 text-sm text-muted-foreground" role="status">
            <Loader2 className="size-4 animate-spin" aria-hidden /> Creating the dataset…
          </p>
        ) : null}
        {dataset ? (
          <p className="text-sm text-muted-foreground">
            Dataset{" "}
            <span className="font-medium text-foreground" data-testid="dataset-name">
              {datasetName || dataset.name}
            </span>
            {itemCount > 0 ? ` · ${plural(itemCount, "image")} stored` : ""}
            {fromLibrary ? " · already uploaded, nothing to send" : ""}
          </p>
        ) : null}
        {zip ? <ZipStatus zip={zip} /> : null}
        {queue && totals.files > 0 ? (
          <UploadPanel queue={queue} totals={totals} version={version} />
        ) : null}
        {skipped.length > 0 ? (
          <p className="text-xs text-muted-foreground">
            {plural(skipped.length, "file")} skipped:{" "}
            {skipped.length === 1 ? "it is not an image" : "they are not images"} (for example{" "}
            <span className="font-mono">{skipped[0]}</span>).
          </p>
        ) : null}
        {labels && labelled ? (
          <DatasetLabelsPanel labels={labels} splits={splits} onSplitsChange={onSplitsChange} />
        ) : folders.length > 0 ? (
          <ClassChips
            folders={folders}
            source={stored && stored.item_count > 0 ? "server" : "local"}
          />
        ) : null}
      </CardContent>
    </Card>
  );
}
