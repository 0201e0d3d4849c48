"use client";

import { useEffect, useRef } from "react";

import { api } from "@/lib/api/client";
import { errorMessage } from "@/lib/api/errors";
import type { JobCreate } from "@/lib/api/types";

/**
 * What a new-job form starts from, read once from its URL: `?from=JOB` (duplicate job:
 * the job's recipe, editable) or `?dataset=ID` (a stored dataset, automatic form).
 */
export function useFormSource({
  onRecipe,
  onDataset,
  onError,
}: {
  onRecipe: (recipe: JobCreate) => void;
  onDataset?: (datasetId: string) => void;
  onError: (message: string) => void;
}) {
  const done = useRef(false);
  const handlers = useRef({ onRecipe, onDataset, onError });
  useEffect(() => {
    handlers.current = { onRecipe, onDataset, onError };
  });
  useEffect(() => {
    if (done.current) return;
    done.current = true;
    const params = new URLSearchParams(window.location.search);
    const from = params.get("from");
    const dataset = params.get("dataset");
    if (from) {
      api
        .jobRecipe(from)
        .then((recipe) => handlers.current.onRecipe(recipe))
        .catch((err: unknown) => handlers.current.onError(errorMessage(err)));
    } else if (dataset && handlers.current.onDataset) {
      handlers.current.onDataset(dataset);
    }
  }, []);
}
