"use client";

import { useRef } from "react";
import { Loader2, Send } from "lucide-react";

import { PageHeader } from "@/components/app/page-header";
import { ErrorState } from "@/components/app/states";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { AdvancedOptions } from "@/components/new-job/advanced-options";
import { BatchApiSwitch } from "@/components/new-job/batch-api-switch";
import { EstimateCard } from "@/components/new-job/estimate-card";
import { ModelFields } from "@/components/new-job/model-fields";
import { PromptRowsCard } from "@/components/new-job/prompt-rows-card";
import { QueuedAlert, QueuedThisSession } from "@/components/new-job/queued-jobs";
import { ReferenceImages } from "@/components/new-job/reference-images";
import { TrialControls } from "@/components/new-job/trial-controls";
import { useSemiAutoSettings } from "@/components/new-job/use-semi-auto-settings";
import { useSemiAutoSubmit } from "@/components/new-job/use-semi-auto-submit";
import { useHealth, useModels } from "@/lib/api/queries";
import { formatInt } from "@/lib/format";

/** Images per run (one task) until the server says otherwise. */
const DEFAULT_RUN_SIZE = 4;

/**
 * The semi-automatic job form (creative generation): shared reference images, prompts
 * with their counts, and the output; the live estimate beside it queues jobs, one after
 * another, without leaving the page.
 */
export function SemiAutoJobForm() {
  const models = useModels();
  const health = useHealth();
  const runSize = health.data?.outputs_per_task ?? DEFAULT_RUN_SIZE;
  const firstPromptRef = useRef<HTMLLIElement>(null);
  const form = useSemiAutoSettings();
  const { references, prompts, settings } = form;

  const selectedModel = models.data?.find((m) => m.id === settings.model);
  const classic = selectedModel?.provider === "classic";
  const limit = selectedModel?.max_reference_images ?? 0;
  const modelName = classic
    ? "Classic augmentation"
    : (selectedModel?.display_name ?? "this model");

  const submit = useSemiAutoSubmit(form, selectedModel);
  const { request, estimate, create, serverFieldErrors, blocker, emptyPrompt } = submit;
  const { queued, lastJob, dismissLastJob } = submit;
  const total = prompts.reduce((n, p) => n + p.count, 0);

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
                  onChange={form.setReferences}
                  limit={limit}
                  used={selectedModel?.used_reference_images ?? limit}
                  warning={estimate.data?.reference_warning ?? null}
                  modelName={modelName}
                />
              )}
            </CardContent>
          </Card>

          <PromptRowsCard
            rows={form}
            runSize={runSize}
            serverFieldErrors={serverFieldErrors}
            firstRowRef={firstPromptRef}
          />

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
                onChange={form.setSettings}
              />
              <BatchApiSwitch
                id="semi-batch-api"
                model={selectedModel}
                checked={form.useBatchApi}
                onCheckedChange={form.setUseBatchApi}
              />
              <div className="space-y-2">
                <Label htmlFor="job-name">Job name</Label>
                <Input
                  id="job-name"
                  value={form.name}
                  onChange={(e) => form.setName(e.target.value)}
                  placeholder="Optional"
                  maxLength={200}
                />
              </div>
              <AdvancedOptions
                seed={form.seed}
                onSeedChange={form.setSeed}
                priority={form.priority}
                onPriorityChange={form.setPriority}
                maxCost={form.maxCost}
                onMaxCostChange={form.setMaxCost}
                webhookUrl={form.webhookUrl}
                onWebhookUrlChange={form.setWebhookUrl}
              />
            </CardContent>
          </Card>
        </div>

        <div className="space-y-4 lg:sticky lg:top-6">
          {lastJob ? (
            <QueuedAlert
              job={lastJob}
              onQueueAnother={() => {
                dismissLastJob();
                firstPromptRef.current?.querySelector("textarea")?.focus();
              }}
            />
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
              size={form.trialSize}
              onSizeChange={form.setTrialSize}
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
