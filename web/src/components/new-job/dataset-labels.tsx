"use client";

import { AlertTriangle, Tags } from "lucide-react";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Checkbox } from "@/components/ui/checkbox";
import type { DatasetLabels, SplitEstimate } from "@/lib/api/types";
import { formatInt, plural } from "@/lib/format";

const FORMAT_NAME: Record<DatasetLabels["format"], string> = {
  yolo: "YOLO",
  coco: "COCO",
  voc: "Pascal VOC",
  folders: "Class folders",
  images: "Images",
};
const TASK_NAME: Record<string, string> = {
  detect: "detection",
  segment: "segmentation",
  classify: "classification",
};

/** Whether the dataset brings labels or splits worth showing in detail. */
export function hasLabelDetail(labels: DatasetLabels | null | undefined): boolean {
  if (!labels) return false;
  return labels.format !== "images" && labels.format !== "folders"
    ? true
    : labels.splits.some((s) => s.name !== "");
}

/**
 * What the server found in the dataset before the job starts: format, classes
 * with counts, splits (tick the ones to augment), images without labels and one
 * problem per file.
 */
export function DatasetLabelsPanel({
  labels,
  splits,
  onSplitsChange,
}: {
  labels: DatasetLabels;
  /** The splits to augment; null: the server's default. */
  splits: string[] | null;
  onSplitsChange: (splits: string[]) => void;
}) {
  const chosen = new Set(splits ?? labels.default_splits);
  const named = labels.splits.filter((s) => s.name !== "");
  const toggle = (name: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(name);
    else next.delete(name);
    onSplitsChange(named.map((s) => s.name).filter((n) => next.has(n)));
  };
  return (
    <div className="space-y-4" data-testid="dataset-labels">
      <p className="flex flex-wrap items-center gap-2 text-sm font-medium">
        <Tags className="size-4 text-muted-foreground" aria-hidden />
        <span data-testid="label-format">
          {FORMAT_NAME[labels.format]}
          {labels.task ? ` ${TASK_NAME[labels.task] ?? labels.task}` : ""} dataset
        </span>
        <span className="text-xs font-normal text-muted-foreground">· stored on the server</span>
      </p>
      {labels.classes.length ? (
        <ul className="flex flex-wrap gap-1.5" aria-label="Classes">
          {labels.classes.map((c) => (
            <li key={c.id}>
              <Badge variant="secondary" className="gap-1.5 py-1 text-xs" title={`id ${c.id}`}>
                <span className="font-mono">{c.name}</span>
                <span className="rounded bg-background px-1 tabular-nums">
                  {formatInt(c.count)}
                </span>
              </Badge>
            </li>
          ))}
        </ul>
      ) : null}
      {named.length ? (
        <fieldset className="space-y-1.5">
          <legend className="mb-1 text-sm font-medium">Splits to augment</legend>
          <p className="text-xs text-muted-foreground">
            The others pass through to the download untouched.
          </p>
          <ul className="divide-y rounded-md border" aria-label="Splits">
            {named.map((s) => (
              <li
                key={s.name}
                className="flex items-center gap-3 px-3 py-2 text-sm"
                data-testid="split-row"
              >
                <Checkbox
                  id={`split-${s.name}`}
                  checked={chosen.has(s.name)}
                  onCheckedChange={(v) => toggle(s.name, v === true)}
                />
                <label htmlFor={`split-${s.name}`} className="flex-1 font-mono">
                  {s.name}
                </label>
                <span className="text-xs text-muted-foreground tabular-nums">
                  {plural(s.images, "image")}
                  {labels.format !== "folders" && labels.format !== "images"
                    ? ` · ${plural(s.objects, "object")}`
                    : ""}
                </span>
              </li>
            ))}
          </ul>
        </fieldset>
      ) : null}
      {labels.unlabelled_count ? (
        <p className="text-xs text-muted-foreground" data-testid="unlabelled">
          {plural(labels.unlabelled_count, "image")} without a label file (for example{" "}
          <span className="font-mono">{labels.unlabelled[0]}</span>).
        </p>
      ) : null}
      {labels.problem_count ? (
        <Alert variant="warning" data-testid="label-problems">
          <AlertTriangle aria-hidden />
          <AlertTitle>
            {plural(labels.problem_count, "problem")} in the labels
            {labels.problem_images
              ? ` · ${plural(labels.problem_images, "image")} kept as they came, not augmented`
              : ""}
          </AlertTitle>
          <AlertDescription>
            <ul className="max-h-40 space-y-1 overflow-auto text-xs">
              {labels.problems.map((p) => (
                <li key={`${p.path}:${p.code}`} className="break-words">
                  {p.message}
                </li>
              ))}
            </ul>
          </AlertDescription>
        </Alert>
      ) : null}
    </div>
  );
}

/** Which images of which split the job generates from, beside the estimate. */
export function SplitEstimateList({
  splits,
  skipped,
}: {
  splits: SplitEstimate[];
  skipped: number;
}) {
  if (!splits.length && !skipped) return null;
  return (
    <div className="space-y-1 text-xs" data-testid="estimate-splits">
      {splits.map((s) => (
        <p key={s.name} className="flex justify-between gap-3">
          <span className="font-mono">{s.name || "(no split)"}</span>
          <span className="text-muted-foreground tabular-nums">
            {s.augmented
              ? `${formatInt(s.images)} → ${plural(s.outputs, "new image")}`
              : `${plural(s.images, "image")}, untouched`}
          </span>
        </p>
      ))}
      {skipped ? (
        <p className="text-muted-foreground">
          {plural(skipped, "image")} with unreadable labels left as they came.
        </p>
      ) : null}
    </div>
  );
}
