"use client";

import { AlertTriangle, ScrollText } from "lucide-react";

import { Alert, AlertDescription } from "@/components/ui/alert";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import type { Recipe } from "@/lib/api/types";
import { formatInt } from "@/lib/format";
import { cn } from "@/lib/utils";

function PromptText({ text, testId }: { text: string; testId?: string }) {
  return (
    <pre
      data-testid={testId}
      className="max-h-48 overflow-y-auto rounded-md border bg-muted/30 px-3 py-2 font-mono text-[12.5px] leading-relaxed break-words whitespace-pre-wrap"
    >
      {text || "—"}
    </pre>
  );
}

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <>
      <dt className="text-muted-foreground">{label}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </>
  );
}

/**
 * What decides the job's images, as it was given: prompts (base, per class, per
 * image from the CSV), references (with the ones the model ignores marked), model,
 * size, aspect ratio, format, seed and options. Read from `job.recipe`.
 */
export function JobRecipe({ recipe }: { recipe: Recipe }) {
  const aspect =
    recipe.aspect_ratio ?? (recipe.fit_to_source ? "each source's own" : "model default");
  const classes = Object.entries(recipe.per_class_prompts).sort(([a], [b]) => a.localeCompare(b));
  return (
    <Card className="mb-6 gap-3 py-4" data-testid="job-recipe">
      <CardHeader>
        <CardTitle className="flex items-center gap-1.5 text-xs font-medium tracking-wide text-muted-foreground uppercase">
          <ScrollText className="size-3.5" aria-hidden /> Recipe
        </CardTitle>
      </CardHeader>
      <CardContent className="grid gap-5 lg:grid-cols-[minmax(0,2fr)_minmax(0,1fr)]">
        <div className="min-w-0 space-y-4">
          {recipe.prompt !== null ? (
            <section className="space-y-1.5">
              <h3 className="text-sm font-medium">Base prompt</h3>
              <PromptText text={recipe.prompt} testId="recipe-prompt" />
            </section>
          ) : null}
          {recipe.prompts.map((p, i) => (
            <section key={i} className="space-y-1.5">
              <h3 className="text-sm font-medium">
                {recipe.prompts.length > 1 ? `Prompt ${i + 1}` : "Prompt"}{" "}
                <span className="font-normal text-muted-foreground">
                  · {formatInt(p.count)} image{p.count === 1 ? "" : "s"}
                </span>
              </h3>
              <PromptText text={p.prompt} testId="recipe-prompt" />
            </section>
          ))}
          {classes.length ? (
            <section className="space-y-1.5">
              <h3 className="text-sm font-medium">Per-class prompts</h3>
              <dl className="space-y-2" data-testid="recipe-class-prompts">
                {classes.map(([cls, text]) => (
                  <div key={cls}>
                    <dt className="font-mono text-xs text-muted-foreground">{cls || "(root)"}</dt>
                    <dd>
                      <PromptText text={text} />
                    </dd>
                  </div>
                ))}
              </dl>
            </section>
          ) : null}
          {recipe.per_image_prompt_count > 0 ? (
            <section className="space-y-1.5">
              <h3 className="text-sm font-medium">
                Per-image prompts (CSV){" "}
                <span className="font-normal text-muted-foreground">
                  · {formatInt(recipe.per_image_prompt_count)} row
                  {recipe.per_image_prompt_count === 1 ? "" : "s"}
                </span>
              </h3>
              <div className="max-h-56 overflow-y-auto rounded-md border">
                <table className="w-full text-xs" data-testid="recipe-csv">
                  <tbody>
                    {recipe.per_image_prompts.map((row) => (
                      <tr key={row.path} className="border-b align-top last:border-0">
                        <td className="px-2 py-1 font-mono whitespace-nowrap text-muted-foreground">
                          {row.path}
                        </td>
                        <td className="px-2 py-1 font-mono break-words whitespace-pre-wrap">
                          {row.prompt}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {recipe.per_image_prompt_count > recipe.per_image_prompts.length ? (
                <p className="text-xs text-muted-foreground">
                  The first {formatInt(recipe.per_image_prompts.length)} rows are shown; every row
                  is in the export manifest.
                </p>
              ) : null}
            </section>
          ) : null}
          {recipe.references.length ? (
            <section className="space-y-1.5">
              <h3 className="text-sm font-medium">
                References{" "}
                <span className="font-normal text-muted-foreground">
                  · {recipe.references.length}
                  {recipe.references_used < recipe.references.length
                    ? `, the model uses ${recipe.references_used}`
                    : ""}
                </span>
              </h3>
              <ul className="flex flex-wrap gap-2" aria-label="Reference images">
                {recipe.references.map((ref, i) => (
                  <li key={`${ref.asset_id}-${i}`} className="relative">
                    <a href={ref.image_url} target="_blank" rel="noreferrer">
                      <img
                        src={ref.thumbnail_url}
                        alt={`Reference ${i + 1}${ref.used ? "" : " (ignored by this model)"}`}
                        title={ref.used ? `Reference ${i + 1}` : "Ignored by this model"}
                        data-testid="recipe-reference"
                        data-used={ref.used ? "true" : "false"}
                        className={cn(
                          "bg-checker size-20 rounded-md border object-cover",
                          !ref.used && "opacity-45 grayscale",
                        )}
                        loading="lazy"
                      />
                    </a>
                    {!ref.used ? (
                      <span className="absolute inset-x-0 bottom-0 rounded-b-md bg-black/60 text-center text-[10px] text-white">
                        ignored
                      </span>
                    ) : null}
                  </li>
                ))}
              </ul>
              {recipe.reference_warning ? (
                <Alert data-testid="recipe-reference-warning">
                  <AlertTriangle aria-hidden />
                  <AlertDescription>{recipe.reference_warning}</AlertDescription>
                </Alert>
              ) : null}
            </section>
          ) : null}
        </div>
        <dl className="grid h-fit grid-cols-[auto_minmax(0,1fr)] gap-x-4 gap-y-1.5 text-sm">
          <Row label="Model">
            {recipe.model_name}
            {recipe.model_name !== recipe.model ? (
              <span className="block font-mono text-xs text-muted-foreground">{recipe.model}</span>
            ) : null}
          </Row>
          <Row label="Size">{recipe.image_size ?? "model default"}</Row>
          <Row label="Aspect ratio">{aspect}</Row>
          <Row label="Format">
            <span className="uppercase">{recipe.output_format}</span>
          </Row>
          <Row label="Seed">
            <span className="font-mono" data-testid="recipe-seed">
              {recipe.seed}
            </span>
          </Row>
          {recipe.variations !== null ? (
            <Row label="Variations">{recipe.variations} per image</Row>
          ) : null}
          {recipe.splits?.length ? <Row label="Splits">{recipe.splits.join(", ")}</Row> : null}
          {recipe.fit_to_source ? <Row label="Frame">fitted to each source</Row> : null}
          <Row label="Originals">{recipe.include_originals ? "in the export" : "not exported"}</Row>
          {recipe.route === "batch" ? <Row label="Route">Gemini Batch API</Row> : null}
        </dl>
      </CardContent>
    </Card>
  );
}
