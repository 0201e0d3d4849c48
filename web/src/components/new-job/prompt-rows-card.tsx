"use client";

import type { Ref } from "react";
import { Plus, Trash2 } from "lucide-react";

import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { NumberStepper } from "@/components/new-job/number-stepper";
import { PromptEditor } from "@/components/new-job/prompt-editor";
import type { PromptRows } from "@/components/new-job/use-prompt-rows";
import { formatRuns } from "@/lib/format";
import { SEMI_AUTO_VARIABLES } from "@/lib/template";

/** Step 2 of the semi-automatic form: its prompts, each with how many images it makes. */
export function PromptRowsCard({
  rows,
  runSize,
  serverFieldErrors,
  firstRowRef,
}: {
  rows: PromptRows;
  /** Images per run (one task). */
  runSize: number;
  serverFieldErrors: Record<string, string>;
  /** The first row, where "Queue another" puts the focus back. */
  firstRowRef: Ref<HTMLLIElement>;
}) {
  const { prompts, updatePrompt, addPrompt, removePrompt } = rows;
  return (
    <Card>
      <CardHeader>
        <CardTitle>2. Prompts</CardTitle>
        <CardDescription>
          Each prompt becomes a batch. Its count is split into runs of {runSize}; wildcards like{" "}
          <span className="font-mono">{"{red|green}"}</span> vary the images.
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-4">
        <ol className="space-y-4" aria-label="Prompts">
          {prompts.map((row, i) => (
            <li
              key={row.key}
              ref={i === 0 ? firstRowRef : undefined}
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
                    onClick={() => removePrompt(row.key)}
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
  );
}
