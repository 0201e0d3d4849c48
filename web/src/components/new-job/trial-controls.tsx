"use client";

import { FlaskConical, Loader2 } from "lucide-react";

import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import type { TrialEstimate } from "@/lib/api/types";
import { formatInt, formatUsd } from "@/lib/format";

export const DEFAULT_TRIAL_SIZE = 8;
export const MAX_TRIAL_SIZE = 1000;

/** The trial size typed in the form: a whole number in 1..1000, or null when invalid. */
export function parseTrialSize(text: string): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= 1 && n <= MAX_TRIAL_SIZE ? n : null;
}

function cost(usd: number): string {
  return usd === 0 ? "free" : formatUsd(usd);
}

/**
 * "Try on N images": run a sample of the job (across classes or prompts, drawn from the
 * seed) before paying for all of it. The job page then runs the rest, keeping the
 * trial's images.
 */
export function TrialControls({
  size,
  onSizeChange,
  trial,
  totalOutputs,
  disabled,
  pending,
  onTry,
}: {
  size: string;
  onSizeChange: (size: string) => void;
  /** The estimate's trial part; null when the whole job is no bigger than the trial. */
  trial: TrialEstimate | null | undefined;
  totalOutputs: number | undefined;
  disabled: boolean;
  pending: boolean;
  onTry: (size: number) => void;
}) {
  const parsed = parseTrialSize(size);
  const whole = totalOutputs !== undefined && parsed !== null && !trial;
  return (
    <div className="space-y-2 rounded-lg border border-dashed p-3" data-testid="trial-controls">
      <div className="flex items-end gap-2">
        <div className="space-y-1">
          <Label htmlFor="trial-size" className="text-xs">
            Trial images
          </Label>
          <Input
            id="trial-size"
            className="w-20"
            inputMode="numeric"
            value={size}
            onChange={(e) => onSizeChange(e.target.value)}
            aria-invalid={parsed === null || undefined}
            aria-describedby="trial-hint"
          />
        </div>
        <Button
          variant="outline"
          className="flex-1"
          disabled={disabled || parsed === null || whole || pending}
          onClick={() => parsed !== null && onTry(parsed)}
          data-testid="try-trial"
        >
          {pending ? (
            <Loader2 className="animate-spin" aria-hidden />
          ) : (
            <FlaskConical aria-hidden />
          )}
          Try on {parsed ?? "N"} image{parsed === 1 ? "" : "s"}
        </Button>
      </div>
      <p id="trial-hint" className="text-xs text-muted-foreground" data-testid="trial-estimate">
        {parsed === null
          ? `A whole number from 1 to ${MAX_TRIAL_SIZE}.`
          : trial
            ? `Trial: ${formatInt(trial.outputs)} images, ${cost(trial.cost_usd)}. The rest: ${formatInt(trial.rest_outputs)} images, ${cost(trial.rest_cost_usd)}, run later from the job page (the trial's images are kept).`
            : whole
              ? `The job has only ${formatInt(totalOutputs)} images: start it whole.`
              : "A sample across classes and prompts, to see the prompt at work before paying for all of it."}
      </p>
    </div>
  );
}
