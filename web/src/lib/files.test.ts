import { describe, expect, it } from "vitest";

import {
  buildSelection,
  fileErrorText,
  cleanPath,
  detectClasses,
  isImagePath,
  isLabelPath,
  stripCommonRoot,
  walkEntries,
} from "./files";

const file = (name: string) => new File([new Uint8Array(4)], name);

describe("paths", () => {
  it("cleans and filters", () => {
    expect(cleanPath("./a\\b//c.jpg")).toBe("a/b/c.jpg");
    expect(cleanPath("/root/x.png")).toBe("root/x.png");
    expect(isImagePath("cat/001.JPG")).toBe(true);
    expect(isImagePath("cat/labels.txt")).toBe(false);
    expect(isImagePath("cat/.DS_Store")).toBe(false);
    expect(isImagePath("__MACOSX/cat/._001.jpg")).toBe(false);
  });

  it("strips the dropped folder but not class folders", () => {
    expect(stripCommonRoot(["data/cat/1.jpg", "data/dog/2.jpg"])).toEqual({
      root: "data",
      paths: ["cat/1.jpg", "dog/2.jpg"],
    });
    expect(stripCommonRoot(["cat/1.jpg", "dog/2.jpg"])).toEqual({
      root: null,
      paths: ["cat/1.jpg", "dog/2.jpg"],
    });
    // A single folder with files directly inside: the folder is the container.
    expect(stripCommonRoot(["flat/1.jpg", "flat/2.jpg"])).toEqual({
      root: "flat",
      paths: ["1.jpg", "2.jpg"],
    });
    expect(stripCommonRoot(["1.jpg"])).toEqual({ root: null, paths: ["1.jpg"] });
  });

  it("counts classes", () => {
    expect(
      detectClasses(["dog/1.jpg", "cat/1.jpg", "cat/2.jpg", "x.jpg", "cat/sub/3.jpg"]),
    ).toEqual([
      { folder: "", count: 1 },
      { folder: "cat", count: 3 },
      { folder: "dog", count: 1 },
    ]);
  });
});

describe("buildSelection", () => {
  it("keeps images with relative paths and reports skipped files", () => {
    const sel = buildSelection([
      { file: file("1.jpg"), path: "pets/cat/1.jpg" },
      { file: file("2.png"), path: "pets/dog/2.png" },
      { file: file("readme.md"), path: "pets/readme.md" },
      { file: file(".DS_Store"), path: "pets/.DS_Store" },
    ]);
    expect(sel.zip).toBeNull();
    expect(sel.root).toBe("pets");
    expect(sel.files.map((f) => f.relPath)).toEqual(["cat/1.jpg", "dog/2.png"]);
    expect(sel.labelFiles).toBe(0);
    expect(sel.skipped).toEqual(["pets/readme.md"]);
  });

  it("keeps YOLO, COCO and VOC label files beside the images", () => {
    const sel = buildSelection([
      { file: file("data.yaml"), path: "signs/data.yaml" },
      { file: file("a.jpg"), path: "signs/images/train/a.jpg" },
      { file: file("a.txt"), path: "signs/labels/train/a.txt" },
      { file: file("x.json"), path: "signs/train/_annotations.coco.json" },
      { file: file("a.xml"), path: "signs/Annotations/a.xml" },
    ]);
    expect(sel.root).toBe("signs");
    expect(sel.files.map((f) => f.relPath)).toEqual([
      "Annotations/a.xml",
      "data.yaml",
      "images/train/a.jpg",
      "labels/train/a.txt",
      "train/_annotations.coco.json",
    ]);
    expect(sel.labelFiles).toBe(4);
    expect(isLabelPath("labels/.hidden.txt")).toBe(false);
  });

  it("recognises a single ZIP", () => {
    const sel = buildSelection([{ file: file("dataset.zip"), path: "dataset.zip" }]);
    expect(sel.zip?.name).toBe("dataset.zip");
    expect(sel.root).toBe("dataset");
    expect(sel.files).toEqual([]);
  });
});

describe("walkEntries", () => {
  it("reads nested directories, including readers that page their entries", async () => {
    const fileEntry = (fullPath: string) => ({
      isFile: true,
      isDirectory: false,
      name: fullPath.split("/").pop()!,
      fullPath,
      file: (ok: (f: File) => void) => ok(file(fullPath.split("/").pop()!)),
    });
    const dirEntry = (fullPath: string, children: unknown[]) => ({
      isFile: false,
      isDirectory: true,
      name: fullPath.split("/").pop()!,
      fullPath,
      createReader: () => {
        // Hand the children out two at a time, like Chrome's 100-entry pages.
        let i = 0;
        return {
          readEntries: (ok: (e: unknown[]) => void) => {
            const page = children.slice(i, i + 2);
            i += 2;
            ok(page);
          },
        };
      },
    });
    const tree = dirEntry("/pets", [
      dirEntry("/pets/cat", [
        fileEntry("/pets/cat/1.jpg"),
        fileEntry("/pets/cat/2.jpg"),
        fileEntry("/pets/cat/3.jpg"),
      ]),
      dirEntry("/pets/dog", [fileEntry("/pets/dog/1.jpg")]),
      fileEntry("/pets/readme.md"),
    ]);
    const found = await walkEntries([tree as never]);
    expect(found.map((f) => f.path).sort()).toEqual([
      "pets/cat/1.jpg",
      "pets/cat/2.jpg",
      "pets/cat/3.jpg",
      "pets/dog/1.jpg",
      "pets/readme.md",
    ]);
  });
});

describe("fileErrorText", () => {
  it("drops the path the UI already shows", () => {
    expect(fileErrorText("wren/broken.png", "wren/broken.png: this is not an image file.")).toBe(
      "This is not an image file.",
    );
    expect(fileErrorText("a/b.png", "b.png: too large")).toBe("Too large");
    expect(fileErrorText("a/b.png", "Unsupported format")).toBe("Unsupported format");
  });
});
