"use client";

import { Loader2, Play, Wand2 } from "lucide-react";

import { PageHeader } from "@/components/app/page-header";
import { ErrorState } from "@/components/app/states";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { AutomaticOutputCard } from "@/components/new-job/automatic-output-card";
import { DatasetCard } from "@/components/new-job/dataset-card";
import { SplitEstimateList } from "@/components/new-job/dataset-labels";
import { EstimateCard } from "@/components/new-job/estimate-card";
import { PromptEditor } from "@/components/new-job/prompt-editor";
import { PromptPreview } from "@/components/new-job/prompt-preview";
import { TrialControls } from "@/components/new-job/trial-controls";
import { useAutomaticSettings } from "@/components/new-job/use-automatic-settings";
import { useAutomaticSubmit } from "@/components/new-job/use-automatic-submit";
import { useDatasetSource } from "@/components/new-job/use-dataset-source";
import { useModels } from "@/lib/api/queries";
import { AUTOMATIC_VARIABLES } from "@/lib/template";

/**
 * The automatic job form (dataset augmentation): the dataset, one base prompt, and the
 * output; the live estimate beside it starts the job or a trial.
 */
export function AutomaticJobForm() {
  const models = useModels();
  const source = useDatasetSource();
  const form = useAutomaticSettings(source);
  const selectedModel = models.data?.find((m) => m.id === form.settings.model);
  const { request, waitingFor, estimate, create, serverFieldErrors, blocker } = useAutomaticSubmit(
    source,
    form,
    selectedModel,
  );
  const { prompt, setPrompt } = form;
  const { itemCount, uploading } = source;

  const startOver = () => {
    source.reset();
    form.resetDatasetChoices();
  };

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

  return (
    <div>
      <PageHeader
        title="New automatic job"
        description="Dataset augmentation: every image of a dataset gets N variations. Results keep your folder layout and download as one ZIP with a manifest."
      />
      <div className="grid items-start gap-6 lg:grid-cols-[minmax(0,1fr)_340px]">
        <div className="space-y-6">
          <DatasetCard
            source={source}
            splits={form.splits}
            onSplitsChange={form.setSplits}
            onStartOver={startOver}
          />

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

          <AutomaticOutputCard
            source={source}
            form={form}
            models={models.data}
            modelsLoading={models.isPending}
            selectedModel={selectedModel}
          />
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
              size={form.trialSize}
              onSizeChange={form.setTrialSize}
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
