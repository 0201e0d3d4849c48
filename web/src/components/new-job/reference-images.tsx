"use client";

import { useState } from "react";
import { AlertTriangle, ImagePlus, Loader2, X } from "lucide-react";
import { toast } from "sonner";

import { Alert, AlertDescription } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Progress } from "@/components/ui/progress";
import { Dropzone, type RawFiles } from "@/components/new-job/dropzone";
import { api } from "@/lib/api/client";
import { errorMessage } from "@/lib/api/errors";
import { fileErrorText, isImagePath } from "@/lib/files";
import { plural } from "@/lib/format";
import { cn } from "@/lib/utils";

export interface ReferenceImage {
  assetId: string;
  name: string;
  thumbnailUrl: string;
  width: number;
  height: number;
}

/**
 * Reference images for a semi-automatic job, uploaded to /assets as soon as
 * they are chosen. The model's limit is shown and enforced: extra images are
 * not uploaded, and a model switch that lowers the limit is flagged.
 */
export function ReferenceImages({
  value,
  onChange,
  limit,
  used = limit,
  warning = null,
  modelName,
}: {
  value: ReferenceImage[];
  onChange: (next: ReferenceImage[]) => void;
  limit: number;
  /** References the model really uses (classic: only the first). */
  used?: number;
  /** The estimate's `reference_warning`, when the server has priced this job. */
  warning?: string | null;
  modelName: string;
}) {
  const [progress, setProgress] = useState<number | null>(null);
  const [errors, setErrors] = useState<{ name: string; message: string }[]>([]);
  const room = Math.max(0, limit - value.length);
  const over = value.length > limit;
  const ignored = !over && value.length > used;
  const ignoredText = ignored
    ? (warning ??
      `${modelName} uses only the first ${used === 1 ? "reference image" : plural(used, "reference image")}; the other ${value.length - used} will be ignored.`)
    : null;

  const add = async (raw: RawFiles) => {
    const images = raw.filter((r) => isImagePath(r.path || r.file.name)).map((r) => r.file);
    if (images.length === 0) {
      toast.error("No images found", { description: "Choose JPEG, PNG or WebP images." });
      return;
    }
    if (room === 0) {
      toast.error(`${modelName} takes at most ${plural(limit, "reference image")}`, {
        description: "Remove one before adding another, or choose a model that accepts more.",
      });
      return;
    }
    const accepted = images.slice(0, room);
    if (images.length > room) {
      toast.warning(`Only ${plural(room, "more image")} fit`, {
        description: `${modelName} takes at most ${limit}; ${plural(images.length - room, "image")} left out.`,
      });
    }
    setProgress(0);
    setErrors([]);
    try {
      const report = await api.uploadAssets(accepted, setProgress);
      const added: ReferenceImage[] = report.accepted.map((a) => ({
        assetId: a.asset_id,
        name: a.rel_path,
        thumbnailUrl: a.thumbnail_url,
        width: a.width,
        height: a.height,
      }));
      const known = new Set(value.map((v) => v.assetId));
      onChange([...value, ...added.filter((a) => !known.has(a.assetId))]);
      setErrors(
        report.errors.map((e) => ({
          name: e.rel_path,
          message: fileErrorText(e.rel_path, e.message),
        })),
      );
    } catch (err) {
      setErrors([{ name: "Upload", message: errorMessage(err) }]);
    } finally {
      setProgress(null);
    }
  };

  return (
    <div className="space-y-4">
      <div className="flex items-center justify-between text-sm">
        <span className="font-medium">Reference images</span>
        <span
          className={cn(
            "tabular-nums",
            over ? "font-medium text-destructive" : "text-muted-foreground",
          )}
          data-testid="reference-count"
        >
          {value.length} / {limit} for {modelName}
        </span>
      </div>
      {value.length > 0 ? (
        <ul
          className="grid grid-cols-3 gap-3 sm:grid-cols-4 xl:grid-cols-6"
          aria-label="Reference images"
        >
          {value.map((ref, i) => (
            <li
              key={ref.assetId}
              className={cn(
                "group bg-checker relative aspect-square overflow-hidden rounded-lg border",
                i >= limit && "ring-2 ring-destructive",
                i < limit && i >= used && "opacity-60",
              )}
              data-ignored={i < limit && i >= used ? "" : undefined}
            >
              <img
                src={ref.thumbnailUrl}
                alt={ref.name}
                className="size-full object-cover"
                loading="lazy"
              />
              <span
                className="absolute inset-x-0 bottom-0 truncate bg-black/55 px-1.5 py-0.5 text-[10px] text-white"
                title={ref.name}
              >
                {i < limit && i >= used ? `Ignored · ${ref.name}` : ref.name}
              </span>
              <Button
                type="button"
                size="icon-sm"
                variant="secondary"
                className="absolute top-1 right-1 size-6 opacity-90 shadow-sm"
                aria-label={`Remove ${ref.name}`}
                onClick={() => onChange(value.filter((v) => v.assetId !== ref.assetId))}
              >
                <X className="size-3.5" aria-hidden />
              </Button>
            </li>
          ))}
          {room > 0 ? (
            <li className="flex aspect-square items-center justify-center rounded-lg border border-dashed text-muted-foreground">
              <ImagePlus className="size-5" aria-hidden />
              <span className="sr-only">{plural(room, "more image")} allowed</span>
            </li>
          ) : null}
        </ul>
      ) : null}
      {over ? (
        <Alert variant="destructive">
          <AlertDescription>
            {modelName} accepts at most {plural(limit, "reference image")}. Remove{" "}
            {value.length - limit} or choose another model.
          </AlertDescription>
        </Alert>
      ) : null}
      {ignoredText ? (
        <Alert data-testid="reference-warning">
          <AlertTriangle aria-hidden />
          <AlertDescription>{ignoredText}</AlertDescription>
        </Alert>
      ) : null}
      {progress !== null ? (
        <div className="space-y-1" role="status">
          <p className="flex items-center gap-2 text-xs text-muted-foreground">
            <Loader2 className="size-3.5 animate-spin" aria-hidden /> Uploading…
          </p>
          <Progress value={progress * 100} aria-label="Reference upload progress" />
        </div>
      ) : null}
      {room > 0 || value.length === 0 ? (
        <Dropzone
          idPrefix="references"
          title={value.length ? "Add more reference images" : "Drop reference images here"}
          hint={`Up to ${plural(limit, "image")} with this model. They guide every image of the job.`}
          onFiles={(files) => void add(files)}
          disabled={progress !== null || room === 0}
          allowFolder={false}
          allowZip={false}
          compact
        />
      ) : null}
      {errors.length ? (
        <Alert variant="destructive">
          <AlertDescription>
            <ul className="space-y-0.5">
              {errors.map((e) => (
                <li key={e.name}>
                  <span className="font-mono">{e.name}</span>: {e.message}
                </li>
              ))}
            </ul>
          </AlertDescription>
        </Alert>
      ) : null}
    </div>
  );
}
