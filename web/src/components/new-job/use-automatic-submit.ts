"use client";

import { useMemo } from "react";
import { useRouter } from "next/navigation";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { parseMaxCost, parseWebhookUrl } from "@/components/new-job/advanced-options";
import { toJobOptions } from "@/components/new-job/model-fields";
import { parseTrialSize } from "@/components/new-job/trial-controls";
import type { AutomaticSettings } from "@/components/new-job/use-automatic-settings";
import type { DatasetSource } from "@/components/new-job/use-dataset-source";
import { useDebounced } from "@/hooks/use-debounced";
import { api } from "@/lib/api/client";
import { ApiError, errorMessage, fieldErrors } from "@/lib/api/errors";
import { PROMPT_MAX_CHARS } from "@/lib/api/limits";
import type { AutomaticJobCreate, ModelInfo } from "@/lib/api/types";
import { parseSeed } from "@/lib/seed";
import { AUTOMATIC_VARIABLES, analyzeTemplate } from "@/lib/template";

/**
 * Starting an automatic job: the request the form describes (null while a field is
 * invalid), its live estimate, the create call, and what still blocks the start.
 */
export function useAutomaticSubmit(
  source: DatasetSource,
  form: AutomaticSettings,
  selectedModel: ModelInfo | undefined,
) {
  const router = useRouter();
  const qc = useQueryClient();
  const { dataset, datasetName, itemCount, uploading, finishing } = source;
  const {
    settings,
    name,
    prompt,
    variations,
    includeOriginals,
    splits,
    priority,
    seed,
    classPrompts,
    maxCost,
    useBatchApi,
    webhookUrl,
    trialSize,
  } = form;

  const analysis = useMemo(() => analyzeTemplate(prompt, AUTOMATIC_VARIABLES), [prompt]);
  const parsedSeed = parseSeed(seed);
  const request: AutomaticJobCreate | null = useMemo(() => {
    if (!dataset || !settings.model) return null;
    const cap = parseMaxCost(maxCost);
    if (cap === undefined) return null; // the field says what is wrong
    const hook = parseWebhookUrl(webhookUrl);
    if (hook === undefined) return null;
    return {
      mode: "automatic",
      name: name.trim() || datasetName.trim() || "",
      dataset_id: dataset.id,
      prompt,
      variations,
      model: settings.model,
      options: toJobOptions(settings),
      include_originals: includeOriginals,
      splits,
      priority,
      max_cost: cap,
      use_batch_api: useBatchApi && selectedModel?.provider === "gemini",
      batch_fallback: "batch",
      webhook_url: hook,
      seed: typeof parsedSeed === "number" ? parsedSeed : null,
      per_class_prompts: Object.fromEntries(
        Object.entries(classPrompts).filter(([, text]) => text.trim()),
      ),
    };
  }, [
    dataset,
    settings,
    name,
    datasetName,
    prompt,
    variations,
    includeOriginals,
    splits,
    priority,
    parsedSeed,
    classPrompts,
    maxCost,
    useBatchApi,
    selectedModel,
    webhookUrl,
  ]);

  const waitingFor = !dataset
    ? "Add a dataset to see the estimate."
    : itemCount === 0
      ? uploading
        ? "Waiting for the first images to arrive…"
        : "The dataset has no usable images yet."
      : !prompt.trim()
        ? "Write a prompt to see the estimate."
        : null;

  const trialN = parseTrialSize(trialSize);
  // Priced with the trial too, so the card can say what the trial and the rest cost.
  const estimateRequest = useMemo(
    () => (request && trialN !== null ? { ...request, trial: trialN } : request),
    [request, trialN],
  );
  const estimateBody = useDebounced(estimateRequest, 350);
  const estimate = useQuery({
    queryKey: ["estimate", estimateBody, itemCount],
    queryFn: ({ signal }) => api.estimate(estimateBody!, signal),
    enabled: Boolean(estimateBody) && !waitingFor,
    placeholderData: (prev) => prev,
    retry: false,
  });

  const create = useMutation({
    mutationFn: (req: AutomaticJobCreate) => api.createJob(req),
    onSuccess: (job) => {
      void qc.invalidateQueries({ queryKey: ["jobs"] });
      toast.success(job.trial ? "Trial started" : "Job started", {
        description: job.name || "Automatic job",
      });
      for (const warning of job.warnings) toast.warning("Note", { description: warning });
      router.push(`/jobs/view/?id=${encodeURIComponent(job.id)}`);
    },
    onError: (err) => toast.error("Could not start the job", { description: errorMessage(err) }),
  });

  // A field's server error is shown at the field, from the estimate (as typed) or the create.
  const serverFieldErrors = { ...fieldErrors(estimate.error), ...fieldErrors(create.error) };

  const blocker = !dataset
    ? "Add a dataset first."
    : uploading || finishing
      ? "Wait for the upload to finish."
      : itemCount === 0
        ? "The dataset has no usable images."
        : !prompt.trim()
          ? "Write a prompt."
          : prompt.length > PROMPT_MAX_CHARS
            ? "Shorten the prompt."
            : analysis.issues.length > 0
              ? "Fix the prompt template first."
              : parsedSeed === null
                ? "Fix the seed (Advanced)."
                : !settings.model
                  ? "Choose a model."
                  : selectedModel && !selectedModel.available
                    ? "This model needs a Gemini API key on the server."
                    : estimate.error instanceof ApiError && estimate.error.status === 422
                      ? "Fix the problem shown in the estimate."
                      : null;

  return { request, waitingFor, estimate, create, serverFieldErrors, blocker };
}
