"use client";

import { useCallback, useEffect, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { toast } from "sonner";

import { hasLabelDetail } from "@/components/new-job/dataset-labels";
import type { RawFiles } from "@/components/new-job/dropzone";
import type { ZipUpload } from "@/components/new-job/zip-status";
import { useDebounced } from "@/hooks/use-debounced";
import { createDatasetQueue, useQueueState } from "@/hooks/use-upload-queue";
import { api } from "@/lib/api/client";
import { errorMessage } from "@/lib/api/errors";
import type { DatasetSummary, UploadFinished } from "@/lib/api/types";
import { buildSelection, detectClasses, isImagePath, type FolderCount } from "@/lib/files";
import { plural } from "@/lib/format";
import { selectionNotes, type SelectionNote } from "@/lib/selection-notes";
import type { UploadQueue } from "@/lib/upload-queue";

function defaultDatasetName(): string {
  return `Dataset ${new Date().toLocaleString("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })}`;
}

/**
 * The dataset an automatic job runs on: a folder or ZIP being uploaded into a new dataset
 * (its upload queue, ZIP progress, skipped files and selection notes), or a stored one.
 */
export function useDatasetSource() {
  const [dataset, setDataset] = useState<DatasetSummary | null>(null);
  const [datasetName, setDatasetName] = useState("");
  const [queue, setQueue] = useState<UploadQueue | null>(null);
  const [localClasses, setLocalClasses] = useState<FolderCount[]>([]);
  const [skipped, setSkipped] = useState<string[]>([]);
  const [zip, setZip] = useState<ZipUpload | null>(null);
  const [starting, setStarting] = useState(false);
  const { totals, version } = useQueueState(queue);
  // A stored dataset (picked, or an identical upload gave way to it): nothing to upload.
  const [fromLibrary, setFromLibrary] = useState(false);
  const [notes, setNotes] = useState<SelectionNote[]>([]);
  const [finished, setFinished] = useState<UploadFinished | null>(null);
  const [finishing, setFinishing] = useState(false);

  const uploading =
    (queue !== null && !totals.settled && totals.files > 0) || zip?.status === "uploading";
  // Leaving the page stops the upload: ask first.
  useEffect(() => {
    if (!uploading) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [uploading]);
  const progressKey = useDebounced(`${totals.done}:${zip?.status ?? ""}`, 600);

  const summary = useQuery({
    queryKey: ["dataset", dataset?.id, progressKey, uploading],
    queryFn: () => api.dataset(dataset!.id, !uploading),
    enabled: Boolean(dataset),
    placeholderData: (prev) => prev,
  });
  const stored = summary.data ?? dataset;
  const itemCount = stored?.item_count ?? 0;
  const labels = stored?.labels ?? null;
  const labelled = hasLabelDetail(labels);
  // The classes: the server's once images are stored, the selection's until then.
  const folders = stored && stored.item_count > 0 ? stored.folders : localClasses;

  const ensureDataset = useCallback(
    async (suggested: string | null): Promise<DatasetSummary> => {
      if (dataset) return dataset;
      const created = await api.createDataset(suggested || defaultDatasetName());
      setDataset(created);
      setDatasetName(created.name);
      return created;
    },
    [dataset],
  );

  /** A job being tried again (`?from=`) runs on its dataset, which stays open to drops. */
  const adoptDataset = useCallback((ds: DatasetSummary) => {
    setDataset(ds);
    setDatasetName(ds.name);
  }, []);

  const openStored = useCallback(async (id: string) => {
    try {
      const ds = await api.dataset(id);
      setDataset(ds);
      setDatasetName(ds.name);
      setFromLibrary(true);
      setNotes([]);
    } catch (err) {
      toast.error("Could not open the dataset", { description: errorMessage(err) });
    }
  }, []);

  /** Every file is sent: the server drops an upload that kept nothing, and swaps an
   * identical one for the dataset already stored. */
  const finishUpload = useCallback(
    async (id: string) => {
      setFinishing(true);
      try {
        const done = await api.completeUpload(id);
        setFinished(done);
        if (done.outcome === "removed") {
          queue?.cancel();
          setQueue(null);
          setDataset(null);
          setLocalClasses([]);
          setNotes([{ kind: "no_images", text: done.message }]);
        } else if (done.outcome === "reused" && done.id) {
          await openStored(done.id);
          toast.success("Already stored", { description: done.message });
        }
      } catch (err) {
        toast.error("Could not finish the upload", { description: errorMessage(err) });
      } finally {
        setFinishing(false);
      }
    },
    [queue, openStored],
  );

  const onFiles = useCallback(
    async (raw: RawFiles) => {
      const sel = buildSelection(raw);
      setSkipped((prev) => [...prev, ...sel.skipped]);
      setNotes(selectionNotes(raw.length, sel));
      setFinished(null);
      if (!sel.zip && sel.files.length === 0) return; // the note says why
      setStarting(true);
      let ds: DatasetSummary;
      try {
        ds = await ensureDataset(sel.root);
      } catch (err) {
        toast.error("Could not create the dataset", { description: errorMessage(err) });
        setStarting(false);
        return;
      }
      setStarting(false);
      if (sel.zip) {
        const file = sel.zip;
        setZip({ file, fraction: 0, status: "uploading", report: null, error: null });
        try {
          const report = await api.uploadDatasetZip(ds.id, file, (fraction) =>
            setZip((z) => (z ? { ...z, fraction } : z)),
          );
          setZip({ file, fraction: 1, status: "done", report, error: null });
          if (report.errors.length) {
            toast.warning(`${plural(report.errors.length, "file")} in the ZIP could not be used`);
          } else {
            toast.success(`${plural(report.accepted.length, "image")} imported from ${file.name}`);
          }
        } catch (err) {
          setZip({ file, fraction: 0, status: "error", report: null, error: errorMessage(err) });
        }
        await finishUpload(ds.id);
        return;
      }
      setLocalClasses((prev) => {
        const merged = new Map(prev.map((c) => [c.folder, c.count]));
        const images = sel.files.map((f) => f.relPath).filter(isImagePath);
        for (const c of detectClasses(images)) {
          merged.set(c.folder, (merged.get(c.folder) ?? 0) + c.count);
        }
        return [...merged.entries()].map(([folder, count]) => ({ folder, count }));
      });
      const q = queue ?? createDatasetQueue(ds.id);
      if (!queue) setQueue(q);
      q.add(
        sel.files.map((f) => ({
          id: f.relPath,
          relPath: f.relPath,
          size: f.file.size,
          file: f.file,
        })),
      );
    },
    [ensureDataset, queue, finishUpload],
  );

  // A folder upload is finished once every queued file settled (sent or given up); a
  // later drop into the same dataset settles again and is checked again.
  useEffect(() => {
    if (!queue || !dataset || fromLibrary) return;
    let checked = 0;
    return queue.subscribe(() => {
      const t = queue.totals();
      if (t.settled && t.files > checked) {
        checked = t.files;
        void finishUpload(dataset.id);
      }
    });
  }, [queue, dataset, fromLibrary, finishUpload]);

  /** "Start over": stop the upload and forget the dataset and what was selected. */
  const reset = () => {
    queue?.cancel();
    setQueue(null);
    setDataset(null);
    setDatasetName("");
    setLocalClasses([]);
    setSkipped([]);
    setZip(null);
    setFromLibrary(false);
    setNotes([]);
    setFinished(null);
  };

  return {
    dataset,
    datasetName,
    stored,
    itemCount,
    labels,
    labelled,
    folders,
    queue,
    totals,
    version,
    skipped,
    zip,
    starting,
    fromLibrary,
    notes,
    finished,
    finishing,
    uploading,
    adoptDataset,
    openStored,
    onFiles,
    reset,
  };
}

export type DatasetSource = ReturnType<typeof useDatasetSource>;
