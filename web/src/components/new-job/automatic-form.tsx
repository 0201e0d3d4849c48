"use client";

import { useCallback, useEffect, useMemo, useState } from "react";
import { useRouter } from "next/navigation";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { FolderTree, Loader2, Play, RotateCcw, Wand2 } from "lucide-react";
import { toast } from "sonner";

import { PageHeader } from "@/components/app/page-header";
import { ErrorState } from "@/components/app/states";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import {
  Card,
  CardAction,
  CardContent,
  CardDescription,
  CardHeader,
  CardTitle,
} from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";
import { Dropzone, type RawFiles } from "@/components/new-job/dropzone";
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
import { PromptPreview } from "@/components/new-job/prompt-preview";
import { UploadPanel } from "@/components/new-job/upload-panel";
import { ZipStatus, type ZipUpload } from "@/components/new-job/zip-status";
import {
  DatasetLabelsPanel,
  SplitEstimateList,
  hasLabelDetail,
} from "@/components/new-job/dataset-labels";
import { StoredDatasets } from "@/components/new-job/stored-datasets";
import { Alert, AlertDescription } from "@/components/ui/alert";
import { createDatasetQueue, useQueueState } from "@/hooks/use-upload-queue";
import { useFormSource } from "@/hooks/use-form-source";
import { selectionNotes, type SelectionNote } from "@/lib/selection-notes";
import { useDebounced } from "@/hooks/use-debounced";
import { api } from "@/lib/api/client";
import { ApiError, errorMessage, fieldErrors } from "@/lib/api/errors";
import { PROMPT_MAX_CHARS } from "@/lib/api/limits";
import { useModels } from "@/lib/api/queries";
import type {
  AutomaticJobCreate,
  DatasetSummary,
  JobCreate,
  UploadFinished,
} from "@/lib/api/types";
import { buildSelection, detectClasses, isImagePath, type FolderCount } from "@/lib/files";
import { formatInt, plural } from "@/lib/format";
import { analyzeTemplate, AUTOMATIC_VARIABLES } from "@/lib/template";
import type { UploadQueue } from "@/lib/upload-queue";

function defaultDatasetName(): string {
  return `Dataset ${new Date().toLocaleString("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })}`;
}

