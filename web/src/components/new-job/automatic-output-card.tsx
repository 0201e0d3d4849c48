"use client";

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";
import { AdvancedOptions } from "@/components/new-job/advanced-options";
import { BatchApiSwitch } from "@/components/new-job/batch-api-switch";
import { ModelFields } from "@/components/new-job/model-fields";
import { NumberStepper } from "@/components/new-job/number-stepper";
import type { AutomaticSettings } from "@/components/new-job/use-automatic-settings";
import type { DatasetSource } from "@/components/new-job/use-dataset-source";
import type { ModelInfo } from "@/lib/api/types";
import { formatInt } from "@/lib/format";

/** Optional prompts that replace the base prompt for one class each. */
function ClassPrompts({
  classNames,
  value,
  onChange,
}: {
  classNames: string[];
  value: Record<string, string>;
  onChange: (update: (prev: Record<string, string>) => Record<string, string>) => void;
}) {
  return (
    <fieldset className="space-y-3">
      <legend className="text-sm font-medium">Prompt per class</legend>
      <p className="text-xs text-muted-foreground">
        Optional. A class with its own prompt uses it instead of the base prompt; the same variables
        and wildcards work.
      </p>
      {classNames.map((cls) => (
        <div key={cls} className="grid items-center gap-2 sm:grid-cols-[140px_1fr]">
          <Label htmlFor={`class-prompt-${cls}`} className="font-mono text-xs">
            {cls}
          </Label>
          <Input
            id={`class-prompt-${cls}`}
            value={value[cls] ?? ""}
            onChange={(e) => onChange((prev) => ({ ...prev, [cls]: e.target.value }))}
            placeholder="Base prompt"
          />
        </div>
      ))}
    </fieldset>
  );
}

/** Step 3 of the automatic form: how many variations of each image, and with which model. */
export function AutomaticOutputCard({
  source,
  form,
  models,
  modelsLoading,
  selectedModel,
}: {
  source: DatasetSource;
  form: AutomaticSettings;
  models: ModelInfo[] | undefined;
  modelsLoading: boolean;
  selectedModel: ModelInfo | undefined;
}) {
  const { itemCount, labels, labelled, folders, datasetName } = source;
  const { variations, splits } = form;
  // Only the chosen splits are varied (the estimate has the exact count).
  const augmentedCount =
    labelled && labels
      ? labels.splits
          .filter((s) => (splits ?? labels.default_splits).includes(s.name))
          .reduce((sum, s) => sum + s.images, 0)
      : itemCount;
  const classNames = folders.map((f) => f.folder).filter(Boolean);
  return (
    <Card>
      <CardHeader>
        <CardTitle>3. Output</CardTitle>
        <CardDescription>How many variations of each image, and with which model.</CardDescription>
      </CardHeader>
      <CardContent className="space-y-5">
        <div className="flex flex-wrap items-end gap-6">
          <div className="space-y-2">
            <Label htmlFor="variations">Variations per image</Label>
            <NumberStepper
              id="variations"
              label="variations"
              value={variations}
              onChange={form.setVariations}
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
          models={models}
          loading={modelsLoading}
          value={form.settings}
          onChange={form.setSettings}
        />
        <div className="flex items-center justify-between gap-4 rounded-lg border p-3">
          <div className="space-y-0.5">
            <Label htmlFor="include-originals">Include the originals in the ZIP</Label>
            <p className="text-xs text-muted-foreground">
              Each source image sits beside its variations, so the download is a complete augmented
              dataset.
            </p>
          </div>
          <Switch
            id="include-originals"
            checked={form.includeOriginals ?? labelled}
            onCheckedChange={form.setIncludeOriginals}
          />
        </div>
        <BatchApiSwitch
          id="auto-batch-api"
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
            placeholder={datasetName || "Optional"}
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
        >
          {classNames.length > 1 ? (
            <ClassPrompts
              classNames={classNames}
              value={form.classPrompts}
              onChange={form.setClassPrompts}
            />
          ) : null}
        </AdvancedOptions>
      </CardContent>
    </Card>
  );
}
