"use client";

import { useEffect, useMemo, useRef, useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { CheckCircle2, ListPlus, Loader2, Plus, Send, Trash2 } from "lucide-react";
import { toast } from "sonner";

import { JobStatusBadge } from "@/components/app/status-badge";
import { PageHeader } from "@/components/app/page-header";
import { ErrorState } from "@/components/app/states";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import {
  AdvancedOptions,
  parseMaxCost,
  parseWebhookUrl,
} from "@/components/new-job/advanced-options";
import { BatchApiSwitch } from "@/components/new-job/batch-api-switch";
import {
  type JobSpec,
  settingsOf,
  specNumber,
  specString,
  usePrefillFrom,
} from "@/components/new-job/prefill";
import {
  DEFAULT_TRIAL_SIZE,
  TrialControls,
  parseTrialSize,
} from "@/components/new-job/trial-controls";
import { parseSeed, randomSeed } from "@/lib/seed";
import { EstimateCard } from "@/components/new-job/estimate-card";
import {
  DEFAULT_SETTINGS,
  ModelFields,
  toJobOptions,
  type GenerationSettings,
} from "@/components/new-job/model-fields";
import { NumberStepper } from "@/components/new-job/number-stepper";
import { PromptEditor } from "@/components/new-job/prompt-editor";
import { ReferenceImages, type ReferenceImage } from "@/components/new-job/reference-images";
import { useDebounced } from "@/hooks/use-debounced";
import { useFormSource } from "@/hooks/use-form-source";
import { API_BASE } from "@/lib/api/http";
import { api } from "@/lib/api/client";
import { ApiError, errorMessage, fieldErrors } from "@/lib/api/errors";
import { PROMPT_MAX_CHARS } from "@/lib/api/limits";
import { useHealth, useJobs, useModels } from "@/lib/api/queries";
import type { JobDetail, SemiAutoJobCreate } from "@/lib/api/types";
import { formatInt, formatRuns } from "@/lib/format";
import { analyzeTemplate, SEMI_AUTO_VARIABLES } from "@/lib/template";

/** Images per run (one task) until the server says otherwise. */
const DEFAULT_RUN_SIZE = 4;
const DEFAULT_COUNT = 40;

interface PromptRow {
  key: number;
  prompt: string;
  count: number;
}

function QueuedThisSession({ jobs: queued }: { jobs: JobDetail[] }) {
  const jobs = useJobs();
  const live = new Map((jobs.data?.items ?? []).map((j) => [j.id, j]));
  if (queued.length === 0) return null;
  return (
    <Card className="gap-3">
      <CardHeader>
        <CardTitle className="text-sm">Queued from this page</CardTitle>
      </CardHeader>
      <CardContent>
        <ul className="space-y-2" data-testid="queued-jobs">
          {queued.map((job) => (
            <li key={job.id} className="flex items-center justify-between gap-2 text-sm">
              <Link
                href={`/jobs/view/?id=${encodeURIComponent(job.id)}`}
                className="min-w-0 truncate hover:underline"
              >
                {job.name || `Job ${job.id.slice(0, 8)}`}
              </Link>
              <JobStatusBadge status={live.get(job.id)?.status ?? job.status} />
            </li>
          ))}
        </ul>
      </CardContent>
    </Card>
  );
}

export function SemiAutoJobForm() {
  const models = useModels();
  const health = useHealth();
  const runSize = health.data?.outputs_per_task ?? DEFAULT_RUN_SIZE;
  const router = useRouter();
  const qc = useQueryClient();
  const nextKey = useRef(1);
  const firstPromptRef = useRef<HTMLLIElement>(null);
  const [references, setReferences] = useState<ReferenceImage[]>([]);
  const [prompts, setPrompts] = useState<PromptRow[]>([
    { key: 0, prompt: "", count: DEFAULT_COUNT },
  ]);
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
  usePrefillFrom((job) => {
    const given = (job.spec as JobSpec)["prompts"];
    const rows = Array.isArray(given)
      ? given.flatMap((p: unknown) => {
          const row = (p ?? {}) as JobSpec;
          const text = specString(row, "prompt");
          return text ? [{ prompt: text, count: specNumber(row, "count") ?? DEFAULT_COUNT }] : [];
        })
      : [];
    if (rows.length) {
      setPrompts(rows.map((r) => ({ key: nextKey.current++, ...r })));
    }
    setReferences(
      job.reference_asset_ids.map((id, i) => ({
        assetId: id,
        name: `reference ${i + 1}`,
        thumbnailUrl: `/api/v1/assets/${encodeURIComponent(id)}/thumbnail`,
        width: 0,
        height: 0,
      })),
    );
    setSettings(settingsOf(job));
    setSeed(String(job.seed)); // the same seed samples the same slots: compare like with like
    setTrialSize(String(job.trial?.size ?? DEFAULT_TRIAL_SIZE));
  });
  const [queued, setQueued] = useState<JobDetail[]>([]);
  const [lastJob, setLastJob] = useState<JobDetail | null>(null);

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
      setPrompts(
        recipe.prompts.map((p) => ({
          key: nextKey.current++,
          prompt: p.prompt,
          count: p.count ?? DEFAULT_COUNT,
        })),
      );
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
      toast.info("Duplicating a job", { description: "Same recipe: change what you like." });
    },
    onError: (message) =>
      toast.error("Could not load the job to duplicate", { description: message }),
  });

  const selectedModel = models.data?.find((m) => m.id === settings.model);
  const classic = selectedModel?.provider === "classic";
  const limit = selectedModel?.max_reference_images ?? 0;
  const modelName = classic
    ? "Classic augmentation"
    : (selectedModel?.display_name ?? "this model");

  const updatePrompt = (key: number, patch: Partial<PromptRow>) =>
    setPrompts((rows) => rows.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const addPrompt = () => {
    const key = nextKey.current++;
    setPrompts((rows) => [...rows, { key, prompt: "", count: DEFAULT_COUNT }]);
    requestAnimationFrame(() => document.getElementById(`prompt-${key}`)?.focus());
  };

  const issues = useMemo(
    () => prompts.flatMap((p) => analyzeTemplate(p.prompt, SEMI_AUTO_VARIABLES).issues),
    [prompts],
  );
  const total = prompts.reduce((n, p) => n + p.count, 0);

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

  if (models.isError) {
    return (
      <div>
        <PageHeader title="New semi-automatic job" />
        <ErrorState
          title="Could not load the models"
          error={models.error}
          onRetry={() => void models.refetch()}
        />
      </div>
    );
  }

  return (
    <div>
      <PageHeader
        title="New semi-automatic job"
        description="Creative generation: shared reference images and one or more prompts. Each prompt's count runs 4 images at a time. Queue as many jobs as you like."
      />
      <div className="grid items-start gap-6 lg:grid-cols-[minmax(0,1fr)_340px]">
        <div className="space-y-6">
          <Card>
            <CardHeader>
              <CardTitle>1. Reference images</CardTitle>
              <CardDescription>
                Products, characters or styles the model should keep. Optional for Gemini models.
              </CardDescription>
            </CardHeader>
            <CardContent>
              {models.isPending ? (
                <p className="text-sm text-muted-foreground">Loading models…</p>
              ) : (
                <ReferenceImages
                  value={references}
                  onChange={setReferences}
                  limit={limit}
                  used={selectedModel?.used_reference_images ?? limit}
                  warning={estimate.data?.reference_warning ?? null}
                  modelName={modelName}
                />
              )}
            </CardContent>
          </Card>

          <Card>
            <CardHeader>
              <CardTitle>2. Prompts</CardTitle>
              <CardDescription>
                Each prompt becomes a batch. Its count is split into runs of {runSize}; wildcards
                like <span className="font-mono">{"{red|green}"}</span> vary the images.
              </CardDescription>
            </CardHeader>
            <CardContent className="space-y-4">
              <ol className="space-y-4" aria-label="Prompts">
                {prompts.map((row, i) => (
                  <li
                    key={row.key}
                    ref={i === 0 ? firstPromptRef : undefined}
                    className="space-y-3 rounded-lg border bg-muted/20 p-4"
                    data-testid="prompt-row"
                  >
                    <PromptEditor
                      id={`prompt-${row.key}`}
                      label={prompts.length > 1 ? `Prompt ${i + 1}` : "Prompt"}
                      value={row.prompt}
                      onChange={(v) => updatePrompt(row.key, { prompt: v })}
                      variables={SEMI_AUTO_VARIABLES}
                      placeholder="Studio photo of the product on a {marble|oak|linen} table, soft morning light"
                      rows={3}
                      serverError={serverFieldErrors[`prompts[${i}].prompt`] ?? null}
                    />
                    <div className="flex flex-wrap items-end justify-between gap-3">
                      <div className="flex flex-wrap items-end gap-3">
                        <div className="space-y-2">
                          <Label htmlFor={`count-${row.key}`}>Images</Label>
                          <NumberStepper
                            id={`count-${row.key}`}
                            label={`image count of prompt ${i + 1}`}
                            value={row.count}
                            onChange={(count) => updatePrompt(row.key, { count })}
                            min={1}
                            max={1000}
                            describedBy={`runs-${row.key}`}
                          />
                        </div>
                        <p
                          id={`runs-${row.key}`}
                          className="pb-2 text-sm text-muted-foreground"
                          data-testid="runs-label"
                        >
                          {formatRuns(row.count, runSize)}
                        </p>
                      </div>
                      {prompts.length > 1 ? (
                        <Button
                          type="button"
                          variant="ghost"
                          size="sm"
                          onClick={() =>
                            setPrompts((rows) => rows.filter((r) => r.key !== row.key))
                          }
                          aria-label={`Remove prompt ${i + 1}`}
                        >
                          <Trash2 aria-hidden /> Remove
                        </Button>
                      ) : null}
                    </div>
                  </li>
                ))}
              </ol>
              <Button
                type="button"
                variant="outline"
                onClick={addPrompt}
                disabled={prompts.length >= 100}
              >
                <Plus aria-hidden /> Add a prompt
              </Button>
            </CardContent>
          </Card>

          <Card>
            <CardHeader>
              <CardTitle>3. Output</CardTitle>
              <CardDescription>Model, shape and format of the images.</CardDescription>
            </CardHeader>
            <CardContent className="space-y-5">
              <ModelFields
                idPrefix="semi"
                models={models.data}
                loading={models.isPending}
                value={settings}
                onChange={setSettings}
              />
              <BatchApiSwitch
                id="semi-batch-api"
                model={selectedModel}
                checked={useBatchApi}
                onCheckedChange={setUseBatchApi}
              />
              <div className="space-y-2">
                <Label htmlFor="job-name">Job name</Label>
                <Input
                  id="job-name"
                  value={name}
                  onChange={(e) => setName(e.target.value)}
                  placeholder="Optional"
                  maxLength={200}
                />
              </div>
              <AdvancedOptions
                seed={seed}
                onSeedChange={setSeed}
                priority={priority}
                onPriorityChange={setPriority}
                maxCost={maxCost}
                onMaxCostChange={setMaxCost}
                webhookUrl={webhookUrl}
                onWebhookUrlChange={setWebhookUrl}
              />
            </CardContent>
          </Card>
        </div>

        <div className="space-y-4 lg:sticky lg:top-6">
          {lastJob ? (
            <Alert variant="info" data-testid="queued-alert">
              <CheckCircle2 aria-hidden />
              <AlertTitle>Queued “{lastJob.name || `Job ${lastJob.id.slice(0, 8)}`}”</AlertTitle>
              <AlertDescription>
                <p>Your settings are kept: change what you like and queue another.</p>
                <div className="mt-2 flex gap-2">
                  <Button size="sm" variant="outline" asChild>
                    <Link href={`/jobs/view/?id=${encodeURIComponent(lastJob.id)}`}>View job</Link>
                  </Button>
                  <Button
                    size="sm"
                    variant="ghost"
                    onClick={() => {
                      setLastJob(null);
                      firstPromptRef.current?.querySelector("textarea")?.focus();
                    }}
                  >
                    <ListPlus aria-hidden /> Queue another
                  </Button>
                </div>
              </AlertDescription>
            </Alert>
          ) : null}
          <EstimateCard
            estimate={estimate.data}
            loading={estimate.isFetching}
            error={estimate.error}
            waitingFor={emptyPrompt ? "Write a prompt to see the estimate." : null}
            extra={
              <p className="text-xs text-muted-foreground">
                {formatInt(total)} images from{" "}
                {prompts.length === 1 ? "1 prompt" : `${prompts.length} prompts`}
                {references.length
                  ? ` and ${references.length} reference image${references.length === 1 ? "" : "s"}`
                  : ""}
                .
              </p>
            }
          >
            <Button
              variant="banana"
              size="lg"
              className="w-full"
              disabled={Boolean(blocker) || create.isPending || !request}
              onClick={() => request && create.mutate(request)}
              aria-describedby="queue-blocker"
            >
              {create.isPending ? (
                <Loader2 className="animate-spin" aria-hidden />
              ) : (
                <Send aria-hidden />
              )}
              {queued.length ? "Queue another job" : "Queue job"}
            </Button>
            <TrialControls
              size={trialSize}
              onSizeChange={setTrialSize}
              trial={estimate.data?.trial}
              totalOutputs={estimate.data?.outputs}
              disabled={Boolean(blocker) || !request}
              pending={create.isPending}
              onTry={(n) => request && create.mutate({ ...request, trial: n })}
            />
            <p
              id="queue-blocker"
              className="text-center text-xs text-muted-foreground"
              aria-live="polite"
            >
              {blocker ?? "Jobs run in queue order; you can queue several."}
            </p>
          </EstimateCard>
          <QueuedThisSession jobs={queued} />
        </div>
      </div>
    </div>
  );
}
