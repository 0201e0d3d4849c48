"use client";

import { useId, useState } from "react";
import { ChevronDown, Dices, SlidersHorizontal } from "lucide-react";

import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NumberStepper } from "@/components/new-job/number-stepper";
import { MAX_SEED, parseSeed, randomSeed } from "@/lib/seed";
import { cn } from "@/lib/utils";

/**
 * Options most jobs leave alone: a fixed seed (same settings + seed = same
 * prompts and images), the queue priority, and anything a mode adds.
 */
/** A budget cap as typed: null for none, a positive number, or undefined when invalid. */
export function parseMaxCost(text: string): number | null | undefined {
  const t = text.trim();
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) && n > 0 && n <= 1_000_000 ? n : undefined;
}

/** A webhook URL as typed: null for none, the URL, or undefined when it is not http(s). */
export function parseWebhookUrl(text: string): string | null | undefined {
  const t = text.trim();
  if (!t) return null;
  try {
    const url = new URL(t);
    return (url.protocol === "http:" || url.protocol === "https:") && url.host ? t : undefined;
  } catch {
    return undefined;
  }
}

export function AdvancedOptions({
  seed,
  onSeedChange,
  priority,
  onPriorityChange,
  maxCost,
  onMaxCostChange,
  webhookUrl,
  onWebhookUrlChange,
  children,
}: {
  seed: string;
  onSeedChange: (seed: string) => void;
  priority: number;
  onPriorityChange: (priority: number) => void;
  maxCost: string;
  onMaxCostChange: (maxCost: string) => void;
  webhookUrl: string;
  onWebhookUrlChange: (url: string) => void;
  children?: React.ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const seedState = parseSeed(seed);
  const cap = parseMaxCost(maxCost);
  const hook = parseWebhookUrl(webhookUrl);
  return (
    <div className="rounded-lg border">
      <Button
        type="button"
        variant="ghost"
        className="w-full justify-between rounded-lg px-3"
        aria-expanded={open}
        aria-controls={`${id}-panel`}
        onClick={() => setOpen((o) => !o)}
      >
        <span className="flex items-center gap-2">
          <SlidersHorizontal aria-hidden /> Advanced
          <span className="text-xs font-normal text-muted-foreground">
            seed {seedState === "random" ? "random" : seed.trim()} · priority {priority}
            {typeof cap === "number" ? ` · cap $${cap}` : ""}
          </span>
        </span>
        <ChevronDown className={cn("transition-transform", open && "rotate-180")} aria-hidden />
      </Button>
      <div id={`${id}-panel`} hidden={!open} className="space-y-5 border-t p-4">
        <div className="grid gap-5 sm:grid-cols-2">
          <div className="space-y-2">
            <Label htmlFor={`${id}-seed`}>Seed</Label>
            <div className="flex gap-2">
              <Input
                id={`${id}-seed`}
                inputMode="numeric"
                placeholder="Random"
                value={seed}
                onChange={(e) => onSeedChange(e.target.value)}
                aria-invalid={seedState === null || undefined}
                aria-describedby={`${id}-seed-hint`}
              />
              <Button
                type="button"
                variant="outline"
                onClick={() => onSeedChange(String(randomSeed()))}
                aria-label="Re-roll the seed"
                title="Re-roll the seed: new wildcard picks and images"
              >
                <Dices aria-hidden /> Re-roll
              </Button>
            </div>
            <p
              id={`${id}-seed-hint`}
              className={cn(
                "text-xs",
                seedState === null ? "text-destructive" : "text-muted-foreground",
              )}
            >
              {seedState === null
                ? `A whole number from 0 to ${MAX_SEED.toLocaleString("en-US")}.`
                : "The preview and the job use this seed: same settings and seed give the same prompts and picks again."}
            </p>
          </div>
          <div className="space-y-2">
            <Label htmlFor={`${id}-priority`}>Priority</Label>
            <NumberStepper
              id={`${id}-priority`}
              label="priority"
              value={priority}
              onChange={onPriorityChange}
              min={-100}
              max={100}
              describedBy={`${id}-priority-hint`}
            />
            <p id={`${id}-priority-hint`} className="text-xs text-muted-foreground">
              Higher runs first; equal priorities share the workers fairly.
            </p>
          </div>
          <div className="space-y-2">
            <Label htmlFor={`${id}-max-cost`}>Budget cap (USD)</Label>
            <Input
              id={`${id}-max-cost`}
              inputMode="decimal"
              placeholder="No cap"
              value={maxCost}
              onChange={(e) => onMaxCostChange(e.target.value)}
              aria-invalid={cap === undefined || undefined}
              aria-describedby={`${id}-max-cost-hint`}
            />
            <p
              id={`${id}-max-cost-hint`}
              className={cn(
                "text-xs",
                cap === undefined ? "text-destructive" : "text-muted-foreground",
              )}
            >
              {cap === undefined
                ? "A positive amount in dollars, or empty for no cap."
                : "The job pauses before it could spend more; raise the cap to go on."}
            </p>
          </div>
          <div className="space-y-2">
            <Label htmlFor={`${id}-webhook`}>Webhook URL</Label>
            <Input
              id={`${id}-webhook`}
              type="url"
              placeholder="https://example.com/hooks/bananabatch"
              value={webhookUrl}
              onChange={(e) => onWebhookUrlChange(e.target.value)}
              aria-invalid={hook === undefined || undefined}
              aria-describedby={`${id}-webhook-hint`}
            />
            <p
              id={`${id}-webhook-hint`}
              className={cn(
                "text-xs",
                hook === undefined ? "text-destructive" : "text-muted-foreground",
              )}
            >
              {hook === undefined
                ? "An http:// or https:// URL, or empty for the server's default."
                : "POSTed (signed) when the job completes, fails, is cancelled or pauses at its cap."}
            </p>
          </div>
        </div>
        {children}
      </div>
    </div>
  );
}
