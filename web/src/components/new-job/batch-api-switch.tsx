"use client";

import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";
import type { ModelInfo } from "@/lib/api/types";

/**
 * Gemini's Batch API: the same images at half the price, within 24 hours. Only Gemini
 * models have it, so the switch is off and says why for any other model.
 */
export function BatchApiSwitch({
  id,
  model,
  checked,
  onCheckedChange,
}: {
  id: string;
  model: ModelInfo | undefined;
  checked: boolean;
  onCheckedChange: (checked: boolean) => void;
}) {
  const available = model?.provider === "gemini";
  return (
    <div className="flex items-center justify-between gap-4 rounded-lg border p-3">
      <div className="space-y-0.5">
        <Label htmlFor={id}>Gemini Batch API</Label>
        <p id={`${id}-hint`} className="text-xs text-muted-foreground">
          {available
            ? "Half price, results within 24 h. Batches are followed and collected even across restarts."
            : "Only Gemini models can use the Batch API."}
        </p>
      </div>
      <Switch
        id={id}
        aria-describedby={`${id}-hint`}
        checked={available && checked}
        disabled={!available}
        onCheckedChange={onCheckedChange}
      />
    </div>
  );
}
