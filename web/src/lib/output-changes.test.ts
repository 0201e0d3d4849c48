import { describe, expect, it } from "vitest";

import { mergeChanges } from "./output-changes";

const page = (...ids: string[]) => ({ items: ids.map((id) => ({ id, status: "pending" })) });

describe("mergeChanges", () => {
  it("replaces changed items where they stand and keeps the other pages as they are", () => {
    const data = { pages: [page("a", "b"), page("c")], pageParams: [null, "x"] };
    const merged = mergeChanges(data, [{ id: "b", status: "succeeded" }]);
    expect(merged?.pages[0]?.items).toEqual([
      { id: "a", status: "pending" },
      { id: "b", status: "succeeded" },
    ]);
    expect(merged?.pages[1]).toBe(data.pages[1]);
    expect(merged?.pageParams).toBe(data.pageParams);
    expect(data.pages[0]?.items[1]?.status).toBe("pending"); // not mutated
  });

  it("returns the same data when no loaded item changed", () => {
    const data = { pages: [page("a")], pageParams: [null] };
    expect(mergeChanges(data, [])).toBe(data);
    expect(mergeChanges(data, [{ id: "z", status: "failed" }])).toBe(data);
    expect(mergeChanges<typeof data>(undefined, [{ id: "a", status: "failed" }])).toBeUndefined();
  });
});
