"use client";

import { useQuery } from "@tanstack/react-query";
import { Eye, Loader2 } from "lucide-react";

import { Skeleton } from "@/components/ui/skeleton";
import { api } from "@/lib/api/client";
import { errorMessage } from "@/lib/api/errors";
import type { JobCreate } from "@/lib/api/types";
import { useDebounced } from "@/hooks/use-debounced";

/** Rendered prompts for a few sample images, from POST /jobs/preview, as you type. */
export function PromptPreview({
  request,
  waitingFor,
  mode,
}: {
  request: JobCreate | null;
  waitingFor: string | null;
  mode: "automatic" | "semi_auto";
}) {
  const body = useDebounced(request, 450);
  const preview = useQuery({
    queryKey: ["preview", body],
    queryFn: ({ signal }) => api.preview(body!, signal),
    enabled: Boolean(body) && !waitingFor,
    placeholderData: (prev) => prev,
    retry: false,
    staleTime: 30_000,
  });
  return (
    <section aria-labelledby="preview-title" className="space-y-2">
      <h3 id="preview-title" className="flex items-center gap-1.5 text-sm font-medium">
        <Eye className="size-4 text-muted-foreground" aria-hidden /> Preview
        {preview.isFetching ? (
          <Loader2
            className="size-3.5 animate-spin text-muted-foreground"
            aria-label="Updating preview"
          />
        ) : null}
      </h3>
      {waitingFor ? (
        <p className="rounded-md border border-dashed px-3 py-4 text-center text-xs text-muted-foreground">
          {waitingFor}
        </p>
      ) : preview.isError ? (
        <p
          role="alert"
          className="rounded-md border border-destructive/30 bg-destructive/5 px-3 py-3 text-xs text-destructive"
        >
          {errorMessage(preview.error)}
        </p>
      ) : preview.data ? (
        preview.data.length === 0 ? (
          <p className="text-xs text-muted-foreground">Nothing to preview yet.</p>
        ) : (
          <ol
            className="divide-y rounded-md border bg-background"
            data-testid="prompt-preview"
            aria-live="polite"
          >
            {preview.data.map((p, i) => (
              <li
                key={`${p.source_path}-${p.batch}-${p.variation}-${i}`}
                className="space-y-0.5 px-3 py-2"
              >
                <p className="flex flex-wrap gap-x-2 text-[11px] text-muted-foreground">
                  {mode === "automatic" ? (
                    <span className="font-mono">{p.source_path ?? p.batch}</span>
                  ) : (
                    <span>{p.batch}</span>
                  )}
                  <span>
                    · {mode === "automatic" ? `variation ${p.variation}` : `image ${p.variation}`}
                  </span>
                </p>
                <p className="text-sm">
                  {p.prompt || <span className="text-muted-foreground italic">(empty prompt)</span>}
                </p>
              </li>
            ))}
          </ol>
        )
      ) : (
        <div className="space-y-2">
          <Skeleton className="h-10" />
          <Skeleton className="h-10" />
        </div>
      )}
    </section>
  );
}
