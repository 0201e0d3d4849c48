import { describe, expect, it } from "vitest";

import { buildSelection } from "./files";
import { selectionNotes } from "./selection-notes";

const f = (path: string) => ({ file: new File(["x"], path.split("/").pop()!), path });

describe("selectionNotes", () => {
  it("says an empty selection is empty", () => {
    const notes = selectionNotes(0, buildSelection([]));
    expect(notes.map((n) => n.kind)).toEqual(["empty"]);
    expect(notes[0]!.text).toContain("is empty");
  });

  it("says a folder of non-images has no image, naming one", () => {
    const raw = [f("docs/readme.txt"), f("docs/notes.pdf")];
    const notes = selectionNotes(raw.length, buildSelection(raw));
    expect(notes.map((n) => n.kind)).toEqual(["no_images"]);
    expect(notes[0]!.text).toContain("None of the 2 files");
  });

  it("says nested sub-folders merge into their top-level class", () => {
    const raw = [f("set/cat/indoor/1.jpg"), f("set/cat/2.jpg"), f("set/dog/3.jpg")];
    const notes = selectionNotes(raw.length, buildSelection(raw));
    expect(notes.map((n) => n.kind)).toEqual(["nested"]);
    expect(notes[0]!.text).toContain("cat/indoor/1.jpg");
    expect(notes[0]!.text).toContain("top-level class (cat)");
  });

  it("is quiet for plain class folders and for labelled layouts", () => {
    const plain = [f("set/cat/1.jpg"), f("set/dog/2.jpg")];
    expect(selectionNotes(plain.length, buildSelection(plain))).toEqual([]);
    const yolo = [f("ds/images/train/1.jpg"), f("ds/labels/train/1.txt"), f("ds/data.yaml")];
    expect(selectionNotes(yolo.length, buildSelection(yolo))).toEqual([]);
  });
});
