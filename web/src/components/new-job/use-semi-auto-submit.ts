"use client";

import { useMemo, useState } from "react";
import { useRouter } from "next/navigation";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { parseMaxCost, parseWebhookUrl } from "@/components/new-job/advanced-options";
import { toJobOptions } from "@/components/new-job/model-fields";
import { parseTrialSize } from "@/components/new-job/trial-controls";
import type { SemiAutoSettings } from "@/components/new-job/use-semi-auto-settings";
import { useDebounced } from "@/hooks/use-debounced";
import { api } from "@/lib/api/client";
import { ApiError, errorMessage, fieldErrors } from "@/lib/api/errors";
import { PROMPT_MAX_CHARS } from "@/lib/api/limits";
import type { JobDetail, ModelInfo, SemiAutoJobCreate } from "@/lib/api/types";
import { formatInt } from "@/lib/format";
import { parseSeed } from "@/lib/seed";
import { SEMI_AUTO_VARIABLES, analyzeTemplate } from "@/lib/template";

/**
 * Queueing semi-automatic jobs: the request the form describes (null while a field is
 * invalid), its live estimate, the create call, what still blocks it, and the jobs
 * queued from this page (the form stays, to queue another).
 */
export function useSemiAutoSubmit(form: SemiAutoSettings, selectedModel: ModelInfo | undefined) {
  const router = useRouter();
  const qc = useQueryClient();
  const {
    settings,
    name,
    references,
    prompts,
    priority,
    seed,
    maxCost,
    useBatchApi,
    webhookUrl,
    trialSize,
  } = form;
  const [queued, setQueued] = useState<JobDetail[]>([]);
  const [lastJob, setLastJob] = useState<JobDetail | null>(null);

  const classic = selectedModel?.provider === "classic";
  const limit = selectedModel?.max_reference_images ?? 0;

  const issues = useMemo(
    () => prompts.flatMap((p) => analyzeTemplate(p.prompt, SEMI_AUTO_VARIABLES).issues),
    [prompts],
  );

  const parsedSeed = parseSeed(seed);
  const request: SemiAutoJobCreate | null = useMemo(() => {
    if (!settings.model) return null;
    const cap = parseMaxCost(maxCost);
    if (cap === undefined) return null; // the field says what is wrong
    const hook = parseWebhookUrl(webhookUrl);
    if (hook === undefined) return null;
    return {
      mode: "semi_auto",
      name: name.trim(),
      reference_asset_ids: references.map((r) => r.assetId),
      prompts: prompts.map((p) => ({ prompt: p.prompt, count: p.count })),
      model: settings.model,
      options: toJobOptions(settings),
      priority,
      max_cost: cap,
      use_batch_api: useBatchApi && selectedModel?.provider === "gemini",
      batch_fallback: "batch",
      webhook_url: hook,
      seed: typeof parsedSeed === "number" ? parsedSeed : null,
    };
  }, [
    settings,
    name,
    references,
    prompts,
    priority,
    parsedSeed,
    maxCost,
    useBatchApi,
    selectedModel,
    webhookUrl,
  ]);

  const trialN = parseTrialSize(trialSize);
  // Priced with the trial too, so the card can say what the trial and the rest cost.
  const estimateRequest = useMemo(
    () => (request && trialN !== null ? { ...request, trial: trialN } : request),
    [request, trialN],
  );
  const estimateBody = useDebounced(estimateRequest, 350);
  const estimate = useQuery({
    queryKey: ["estimate", estimateBody],
    queryFn: ({ signal }) => api.estimate(estimateBody!, signal),
    enabled: Boolean(estimateBody) && !estimateBody?.prompts.some((p) => !p.prompt.trim()),
    placeholderData: (prev) => prev,
    retry: false,
  });

  const create = useMutation({
    mutationFn: (req: SemiAutoJobCreate) => api.createJob(req),
    onSuccess: (job) => {
      setQueued((jobs) => [job, ...jobs]);
      void qc.invalidateQueries({ queryKey: ["jobs"] });
      setLastJob(job);
      toast.success("Job queued", {
        description: job.name || `${formatInt(job.total_outputs)} images`,
        action: {
          label: "View",
          onClick: () => router.push(`/jobs/view/?id=${encodeURIComponent(job.id)}`),
        },
      });
      for (const warning of job.warnings) toast.warning("Note", { description: warning });
    },
    onError: (err) => toast.error("Could not queue the job", { description: errorMessage(err) }),
  });
  // A field's server error is shown at the field, from the estimate (as typed) or the create.
  const serverFieldErrors = { ...fieldErrors(estimate.error), ...fieldErrors(create.error) };

  const emptyPrompt = prompts.some((p) => !p.prompt.trim());
  const blocker = !settings.model
    ? "Choose a model."
    : selectedModel && !selectedModel.available
      ? "This model needs a Gemini API key on the server."
      : references.length > limit
        ? `Remove ${references.length - limit} reference image${references.length - limit === 1 ? "" : "s"}.`
        : emptyPrompt
          ? "Every prompt needs some text."
          : prompts.some((p) => p.prompt.length > PROMPT_MAX_CHARS)
            ? "Shorten the prompt."
            : issues.length > 0
              ? "Fix the prompt templates first."
              : parsedSeed === null
                ? "Fix the seed (Advanced)."
                : classic && references.length === 0
                  ? "Classic augmentation transforms the first reference image: add one."
                  : estimate.error instanceof ApiError && estimate.error.status === 422
                    ? "Fix the problem shown in the estimate."
                    : null;

  return {
    request,
    estimate,
    create,
    serverFieldErrors,
    blocker,
    emptyPrompt,
    queued,
    lastJob,
    dismissLastJob: () => setLastJob(null),
  };
}
