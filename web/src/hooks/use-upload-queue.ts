"use client";

import { useCallback, useEffect, useMemo, useSyncExternalStore } from "react";

import { api } from "@/lib/api/client";
import { fileErrorText } from "@/lib/files";
import { ApiError, errorMessage } from "@/lib/api/errors";
import {
  UploadError,
  UploadQueue,
  type ChunkUploader,
  type UploadTotals,
} from "@/lib/upload-queue";

/** Map the API's failures onto the queue's retry rules. */
function toUploadError(err: unknown): unknown {
  if (err instanceof DOMException && err.name === "AbortError") return err;
  if (err instanceof ApiError) {
    return new UploadError(errorMessage(err), { retryable: err.transient, status: err.status });
  }
  return new UploadError(errorMessage(err), { retryable: true });
}

/** A queue sending files into one dataset: 4 requests of up to 20 files at a time. */
export function createDatasetQueue(datasetId: string): UploadQueue {
  const uploader: ChunkUploader = async (items, onProgress, signal) => {
    try {
      const report = await api.uploadDatasetFiles(
        datasetId,
        items.map((i) => ({ file: i.file, relPath: i.relPath })),
        onProgress,
        signal,
      );
      return {
        errors: report.errors.map((e) => ({
          relPath: e.rel_path,
          message: fileErrorText(e.rel_path, e.message),
        })),
      };
    } catch (err) {
      throw toUploadError(err);
    }
  };
  return new UploadQueue({ uploader, concurrency: 4, maxFilesPerChunk: 20, maxAttempts: 4 });
}

const EMPTY: UploadTotals = {
  files: 0,
  bytes: 0,
  loadedBytes: 0,
  queued: 0,
  uploading: 0,
  done: 0,
  rejected: 0,
  failed: 0,
  fraction: 0,
  settled: false,
};

/**
 * The queue's state for React, re-rendering at most once per animation frame
 * however many progress events arrive. The queue is cancelled on unmount.
 */
export function useQueueState(queue: UploadQueue | null): {
  totals: UploadTotals;
  version: number;
} {
  useEffect(() => () => queue?.cancel(), [queue]);
  const subscribe = useCallback(
    (onChange: () => void) => {
      if (!queue) return () => undefined;
      let frame: number | null = null;
      const unsubscribe = queue.subscribe(() => {
        if (frame !== null) return;
        frame = requestAnimationFrame(() => {
          frame = null;
          onChange();
        });
      });
      return () => {
        if (frame !== null) cancelAnimationFrame(frame);
        unsubscribe();
      };
    },
    [queue],
  );
  const version = useSyncExternalStore(
    subscribe,
    () => queue?.getVersion() ?? -1,
    () => -1,
  );
  const totals = useMemo(() => (queue ? queue.totals() : EMPTY), [queue, version]); // eslint-disable-line react-hooks/exhaustive-deps
  return { totals, version };
}
