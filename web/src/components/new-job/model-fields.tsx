"use client";

import { useEffect } from "react";
import { AlertTriangle, Info } from "lucide-react";

import { Label } from "@/components/ui/label";
import {
  Select,
  SelectContent,
  SelectGroup,
  SelectItem,
  SelectLabel,
  SelectTrigger,
  SelectValue,
} from "@/components/ui/select";
import { Skeleton } from "@/components/ui/skeleton";
import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs";
import type { ModelInfo } from "@/lib/api/types";
import { formatUnitPrice } from "@/lib/format";
import { lifecycleText, preferredModel, priceAt } from "@/lib/models";

export type OutputFormat = "png" | "jpeg" | "webp";

export interface GenerationSettings {
  model: string;
  /** "" = the model's default. */
  aspectRatio: string;
  /** "" = the model's default. */
  imageSize: string;
  outputFormat: OutputFormat;
}

export const DEFAULT_SETTINGS: GenerationSettings = {
  model: "",
  aspectRatio: "",
  imageSize: "",
  outputFormat: "png",
};

const MODEL_DEFAULT = "__default__";

/** What the API wants in `options`. */
export function toJobOptions(s: GenerationSettings) {
  return {
    aspect_ratio: s.aspectRatio || null,
    image_size: s.imageSize || null,
    output_format: s.outputFormat,
  };
}

export function priceFor(model: ModelInfo | undefined, imageSize: string, batch = false): number {
  if (!model) return 0;
  const table = batch ? model.batch_price_per_image : model.price_per_image;
  return priceAt(table, imageSize, model.default_image_size);
}

/** The picker's second line: the price, or why the model cannot (or should not) be used. */
function pickerNote(m: ModelInfo): string {
  if (m.status === "shut_down") return lifecycleText(m) ?? "Shut down";
  if (!m.available) return "Needs GEMINI_API_KEY";
  const price = `${formatUnitPrice(priceFor(m, ""))} / image`;
  return m.status === "deprecated" ? `Deprecated · ${price}` : price;
}

/** One line on what a model can do and what it costs. */
export function ModelSummary({ model, imageSize }: { model: ModelInfo; imageSize: string }) {
  if (model.provider === "classic") {
    return (
      <p className="flex items-start gap-1.5 text-xs text-muted-foreground">
        <Info className="mt-px size-3.5 shrink-0" aria-hidden />
        <span>
          Offline classical augmentation (geometric, photometric and weather effects), not an AI
          model. Free, no key needed. Uses the source image
          {model.max_reference_images ? " or the first reference image" : ""}.
        </span>
      </p>
    );
  }
  const price = priceFor(model, imageSize);
  const lifecycle = lifecycleText(model);
  return (
    <div className="space-y-1">
      <p className="flex items-start gap-1.5 text-xs text-muted-foreground">
        <Info className="mt-px size-3.5 shrink-0" aria-hidden />
        <span>
          Up to {model.max_reference_images} reference image
          {model.max_reference_images === 1 ? "" : "s"} ·{" "}
          {model.image_sizes.length ? `sizes ${model.image_sizes.join(" / ")}` : "about 1024 px"} ·{" "}
          <span className="font-medium text-foreground">{formatUnitPrice(price)} per image</span> (
          {formatUnitPrice(priceFor(model, imageSize, true))} through the Batch API)
          {model.preview ? " · preview model" : ""}
          {!model.available && model.status !== "shut_down"
            ? " · needs GEMINI_API_KEY on the server"
            : ""}
        </span>
      </p>
      {lifecycle ? (
        <p
          className="flex items-start gap-1.5 text-xs text-[oklch(0.5_0.13_60)]"
          data-testid="model-lifecycle"
        >
          <AlertTriangle className="mt-px size-3.5 shrink-0" aria-hidden />
          <span>
            {lifecycle}
            {model.status === "deprecated" ? ": jobs are accepted with a warning." : "."}
            {model.lifecycle_note ? ` ${model.lifecycle_note}` : ""}
          </span>
        </p>
      ) : null}
    </div>
  );
}

