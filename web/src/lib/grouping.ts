/**
 * Gallery grouping, as the design says:
 * - automatic: batch (top-level folder / class) -> source image -> its variations;
 * - semi-automatic: batch (one prompt) -> run (one task of up to 4 images).
 * Then flattened into rows for the virtualized gallery.
 */

export interface GroupableOutput {
  id: string;
  batch_id: string;
  run_index: number;
  variation: number;
  source_path: string | null;
  source_asset_id: string | null;
  status: string;
}

export interface GroupableBatch {
  id: string;
  position: number;
  name: string;
}

export interface SourceGroup<O> {
  key: string;
  sourcePath: string | null;
  sourceAssetId: string | null;
  /** Sorted by variation. */
  outputs: O[];
}

export interface RunGroup<O> {
  key: string;
  runIndex: number;
  outputs: O[];
}

export interface BatchGroup<B, C> {
  key: string;
  batch: B | null;
  /** Batch name, or "Other" for outputs whose batch is unknown. */
  name: string;
  children: C[];
  outputCount: number;
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

function groupByBatch<O extends GroupableOutput, B extends GroupableBatch>(
  outputs: O[],
  batches: B[],
): { batch: B | null; outputs: O[] }[] {
  const order = [...batches].sort((a, b) => a.position - b.position);
  const byId = new Map<string, { batch: B | null; outputs: O[] }>();
  for (const batch of order) byId.set(batch.id, { batch, outputs: [] });
  const orphans: O[] = [];
  for (const o of outputs) {
    const group = byId.get(o.batch_id);
    if (group) group.outputs.push(o);
    else orphans.push(o);
  }
  const result = [...byId.values()].filter((g) => g.outputs.length > 0);
  if (orphans.length > 0) result.push({ batch: null, outputs: orphans });
  return result;
}

function batchName(batch: GroupableBatch | null): string {
  if (!batch) return "Other";
  return batch.name || "(root folder)";
}

/** Automatic mode: batch -> source image (natural path order) -> variations (ascending). */
export function groupAutomatic<O extends GroupableOutput, B extends GroupableBatch>(
  outputs: O[],
  batches: B[],
): BatchGroup<B, SourceGroup<O>>[] {
  return groupByBatch(outputs, batches).map(({ batch, outputs: list }) => {
    const sources = new Map<string, SourceGroup<O>>();
    for (const o of list) {
      const key = o.source_path ?? o.source_asset_id ?? `?${o.id}`;
      let group = sources.get(key);
      if (!group) {
        group = {
          key,
          sourcePath: o.source_path,
          sourceAssetId: o.source_asset_id,
          outputs: [],
        };
        sources.set(key, group);
      }
      group.outputs.push(o);
    }
    const children = [...sources.values()].sort((a, b) => collator.compare(a.key, b.key));
    for (const c of children) c.outputs.sort((a, b) => a.variation - b.variation);
    return {
      key: batch?.id ?? "__other__",
      batch,
      name: batchName(batch),
      children,
      outputCount: list.length,
    };
  });
}

/** Semi-automatic mode: batch -> run (ascending run index) -> images of the run. */
export function groupSemiAuto<O extends GroupableOutput, B extends GroupableBatch>(
  outputs: O[],
  batches: B[],
): BatchGroup<B, RunGroup<O>>[] {
  return groupByBatch(outputs, batches).map(({ batch, outputs: list }) => {
    const runs = new Map<number, RunGroup<O>>();
    for (const o of list) {
      let run = runs.get(o.run_index);
      if (!run) {
        run = { key: `${o.batch_id}:${o.run_index}`, runIndex: o.run_index, outputs: [] };
        runs.set(o.run_index, run);
      }
      run.outputs.push(o);
    }
    const children = [...runs.values()].sort((a, b) => a.runIndex - b.runIndex);
    for (const r of children) r.outputs.sort((a, b) => a.variation - b.variation);
    return {
      key: batch?.id ?? "__other__",
      batch,
      name: batchName(batch),
      children,
      outputCount: list.length,
    };
  });
}

export type GalleryRow<O, B> =
  | {
      kind: "batch";
      key: string;
      batch: B | null;
      name: string;
      outputCount: number;
      groupCount: number;
    }
  | { kind: "source"; key: string; group: SourceGroup<O>; batchKey: string }
  | { kind: "run"; key: string; group: RunGroup<O>; batchKey: string };

/** One row per batch header and per source / run, for the virtualizer. */
export function flattenGroups<O, B>(
  groups: BatchGroup<B, SourceGroup<O>>[] | BatchGroup<B, RunGroup<O>>[],
  kind: "source" | "run",
): GalleryRow<O, B>[] {
  const rows: GalleryRow<O, B>[] = [];
  for (const g of groups) {
    rows.push({
      kind: "batch",
      key: `b:${g.key}`,
      batch: g.batch,
      name: g.name,
      outputCount: g.outputCount,
      groupCount: g.children.length,
    });
    for (const child of g.children) {
      if (kind === "source") {
        rows.push({
          kind: "source",
          key: `s:${g.key}:${child.key}`,
          group: child as SourceGroup<O>,
          batchKey: g.key,
        });
      } else {
        rows.push({
          kind: "run",
          key: `r:${child.key}`,
          group: child as RunGroup<O>,
          batchKey: g.key,
        });
      }
    }
  }
  return rows;
}

/** Outputs in gallery order (for lightbox next/previous). */
export function orderedOutputs<O, B>(rows: GalleryRow<O, B>[]): O[] {
  const out: O[] = [];
  for (const row of rows) {
    if (row.kind !== "batch") out.push(...row.group.outputs);
  }
  return out;
}

/** "cat/sub/001.jpg" -> "001.jpg". */
export function baseName(path: string | null | undefined): string {
  if (!path) return "";
  const i = path.lastIndexOf("/");
  return i >= 0 ? path.slice(i + 1) : path;
}
