"use client";

import { useState } from "react";
import { toast } from "sonner";

import { type JobSpec, specNumber, specString, usePrefillFrom } from "@/components/new-job/prefill";
import { useJobOptions } from "@/components/new-job/use-job-options";
import type { DatasetSource } from "@/components/new-job/use-dataset-source";
import { useFormSource } from "@/hooks/use-form-source";
import { api } from "@/lib/api/client";
import type { JobCreate } from "@/lib/api/types";

/**
 * What an automatic job does with its dataset: the base prompt, variations per image, the
 * originals and splits, per-class prompts, and the options every job has. The form starts
 * from `?from=JOB` (a trial tried again), a duplicated job's recipe or `?dataset=ID`.
 */
export function useAutomaticSettings(source: Pick<DatasetSource, "adoptDataset" | "openStored">) {
  const options = useJobOptions();
  const [prompt, setPrompt] = useState("");
  const [variations, setVariations] = useState(2);
  const [includeOriginals, setIncludeOriginals] = useState<boolean | null>(null);
  const [splits, setSplits] = useState<string[] | null>(null);
  const [classPrompts, setClassPrompts] = useState<Record<string, string>>({});

  usePrefillFrom(async (job) => {
    const spec = job.spec as JobSpec;
    if (job.dataset_id) source.adoptDataset(await api.dataset(job.dataset_id));
    setPrompt(specString(spec, "prompt"));
    setVariations(specNumber(spec, "variations") ?? 1);
    options.applyJob(job);
    setIncludeOriginals(job.include_originals);
    const perClass = spec["per_class_prompts"];
    if (perClass && typeof perClass === "object") {
      setClassPrompts(perClass as Record<string, string>);
    }
  });

  useFormSource({
    onDataset: (id) => void source.openStored(id),
    onRecipe: (recipe: JobCreate) => {
      if (recipe.mode !== "automatic") return;
      void source.openStored(recipe.dataset_id);
      setPrompt(recipe.prompt);
      setVariations(recipe.variations ?? 1);
      options.applyRecipe(recipe);
      setIncludeOriginals(recipe.include_originals ?? null);
      setSplits(recipe.splits ?? null);
      setClassPrompts(recipe.per_class_prompts ?? {});
      toast.info("Duplicating a job", { description: "Same recipe: change what you like." });
    },
    onError: (message) =>
      toast.error("Could not load the job to duplicate", { description: message }),
  });

  /** A new dataset has its own labels: its splits and originals default again. */
  const resetDatasetChoices = () => {
    setSplits(null);
    setIncludeOriginals(null);
  };

  return {
    ...options,
    prompt,
    setPrompt,
    variations,
    setVariations,
    includeOriginals,
    setIncludeOriginals,
    splits,
    setSplits,
    classPrompts,
    setClassPrompts,
    resetDatasetChoices,
  };
}

export type AutomaticSettings = ReturnType<typeof useAutomaticSettings>;
