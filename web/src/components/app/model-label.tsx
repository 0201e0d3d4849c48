import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/utils";

/**
 * A model's name as users should read it. The classic provider is offline
 * classical augmentation, never presented as an AI model.
 */
export function isClassic(modelOrProvider: string | null | undefined): boolean {
  return modelOrProvider === "classic";
}

export function modelDisplayName(
  id: string,
  models?: { id: string; display_name: string }[],
): string {
  if (isClassic(id)) return "Classic augmentation";
  return models?.find((m) => m.id === id)?.display_name ?? id;
}

export function ModelLabel({
  model,
  provider,
  models,
  className,
}: {
  model: string;
  provider?: string;
  models?: { id: string; display_name: string }[];
  className?: string;
}) {
  const classic = isClassic(model) || isClassic(provider);
  return (
    <span className={cn("inline-flex items-center gap-1.5", className)}>
      <span className="truncate">
        {classic ? "Classic augmentation" : modelDisplayName(model, models)}
      </span>
      {classic ? (
        <Badge
          variant="outline"
          className="font-normal text-muted-foreground"
          title="Offline classical augmentation, not an AI model"
        >
          offline · not AI
        </Badge>
      ) : null}
    </span>
  );
}
