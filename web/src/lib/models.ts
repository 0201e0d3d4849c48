/**
 * What the UI says about a model's lifecycle and prices, from GET /models. The
 * server decides (status as of today, the replacement to use); these only word it.
 */
import type { ModelInfo } from "@/lib/api/types";
import { formatUnitPrice } from "@/lib/format";

type Lifecycle = Pick<
  ModelInfo,
  "status" | "released" | "deprecated" | "shutdown" | "replacement" | "lifecycle_note"
>;

/** "Shut down on 2026-10-29 · use gemini-nano-banana-2.1", or null for a current model. */
export function lifecycleText(m: Lifecycle): string | null {
  const instead = m.replacement ? ` · use ${m.replacement}` : "";
  if (m.status === "shut_down") {
    return `Shut down${m.shutdown ? ` on ${m.shutdown}` : ""}${instead}`;
  }
  if (m.status === "deprecated") {
    const since = m.deprecated ? ` since ${m.deprecated}` : "";
    const ends = m.shutdown ? `, shuts down ${m.shutdown}` : "";
    return `Deprecated${since}${ends}${instead}`;
  }
  return null;
}

export const STATUS_LABEL: Record<ModelInfo["status"], string> = {
  current: "Current",
  deprecated: "Deprecated",
  shut_down: "Shut down",
};

/** "Free", "$0.039", or "$0.0336 – $0.1134" over a model's sizes. */
export function priceRange(prices: Record<string, number>): string {
  const values = Object.values(prices);
  if (values.length === 0 || values.every((p) => p <= 0)) return "Free";
  const min = Math.min(...values);
  const max = Math.max(...values);
  return min === max ? formatUnitPrice(min) : `${formatUnitPrice(min)} – ${formatUnitPrice(max)}`;
}

/** The price at a size ("" = the model's default size); 0 for a model without prices. */
export function priceAt(prices: Record<string, number>, size: string, defaultSize: string | null) {
  const key = size || defaultSize || "default";
  return prices[key] ?? prices.default ?? 0;
}

/** The model a form starts on: the server's default if usable, else the first usable one. */
export function preferredModel(models: ModelInfo[]): ModelInfo | undefined {
  return (
    models.find((m) => m.default && m.available) ??
    models.find((m) => m.available && m.status === "current") ??
    models.find((m) => m.available) ??
    models[0]
  );
}