export function ModelFields({
  models,
  loading,
  value,
  onChange,
  idPrefix,
}: {
  models: ModelInfo[] | undefined;
  loading: boolean;
  value: GenerationSettings;
  onChange: (next: GenerationSettings) => void;
  idPrefix: string;
}) {
  const selected = models?.find((m) => m.id === value.model);

  // Pick the server's default model once the catalog arrives.
  useEffect(() => {
    if (!models?.length || value.model) return;
    const preferred = preferredModel(models);
    if (preferred) onChange({ ...value, model: preferred.id });
  }, [models, value, onChange]);

  if (loading || !models) {
    return (
      <div className="grid gap-4 sm:grid-cols-2">
        <Skeleton className="h-16" />
        <Skeleton className="h-16" />
      </div>
    );
  }

  const gemini = models.filter((m) => m.provider === "gemini");
  const classic = models.filter((m) => m.provider === "classic");
  const setModel = (id: string) => {
    const next = models.find((m) => m.id === id);
    onChange({
      ...value,
      model: id,
      aspectRatio:
        next && value.aspectRatio && !next.aspect_ratios.includes(value.aspectRatio)
          ? ""
          : value.aspectRatio,
      imageSize:
        next && value.imageSize && !next.image_sizes.includes(value.imageSize)
          ? ""
          : value.imageSize,
    });
  };

  return (
    <div className="space-y-4">
      <div className="space-y-2">
        <Label htmlFor={`${idPrefix}-model`}>Model</Label>
        <Select value={value.model} onValueChange={setModel}>
          <SelectTrigger
            id={`${idPrefix}-model`}
            className="w-full"
            aria-describedby={`${idPrefix}-model-summary`}
          >
            <SelectValue placeholder="Choose a model" />
          </SelectTrigger>
          <SelectContent>
            {gemini.length ? (
              <SelectGroup>
                <SelectLabel>Gemini image models (Nano Banana)</SelectLabel>
                {gemini.map((m) => (
                  <SelectItem
                    key={m.id}
                    value={m.id}
                    disabled={!m.available}
                    description={pickerNote(m)}
                  >
                    {m.display_name}
                  </SelectItem>
                ))}
              </SelectGroup>
            ) : null}
            {classic.length ? (
              <SelectGroup>
                <SelectLabel>Offline (not AI)</SelectLabel>
                {classic.map((m) => (
                  <SelectItem key={m.id} value={m.id} description="Classical augmentation · free">
                    Classic augmentation
                  </SelectItem>
                ))}
              </SelectGroup>
            ) : null}
          </SelectContent>
        </Select>
        <div id={`${idPrefix}-model-summary`}>
          {selected ? <ModelSummary model={selected} imageSize={value.imageSize} /> : null}
        </div>
      </div>
      <div className="grid gap-4 sm:grid-cols-2">
        <div className="space-y-2">
          <Label htmlFor={`${idPrefix}-aspect`}>Aspect ratio</Label>
          <Select
            value={value.aspectRatio || MODEL_DEFAULT}
            onValueChange={(v) => onChange({ ...value, aspectRatio: v === MODEL_DEFAULT ? "" : v })}
          >
            <SelectTrigger id={`${idPrefix}-aspect`} className="w-full">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={MODEL_DEFAULT}>Model default</SelectItem>
              {(selected?.aspect_ratios ?? []).map((r) => (
                <SelectItem key={r} value={r}>
                  {r}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
        <div className="space-y-2">
          <Label htmlFor={`${idPrefix}-size`}>Image size</Label>
          <Select
            value={value.imageSize || MODEL_DEFAULT}
            onValueChange={(v) => onChange({ ...value, imageSize: v === MODEL_DEFAULT ? "" : v })}
            disabled={!selected?.image_sizes.length}
          >
            <SelectTrigger id={`${idPrefix}-size`} className="w-full">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={MODEL_DEFAULT}>
                {selected?.image_sizes.length
                  ? `Default (${selected.default_image_size ?? "model"})`
                  : "Fixed by the model"}
              </SelectItem>
              {(selected?.image_sizes ?? []).map((s) => (
                <SelectItem
                  key={s}
                  value={s}
                  description={`${formatUnitPrice(priceFor(selected, s))} / image`}
                >
                  {s}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
      </div>
      <div className="space-y-2">
        <Label id={`${idPrefix}-format-label`}>Output format</Label>
        <Tabs
          value={value.outputFormat}
          onValueChange={(v) => onChange({ ...value, outputFormat: v as OutputFormat })}
        >
          <TabsList aria-labelledby={`${idPrefix}-format-label`}>
            <TabsTrigger value="png">PNG</TabsTrigger>
            <TabsTrigger value="jpeg">JPEG</TabsTrigger>
            <TabsTrigger value="webp">WebP</TabsTrigger>
          </TabsList>
        </Tabs>
        {/* What happens to a transparent source, said where the format is chosen. */}
        <p className="text-xs text-muted-foreground" data-testid="format-transparency">
          {selected?.provider === "gemini"
            ? "Gemini returns opaque images: transparent areas of a source come back filled, whatever the format."
            : value.outputFormat === "jpeg"
              ? "JPEG has no transparency: transparent areas are laid on white."
              : "Transparency in the source is kept."}
        </p>
      </div>
    </div>
  );
}
