"use client";

import { useEffect, useState } from "react";

import { DEFAULT_SETTINGS, type GenerationSettings } from "@/components/new-job/model-fields";
import { settingsOf } from "@/components/new-job/prefill";
import { DEFAULT_TRIAL_SIZE } from "@/components/new-job/trial-controls";
import type { JobCreate, JobDetail } from "@/lib/api/types";
import { randomSeed } from "@/lib/seed";

/**
 * The settings every new job has, whatever its mode: model and image shape, name, seed,
 * queue priority, cost cap, Batch API, webhook and trial size. Each form adds its own.
 */
export function useJobOptions() {
  const [settings, setSettings] = useState<GenerationSettings>(DEFAULT_SETTINGS);
  const [name, setName] = useState("");
  const [seed, setSeed] = useState("");
  // The seed is drawn before the first preview (after mount: the page is prerendered), so
  // the previewed prompts are the ones the job renders; Advanced shows it and re-rolls it.
  useEffect(() => {
    const frame = requestAnimationFrame(() => setSeed((s) => s || String(randomSeed())));
    return () => cancelAnimationFrame(frame);
  }, []);
  const [priority, setPriority] = useState(0);
  const [maxCost, setMaxCost] = useState("");
  const [useBatchApi, setUseBatchApi] = useState(false);
  const [webhookUrl, setWebhookUrl] = useState("");
  const [trialSize, setTrialSize] = useState(String(DEFAULT_TRIAL_SIZE));

  /** `?from=JOB` (a trial's "Change the prompt"): the job's model and trial size. */
  const applyJob = (job: JobDetail) => {
    setSettings(settingsOf(job));
    // The same seed samples the same images (or slots): compare like with like.
    setSeed(String(job.seed));
    setTrialSize(String(job.trial?.size ?? DEFAULT_TRIAL_SIZE));
  };

  /** "Duplicate job": the fields of the job's recipe that every mode shares. */
  const applyRecipe = (recipe: JobCreate) => {
    setSettings({
      model: recipe.model ?? "",
      aspectRatio: recipe.options?.aspect_ratio ?? "",
      imageSize: recipe.options?.image_size ?? "",
      outputFormat: recipe.options?.output_format ?? "png",
    });
    setName(recipe.name ?? "");
    if (recipe.seed !== null && recipe.seed !== undefined) setSeed(String(recipe.seed));
    setPriority(recipe.priority ?? 0);
    setMaxCost(recipe.max_cost ? String(recipe.max_cost) : "");
    setUseBatchApi(recipe.use_batch_api ?? false);
    setWebhookUrl(recipe.webhook_url ?? "");
  };

  return {
    settings,
    setSettings,
    name,
    setName,
    seed,
    setSeed,
    priority,
    setPriority,
    maxCost,
    setMaxCost,
    useBatchApi,
    setUseBatchApi,
    webhookUrl,
    setWebhookUrl,
    trialSize,
    setTrialSize,
    applyJob,
    applyRecipe,
  };
}

export type JobOptions = ReturnType<typeof useJobOptions>;
