import { describe, expect, it } from "vitest";

import {
  baseName,
  flattenGroups,
  groupAutomatic,
  groupSemiAuto,
  orderedOutputs,
  type GroupableOutput,
} from "./grouping";

const batches = [
  { id: "b-dog", position: 1, name: "dog" },
  { id: "b-cat", position: 0, name: "cat" },
];

function out(p: Partial<GroupableOutput> & { id: string }): GroupableOutput {
  return {
    batch_id: "b-cat",
    run_index: 0,
    variation: 1,
    source_path: null,
    source_asset_id: null,
    status: "succeeded",
    ...p,
  };
}

describe("groupAutomatic", () => {
  it("groups folder -> source -> variations in natural order", () => {
    const outputs = [
      out({ id: "1", batch_id: "b-dog", source_path: "dog/10.jpg", variation: 2 }),
      out({ id: "2", batch_id: "b-cat", source_path: "cat/2.jpg", variation: 2 }),
      out({ id: "3", batch_id: "b-cat", source_path: "cat/10.jpg", variation: 1 }),
      out({ id: "4", batch_id: "b-cat", source_path: "cat/2.jpg", variation: 1 }),
      out({ id: "5", batch_id: "b-dog", source_path: "dog/10.jpg", variation: 1 }),
      out({ id: "6", batch_id: "b-cat", source_path: "cat/2.jpg", variation: 3 }),
    ];
    const groups = groupAutomatic(outputs, batches);
    expect(groups.map((g) => g.name)).toEqual(["cat", "dog"]);
    const cat = groups[0]!;
    expect(cat.outputCount).toBe(4);
    expect(cat.children.map((s) => s.sourcePath)).toEqual(["cat/2.jpg", "cat/10.jpg"]);
    expect(cat.children[0]!.outputs.map((o) => o.id)).toEqual(["4", "2", "6"]);
    expect(groups[1]!.children[0]!.outputs.map((o) => o.variation)).toEqual([1, 2]);
  });

  it("drops empty batches and collects outputs of unknown batches under Other", () => {
    const groups = groupAutomatic(
      [out({ id: "1", batch_id: "zzz", source_path: "x.jpg" })],
      batches,
    );
    expect(groups).toHaveLength(1);
    expect(groups[0]!.name).toBe("Other");
    expect(groups[0]!.batch).toBeNull();
  });

  it("names a flat dataset's batch", () => {
    const groups = groupAutomatic(
      [out({ id: "1", batch_id: "root", source_path: "a.jpg" })],
      [{ id: "root", position: 0, name: "" }],
    );
    expect(groups[0]!.name).toBe("(root folder)");
  });
});

describe("groupSemiAuto", () => {
  it("groups batch -> runs of 4", () => {
    const outputs: GroupableOutput[] = [];
    for (let i = 0; i < 40; i += 1) {
      outputs.push(
        out({
          id: `a${i}`,
          batch_id: "b-cat",
          run_index: Math.floor(i / 4),
          variation: (i % 4) + 1,
        }),
      );
    }
    for (let i = 0; i < 6; i += 1) {
      outputs.push(
        out({
          id: `b${i}`,
          batch_id: "b-dog",
          run_index: Math.floor(i / 4),
          variation: (i % 4) + 1,
        }),
      );
    }
    outputs.reverse();
    const groups = groupSemiAuto(outputs, batches);
    expect(groups.map((g) => g.children.length)).toEqual([10, 2]);
    expect(groups[0]!.children.every((r) => r.outputs.length === 4)).toBe(true);
    expect(groups[0]!.children.map((r) => r.runIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(groups[0]!.children[0]!.outputs.map((o) => o.id)).toEqual(["a0", "a1", "a2", "a3"]);
    expect(groups[1]!.children.map((r) => r.outputs.length)).toEqual([4, 2]);
  });
});

describe("flattenGroups", () => {
  it("emits a header row per batch followed by its groups, and keeps gallery order", () => {
    const outputs = [
      out({ id: "1", batch_id: "b-cat", run_index: 0 }),
      out({ id: "2", batch_id: "b-cat", run_index: 1 }),
      out({ id: "3", batch_id: "b-dog", run_index: 0 }),
    ];
    const rows = flattenGroups(groupSemiAuto(outputs, batches), "run");
    expect(rows.map((r) => r.kind)).toEqual(["batch", "run", "run", "batch", "run"]);
    const header = rows[0]!;
    expect(header.kind === "batch" && header.groupCount).toBe(2);
    expect(new Set(rows.map((r) => r.key)).size).toBe(rows.length);
    expect(orderedOutputs(rows).map((o) => o.id)).toEqual(["1", "2", "3"]);
  });
});

describe("baseName", () => {
  it("keeps the last path part", () => {
    expect(baseName("cat/sub/001.jpg")).toBe("001.jpg");
    expect(baseName("001.jpg")).toBe("001.jpg");
    expect(baseName(null)).toBe("");
  });
});
