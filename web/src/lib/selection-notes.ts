/**
 * What the upload step says about a folder selection before anything is sent: an
 * empty selection, a folder without images, and images in sub-folders of a class
 * folder (merged into their top-level class, since a class is a top-level folder).
 */
import { plural } from "./format";
import { isLabelPath, type Selection } from "./files";

export interface SelectionNote {
  kind: "empty" | "no_images" | "nested";
  text: string;
}

const IMAGE_TYPES = "JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC or AVIF";

export function selectionNotes(rawCount: number, sel: Selection): SelectionNote[] {
  if (sel.zip) return [];
  if (rawCount === 0) {
    return [
      {
        kind: "empty",
        text: "The folder you chose is empty: no files were selected. Choose a folder that contains images.",
      },
    ];
  }
  const images = sel.files.filter((f) => !isLabelPath(f.relPath));
  if (images.length === 0) {
    const example = sel.skipped[0] ? ` (for example ${sel.skipped[0]})` : "";
    return [
      {
        kind: "no_images",
        text: `None of the ${plural(rawCount, "file")} you chose is an image${example}. Choose a folder of ${IMAGE_TYPES} images.`,
      },
    ];
  }
  // Labelled datasets (YOLO, COCO, VOC) nest by design: images/train/... is not a class.
  if (sel.labelFiles > 0) return [];
  const nested = images.filter((f) => f.relPath.split("/").length > 2);
  if (nested.length === 0) return [];
  const first = nested[0]!.relPath;
  const top = first.split("/")[0];
  return [
    {
      kind: "nested",
      text: `${plural(nested.length, "image")} ${nested.length === 1 ? "sits" : "sit"} in sub-folders inside a class folder (for example ${first}). Classes are top-level folders only, so ${nested.length === 1 ? "it is" : "they are"} merged into ${nested.length === 1 ? "its" : "their"} top-level class (${top}).`,
    },
  ];
}
