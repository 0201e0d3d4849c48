"use client";

import { FileArchive } from "lucide-react";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Progress } from "@/components/ui/progress";
import type { IngestReport } from "@/lib/api/types";
import { fileErrorText } from "@/lib/files";
import { formatBytes, plural } from "@/lib/format";

export interface ZipUpload {
  file: File;
  fraction: number;
  status: "uploading" | "done" | "error";
  report: IngestReport | null;
  error: string | null;
}

/** A dataset ZIP on its way: progress, then what was imported and what was refused. */
export function ZipStatus({ zip }: { zip: ZipUpload }) {
  const labels = zip.report?.label_files?.length ?? 0;
  return (
    <div className="space-y-2 rounded-lg border p-3" aria-live="polite">
      <p className="flex items-center gap-2 text-sm font-medium">
        <FileArchive className="size-4 text-muted-foreground" aria-hidden />
        {zip.file.name}
        <span className="text-xs font-normal text-muted-foreground">
          {formatBytes(zip.file.size)}
        </span>
      </p>
      {zip.status === "uploading" ? (
        <Progress value={zip.fraction * 100} aria-label="ZIP upload progress" />
      ) : zip.status === "error" ? (
        <Alert variant="destructive">
          <AlertTitle>The ZIP could not be imported</AlertTitle>
          <AlertDescription>{zip.error}</AlertDescription>
        </Alert>
      ) : zip.report ? (
        <div className="space-y-2 text-sm">
          <p data-testid="upload-complete">
            Imported {plural(zip.report.accepted.length, "image")}
            {labels ? ` and ${plural(labels, "label file")}` : ""}
            {zip.report.errors.length
              ? `, ${plural(zip.report.errors.length, "file")} refused`
              : ""}
            .
          </p>
          {zip.report.errors.length ? (
            <ul
              aria-label="Refused files"
              className="max-h-40 space-y-1 overflow-auto rounded-md border bg-background p-2 text-xs"
            >
              {zip.report.errors.map((e) => (
                <li key={e.rel_path} className="flex gap-2">
                  <span className="font-mono">{e.rel_path}</span>
                  <span className="text-destructive">{fileErrorText(e.rel_path, e.message)}</span>
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
