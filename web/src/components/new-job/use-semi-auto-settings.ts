"use client";

import { useState } from "react";
import { toast } from "sonner";

import { type JobSpec, specNumber, specString, usePrefillFrom } from "@/components/new-job/prefill";
import type { ReferenceImage } from "@/components/new-job/reference-images";
import { useJobOptions } from "@/components/new-job/use-job-options";
import { DEFAULT_COUNT, usePromptRows } from "@/components/new-job/use-prompt-rows";
import { useFormSource } from "@/hooks/use-form-source";
import { API_BASE } from "@/lib/api/http";

/**
 * What a semi-automatic job makes: its shared reference images, its prompts with their
 * counts, and the options every job has. The form starts from `?from=JOB` (a trial tried
 * again) or a duplicated job's recipe.
 */
export function useSemiAutoSettings() {
  const [references, setReferences] = useState<ReferenceImage[]>([]);
  const rows = usePromptRows();
  const options = useJobOptions();

  usePrefillFrom((job) => {
    const given = (job.spec as JobSpec)["prompts"];
    const prompts = Array.isArray(given)
      ? given.flatMap((p: unknown) => {
          const row = (p ?? {}) as JobSpec;
          const text = specString(row, "prompt");
          return text ? [{ prompt: text, count: specNumber(row, "count") ?? DEFAULT_COUNT }] : [];
        })
      : [];
    if (prompts.length) rows.replacePrompts(prompts);
    setReferences(
      job.reference_asset_ids.map((id, i) => ({
        assetId: id,
        name: `reference ${i + 1}`,
        thumbnailUrl: `/api/v1/assets/${encodeURIComponent(id)}/thumbnail`,
        width: 0,
        height: 0,
      })),
    );
    options.applyJob(job);
  });

  // "Duplicate job": the job's recipe, editable.
  useFormSource({
    onRecipe: (recipe) => {
      if (recipe.mode !== "semi_auto") return;
      setReferences(
        (recipe.reference_asset_ids ?? []).map((id) => ({
          assetId: id,
          name: `${id.slice(0, 8)}…`,
          thumbnailUrl: `${API_BASE}/assets/${encodeURIComponent(id)}/thumbnail`,
          width: 0,
          height: 0,
        })),
      );
      rows.replacePrompts(
        recipe.prompts.map((p) => ({ prompt: p.prompt, count: p.count ?? DEFAULT_COUNT })),
      );
      options.applyRecipe(recipe);
      toast.info("Duplicating a job", { description: "Same recipe: change what you like." });
    },
    onError: (message) =>
      toast.error("Could not load the job to duplicate", { description: message }),
  });

  return { ...options, ...rows, references, setReferences };
}

export type SemiAutoSettings = ReturnType<typeof useSemiAutoSettings>;