function ClassChips({ folders, source }: { folders: FolderCount[]; source: "server" | "local" }) {
  return (
    <div className="space-y-2" data-testid="detected-classes">
      <p className="flex items-center gap-1.5 text-sm font-medium">
        <FolderTree className="size-4 text-muted-foreground" aria-hidden />
        {folders.length === 1 && folders[0]?.folder === ""
          ? "Flat dataset (no class folders)"
          : `${plural(folders.length, "class", "classes")} detected`}
        <span className="text-xs font-normal text-muted-foreground">
          {source === "server" ? "· stored on the server" : "· in your selection"}
        </span>
      </p>
      <ul className="flex flex-wrap gap-1.5" aria-label="Classes">
        {folders.map((f) => (
          <li key={f.folder}>
            <Badge variant="secondary" className="gap-1.5 py-1 text-xs">
              <span className="font-mono">{f.folder || "(root)"}</span>
              <span className="rounded bg-background px-1 tabular-nums">{formatInt(f.count)}</span>
            </Badge>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function AutomaticJobForm() {
  const router = useRouter();
  const qc = useQueryClient();
  const models = useModels();

  const [dataset, setDataset] = useState<DatasetSummary | null>(null);
  const [datasetName, setDatasetName] = useState("");
  const [queue, setQueue] = useState<UploadQueue | null>(null);
  const [localClasses, setLocalClasses] = useState<FolderCount[]>([]);
  const [skipped, setSkipped] = useState<string[]>([]);
  const [zip, setZip] = useState<ZipUpload | null>(null);
  const [starting, setStarting] = useState(false);
  const { totals, version } = useQueueState(queue);
  // A stored dataset (picked, or an identical upload gave way to it): nothing to upload.
  const [fromLibrary, setFromLibrary] = useState(false);
  const [notes, setNotes] = useState<SelectionNote[]>([]);
  const [finished, setFinished] = useState<UploadFinished | null>(null);
  const [finishing, setFinishing] = useState(false);

  const [prompt, setPrompt] = useState("");
  const [variations, setVariations] = useState(2);
  const [settings, setSettings] = useState<GenerationSettings>(DEFAULT_SETTINGS);
  const [includeOriginals, setIncludeOriginals] = useState<boolean | null>(null);
  const [splits, setSplits] = useState<string[] | null>(null);
  const [name, setName] = useState("");
  const [seed, setSeed] = useState("");
  const [trialSize, setTrialSize] = useState(String(DEFAULT_TRIAL_SIZE));
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
  const [classPrompts, setClassPrompts] = useState<Record<string, string>>({});
  usePrefillFrom(async (job) => {
    const spec = job.spec as JobSpec;
    if (job.dataset_id) {
      const ds = await api.dataset(job.dataset_id);
      setDataset(ds);
      setDatasetName(ds.name);
    }
    setPrompt(specString(spec, "prompt"));
    setVariations(specNumber(spec, "variations") ?? 1);
    setSettings(settingsOf(job));
    setSeed(String(job.seed)); // the same seed samples the same images: compare like with like
    setTrialSize(String(job.trial?.size ?? DEFAULT_TRIAL_SIZE));
    setIncludeOriginals(job.include_originals);
    const perClass = spec["per_class_prompts"];
    if (perClass && typeof perClass === "object") {
      setClassPrompts(perClass as Record<string, string>);
    }
  });

  const uploading =
    (queue !== null && !totals.settled && totals.files > 0) || zip?.status === "uploading";
  // Leaving the page stops the upload: ask first.
  useEffect(() => {
    if (!uploading) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [uploading]);
  const progressKey = useDebounced(`${totals.done}:${zip?.status ?? ""}`, 600);

  const summary = useQuery({
    queryKey: ["dataset", dataset?.id, progressKey, uploading],
    queryFn: () => api.dataset(dataset!.id, !uploading),
    enabled: Boolean(dataset),
    placeholderData: (prev) => prev,
  });
  const stored = summary.data ?? dataset;
  const itemCount = stored?.item_count ?? 0;

  const ensureDataset = useCallback(
    async (suggested: string | null): Promise<DatasetSummary> => {
      if (dataset) return dataset;
      const created = await api.createDataset(suggested || defaultDatasetName());
      setDataset(created);
      setDatasetName(created.name);
      return created;
    },
    [dataset],
  );

  const openStored = useCallback(async (id: string) => {
    try {
      const ds = await api.dataset(id);
      setDataset(ds);
      setDatasetName(ds.name);
      setFromLibrary(true);
      setNotes([]);
    } catch (err) {
      toast.error("Could not open the dataset", { description: errorMessage(err) });
    }
  }, []);

  /** Every file is sent: the server drops an upload that kept nothing, and swaps an
   * identical one for the dataset already stored. */
  const finishUpload = useCallback(
    async (id: string) => {
      setFinishing(true);
      try {
        const done = await api.completeUpload(id);
        setFinished(done);
        if (done.outcome === "removed") {
          queue?.cancel();
          setQueue(null);
          setDataset(null);
          setLocalClasses([]);
          setNotes([{ kind: "no_images", text: done.message }]);
        } else if (done.outcome === "reused" && done.id) {
          await openStored(done.id);
          toast.success("Already stored", { description: done.message });
        }
      } catch (err) {
        toast.error("Could not finish the upload", { description: errorMessage(err) });
      } finally {
        setFinishing(false);
      }
    },
    [queue, openStored],
  );

  const onFiles = useCallback(
    async (raw: RawFiles) => {
      const sel = buildSelection(raw);
      setSkipped((prev) => [...prev, ...sel.skipped]);
      setNotes(selectionNotes(raw.length, sel));
      setFinished(null);
      if (!sel.zip && sel.files.length === 0) return; // the note says why
      setStarting(true);
      let ds: DatasetSummary;
      try {
        ds = await ensureDataset(sel.root);
      } catch (err) {
        toast.error("Could not create the dataset", { description: errorMessage(err) });
        setStarting(false);
        return;
      }
      setStarting(false);
      if (sel.zip) {
        const file = sel.zip;
        setZip({ file, fraction: 0, status: "uploading", report: null, error: null });
        try {
          const report = await api.uploadDatasetZip(ds.id, file, (fraction) =>
            setZip((z) => (z ? { ...z, fraction } : z)),
          );
          setZip({ file, fraction: 1, status: "done", report, error: null });
          if (report.errors.length) {
            toast.warning(`${plural(report.errors.length, "file")} in the ZIP could not be used`);
          } else {
            toast.success(`${plural(report.accepted.length, "image")} imported from ${file.name}`);
          }
        } catch (err) {
          setZip({ file, fraction: 0, status: "error", report: null, error: errorMessage(err) });
        }
        await finishUpload(ds.id);
        return;
      }
      setLocalClasses((prev) => {
        const merged = new Map(prev.map((c) => [c.folder, c.count]));
        const images = sel.files.map((f) => f.relPath).filter(isImagePath);
        for (const c of detectClasses(images)) {
          merged.set(c.folder, (merged.get(c.folder) ?? 0) + c.count);
        }
        return [...merged.entries()].map(([folder, count]) => ({ folder, count }));
      });
      const q = queue ?? createDatasetQueue(ds.id);
      if (!queue) setQueue(q);
      q.add(
        sel.files.map((f) => ({
          id: f.relPath,
          relPath: f.relPath,
          size: f.file.size,
          file: f.file,
        })),
      );
    },
    [ensureDataset, queue, finishUpload],
  );

  // A folder upload is finished once every queued file settled (sent or given up); a
  // later drop into the same dataset settles again and is checked again.
  useEffect(() => {
    if (!queue || !dataset || fromLibrary) return;
    let checked = 0;
    return queue.subscribe(() => {
      const t = queue.totals();
      if (t.settled && t.files > checked) {
        checked = t.files;
        void finishUpload(dataset.id);
      }
    });
  }, [queue, dataset, fromLibrary, finishUpload]);

  useFormSource({
    onDataset: (id) => void openStored(id),
    onRecipe: (recipe: JobCreate) => {
      if (recipe.mode !== "automatic") return;
      void openStored(recipe.dataset_id);
      setPrompt(recipe.prompt);
      setVariations(recipe.variations ?? 1);
      setSettings({
        model: recipe.model ?? "",
        aspectRatio: recipe.options?.aspect_ratio ?? "",
        imageSize: recipe.options?.image_size ?? "",
        outputFormat: recipe.options?.output_format ?? "png",
      });
      setIncludeOriginals(recipe.include_originals ?? null);
      setSplits(recipe.splits ?? null);
      setName(recipe.name ?? "");
      if (recipe.seed !== null && recipe.seed !== undefined) setSeed(String(recipe.seed));
      setPriority(recipe.priority ?? 0);
      setMaxCost(recipe.max_cost ? String(recipe.max_cost) : "");
      setUseBatchApi(recipe.use_batch_api ?? false);
      setWebhookUrl(recipe.webhook_url ?? "");
      setClassPrompts(recipe.per_class_prompts ?? {});
      toast.info("Duplicating a job", { description: "Same recipe: change what you like." });
    },
    onError: (message) =>
      toast.error("Could not load the job to duplicate", { description: message }),
  });

  const reset = () => {
    queue?.cancel();
    setQueue(null);
    setDataset(null);
    setDatasetName("");
    setLocalClasses([]);
    setSkipped([]);
    setZip(null);
    setSplits(null);
    setIncludeOriginals(null);
    setFromLibrary(false);
    setNotes([]);
    setFinished(null);
  };

  const analysis = useMemo(() => analyzeTemplate(prompt, AUTOMATIC_VARIABLES), [prompt]);
  const selectedModel = models.data?.find((m) => m.id === settings.model);

  const labels = stored?.labels ?? null;
  const labelled = hasLabelDetail(labels);
  // Only the chosen splits are varied (the estimate has the exact count).
  const augmentedCount =
    labelled && labels
      ? labels.splits
          .filter((s) => (splits ?? labels.default_splits).includes(s.name))
          .reduce((sum, s) => sum + s.images, 0)
      : itemCount;
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

  if (models.isError) {
    return (
      <div>
        <PageHeader title="New automatic job" />
        <ErrorState
          title="Could not load the models"
          error={models.error}
          onRetry={() => void models.refetch()}
        />
      </div>
    );
  }

  const folders = stored && stored.item_count > 0 ? stored.folders : localClasses;
  const classNames = folders.map((f) => f.folder).filter(Boolean);

  return (
    <div>
      <PageHeader
        title="New automatic job"
        description="Dataset augmentation: every image of a dataset gets N variations. Results keep your folder layout and download as one ZIP with a manifest."
      />
      <div className="grid items-start gap-6 lg:grid-cols-[minmax(0,1fr)_340px]">
        <div className="space-y-6">
          <Card>
            <CardHeader>
              <CardTitle>1. Dataset</CardTitle>
              <CardDescription>
                A folder of images, with one sub-folder per class (like{" "}
                <span className="font-mono">cat/</span>, <span className="font-mono">dog/</span>),
                or a ZIP of one.
              </CardDescription>
              {dataset ? (
                <CardAction>
                  <Button variant="ghost" size="sm" onClick={reset}>
                    <RotateCcw aria-hidden /> Start over
                  </Button>
                </CardAction>
              ) : null}
            </CardHeader>
            <CardContent className="space-y-5">
              {fromLibrary ? null : (
                <Dropzone
                  idPrefix="dataset"
                  title={dataset ? "Drop more images to add them" : "Drop a folder or a ZIP here"}
                  hint="Sub-folders are kept as classes. Thousands of files are fine: they upload in parallel and retry on errors."
                  onFiles={(files) => void onFiles(files)}
                  disabled={starting || finishing || zip?.status === "uploading"}
                  compact={Boolean(dataset)}
                />
              )}
              {notes.map((note) => (
                <Alert
                  key={note.kind}
                  variant={note.kind === "nested" ? "default" : "destructive"}
                  data-testid={`selection-note-${note.kind}`}
                >
                  <AlertDescription>{note.text}</AlertDescription>
                </Alert>
              ))}
              {finished?.outcome === "reused" ? (
                <Alert data-testid="dataset-reused">
                  <AlertDescription>{finished.message}</AlertDescription>
                </Alert>
              ) : null}
              {!dataset && !starting ? (
                <StoredDatasets onPick={(id) => void openStored(id)} />
              ) : null}
              {starting ? (
                <p className="flex items-center gap-2 text-sm text-muted-foreground" role="status">
                  <Loader2 className="size-4 animate-spin" aria-hidden /> Creating the dataset…
                </p>
              ) : null}
              {dataset ? (
                <p className="text-sm text-muted-foreground">
                  Dataset{" "}
                  <span className="font-medium text-foreground" data-testid="dataset-name">
                    {datasetName || dataset.name}
                  </span>
                  {itemCount > 0 ? ` · ${plural(itemCount, "image")} stored` : ""}
                  {fromLibrary ? " · already uploaded, nothing to send" : ""}
                </p>
              ) : null}
              {zip ? <ZipStatus zip={zip} /> : null}
              {queue && totals.files > 0 ? (
                <UploadPanel queue={queue} totals={totals} version={version} />
              ) : null}
              {skipped.length > 0 ? (
                <p className="text-xs text-muted-foreground">
                  {plural(skipped.length, "file")} skipped:{" "}
                  {skipped.length === 1 ? "it is not an image" : "they are not images"} (for example{" "}
                  <span className="font-mono">{skipped[0]}</span>).
                </p>
              ) : null}
              {labels && labelled ? (
                <DatasetLabelsPanel labels={labels} splits={splits} onSplitsChange={setSplits} />
              ) : folders.length > 0 ? (
                <ClassChips
                  folders={folders}
                  source={stored && stored.item_count > 0 ? "server" : "local"}
                />
              ) : null}
            </CardContent>
          </Card>

          <Card>
            <CardHeader>
              <CardTitle>2. Prompt</CardTitle>
              <CardDescription>
                One base prompt for every image. Variables fill in per image; wildcards pick one
                choice per image.
              </CardDescription>
            </CardHeader>
            <CardContent className="space-y-5">
              <PromptEditor
                id="base-prompt"
                label="Base prompt"
                value={prompt}
                onChange={setPrompt}
                variables={AUTOMATIC_VARIABLES}
                placeholder="A photo of a {class} in {sunny|rainy|foggy} weather, same framing as the original"
                serverError={serverFieldErrors.prompt ?? null}
              />
              <PromptPreview
                mode="automatic"
                request={request && prompt.trim() ? request : null}
                waitingFor={
                  waitingFor
                    ? "Upload images to preview the prompts."
                    : !prompt.trim()
                      ? "Write a prompt to preview it."
                      : null
                }
              />
            </CardContent>
          </Card>

          <Card>
            <CardHeader>
              <CardTitle>3. Output</CardTitle>
              <CardDescription>
                How many variations of each image, and with which model.
              </CardDescription>
            </CardHeader>
            <CardContent className="space-y-5">
              <div className="flex flex-wrap items-end gap-6">
                <div className="space-y-2">
                  <Label htmlFor="variations">Variations per image</Label>
                  <NumberStepper
                    id="variations"
                    label="variations"
                    value={variations}
                    onChange={setVariations}
                    min={1}
                    max={100}
                    describedBy="variations-hint"
                  />
                </div>
                <p id="variations-hint" className="pb-2 text-xs text-muted-foreground">
                  {itemCount > 0
                    ? `${formatInt(augmentedCount)} images × ${variations} = ${formatInt(augmentedCount * variations)} new images`
                    : "1 to 100 per image."}
                </p>
              </div>
              <ModelFields
                idPrefix="auto"
                models={models.data}
                loading={models.isPending}
                value={settings}
                onChange={setSettings}
              />
              <div className="flex items-center justify-between gap-4 rounded-lg border p-3">
                <div className="space-y-0.5">
                  <Label htmlFor="include-originals">Include the originals in the ZIP</Label>
                  <p className="text-xs text-muted-foreground">
                    Each source image sits beside its variations, so the download is a complete
                    augmented dataset.
                  </p>
                </div>
                <Switch
                  id="include-originals"
                  checked={includeOriginals ?? labelled}
                  onCheckedChange={setIncludeOriginals}
                />
              </div>
              <BatchApiSwitch
                id="auto-batch-api"
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
                  placeholder={datasetName || "Optional"}
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
              >
                {classNames.length > 1 ? (
                  <fieldset className="space-y-3">
                    <legend className="text-sm font-medium">Prompt per class</legend>
                    <p className="text-xs text-muted-foreground">
                      Optional. A class with its own prompt uses it instead of the base prompt; the
                      same variables and wildcards work.
                    </p>
                    {classNames.map((cls) => (
                      <div key={cls} className="grid items-center gap-2 sm:grid-cols-[140px_1fr]">
                        <Label htmlFor={`class-prompt-${cls}`} className="font-mono text-xs">
                          {cls}
                        </Label>
                        <Input
                          id={`class-prompt-${cls}`}
                          value={classPrompts[cls] ?? ""}
                          onChange={(e) =>
                            setClassPrompts((prev) => ({ ...prev, [cls]: e.target.value }))
                          }
                          placeholder="Base prompt"
                        />
                      </div>
                    ))}
                  </fieldset>
                ) : null}
              </AdvancedOptions>
            </CardContent>
          </Card>
        </div>

        <div className="lg:sticky lg:top-6">
          <EstimateCard
            estimate={estimate.data}
            loading={estimate.isFetching}
            error={estimate.error}
            waitingFor={waitingFor}
            extra={
              <>
                {estimate.data ? (
                  <SplitEstimateList
                    splits={estimate.data.splits ?? []}
                    skipped={estimate.data.skipped_images ?? 0}
                  />
                ) : null}
                {uploading && itemCount > 0 ? (
                  <p className="text-xs text-muted-foreground">
                    The estimate grows as the upload continues.
                  </p>
                ) : null}
              </>
            }
          >
            <Button
              variant="banana"
              size="lg"
              className="w-full"
              disabled={Boolean(blocker) || create.isPending || !request}
              onClick={() => request && create.mutate(request)}
              aria-describedby="start-blocker"
            >
              {create.isPending ? (
                <Loader2 className="animate-spin" aria-hidden />
              ) : (
                <Play aria-hidden />
              )}
              Start job
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
              id="start-blocker"
              className="text-center text-xs text-muted-foreground"
              aria-live="polite"
            >
              {blocker ?? (
                <span className="inline-flex items-center gap-1">
                  <Wand2 className="size-3" aria-hidden /> Runs in the background; you can leave
                  this page.
                </span>
              )}
            </p>
          </EstimateCard>
        </div>
      </div>
    </div>
  );
}
