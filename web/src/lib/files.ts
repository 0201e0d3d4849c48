/**
 * Turning what the user dropped or picked into dataset files with relative paths.
 *
 * A dropped folder arrives as FileSystemEntry trees (DataTransferItem.webkitGetAsEntry);
 * a picked folder as a FileList whose files carry `webkitRelativePath`. Both end as
 * `{ file, relPath }` with the dropped folder's own name stripped, so `mydata/cat/1.jpg`
 * becomes `cat/1.jpg` and the class folders are the top level.
 */

export interface PickedFile {
  file: File;
  relPath: string;
}

const IMAGE_EXTENSIONS = new Set([
  "jpg",
  "jpeg",
  "png",
  "webp",
  "gif",
  "bmp",
  "tif",
  "tiff",
  "heic",
  "heif",
  "avif",
]);

export function extension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot >= 0 ? name.slice(dot + 1).toLowerCase() : "";
}

/** Hidden files and OS junk (`.DS_Store`, `__MACOSX/`, `Thumbs.db`) are never dataset images. */
export function isJunkPath(relPath: string): boolean {
  return relPath
    .split("/")
    .some(
      (part) => part.startsWith(".") || part === "__MACOSX" || part.toLowerCase() === "thumbs.db",
    );
}

export function isImagePath(relPath: string): boolean {
  return !isJunkPath(relPath) && IMAGE_EXTENSIONS.has(extension(relPath));
}

/** Label and metadata files of YOLO, COCO and Pascal VOC datasets travel with the images. */
const LABEL_EXTENSIONS = new Set(["txt", "json", "xml", "yaml", "yml"]);

export function isLabelPath(relPath: string): boolean {
  return !isJunkPath(relPath) && LABEL_EXTENSIONS.has(extension(relPath));
}

export function isZipFile(file: { name: string; type?: string }): boolean {
  return extension(file.name) === "zip" || file.type === "application/zip";
}

/** Forward slashes, no leading "./" or "/", no empty parts. */
export function cleanPath(path: string): string {
  return path
    .replace(/\\/g, "/")
    .split("/")
    .filter((p) => p && p !== ".")
    .join("/");
}

/**
 * If every path starts with the same folder and none sits directly at the top,
 * that folder is just the container the user dropped: strip it and call it the
 * dataset name.
 */
export function stripCommonRoot(paths: string[]): { root: string | null; paths: string[] } {
  if (paths.length === 0) return { root: null, paths };
  const first = paths[0]!.split("/")[0] ?? "";
  const shared = paths.every((p) => {
    const parts = p.split("/");
    return parts.length >= 2 && parts[0] === first;
  });
  if (!shared || !first) return { root: null, paths };
  return { root: first, paths: paths.map((p) => p.slice(first.length + 1)) };
}

export interface FolderCount {
  folder: string;
  count: number;
}

/** Top-level folders (classes) with their image counts; "" is the root. */
export function detectClasses(relPaths: string[]): FolderCount[] {
  const counts = new Map<string, number>();
  for (const p of relPaths) {
    const slash = p.indexOf("/");
    const folder = slash >= 0 ? p.slice(0, slash) : "";
    counts.set(folder, (counts.get(folder) ?? 0) + 1);
  }
  const collator = new Intl.Collator("en", { numeric: true });
  return [...counts.entries()]
    .map(([folder, count]) => ({ folder, count }))
    .sort((a, b) => collator.compare(a.folder, b.folder));
}

export interface Selection {
  /** Images and label files to upload, with their dataset-relative paths. */
  files: PickedFile[];
  /** How many of `files` are label or metadata files (.txt, .json, .xml, .yaml). */
  labelFiles: number;
  /** A ZIP archive to upload as a whole, if that is what was given. */
  zip: File | null;
  /** The dropped folder's name, a sensible dataset name. */
  root: string | null;
  /** Paths that were not images (skipped), for the user to see. */
  skipped: string[];
}

/** Filter and normalize raw `{file, path}` pairs into a selection. */
export function buildSelection(raw: { file: File; path: string }[]): Selection {
  const zips = raw.filter((r) => isZipFile(r.file));
  if (zips.length === 1 && raw.length === 1) {
    const zip = zips[0]!.file;
    return { files: [], labelFiles: 0, zip, root: zip.name.replace(/\.zip$/i, ""), skipped: [] };
  }
  const cleaned = raw.map((r) => ({ file: r.file, path: cleanPath(r.path || r.file.name) }));
  const skipped: string[] = [];
  const images: { file: File; path: string }[] = [];
  for (const r of cleaned) {
    if (isImagePath(r.path) || isLabelPath(r.path)) images.push(r);
    else if (!isJunkPath(r.path)) skipped.push(r.path);
  }
  const order = new Intl.Collator("en", { numeric: true });
  images.sort((a, b) => order.compare(a.path, b.path));
  const { root, paths } = stripCommonRoot(images.map((i) => i.path));
  const seen = new Set<string>();
  const files: PickedFile[] = [];
  images.forEach((img, i) => {
    const relPath = paths[i] ?? img.path;
    if (seen.has(relPath)) return;
    seen.add(relPath);
    files.push({ file: img.file, relPath });
  });
  const labelFiles = files.filter((f) => isLabelPath(f.relPath)).length;
  return { files, labelFiles, zip: null, root, skipped };
}

/** Files from an <input type=file> (with or without webkitdirectory). */
export function fromFileList(list: FileList | File[]): { file: File; path: string }[] {
  return Array.from(list).map((file) => ({
    file,
    path: file.webkitRelativePath || file.name,
  }));
}

// ---- drag and drop: FileSystemEntry traversal ----

interface EntryLike {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  fullPath: string;
}
interface FileEntryLike extends EntryLike {
  file(success: (f: File) => void, failure?: (e: unknown) => void): void;
}
interface DirectoryEntryLike extends EntryLike {
  createReader(): {
    readEntries(success: (entries: EntryLike[]) => void, failure?: (e: unknown) => void): void;
  };
}

function readFile(entry: FileEntryLike): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** readEntries returns at most ~100 entries per call: read until it returns none. */
async function readAll(dir: DirectoryEntryLike): Promise<EntryLike[]> {
  const reader = dir.createReader();
  const all: EntryLike[] = [];
  for (;;) {
    const batch = await new Promise<EntryLike[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    );
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

export async function walkEntries(entries: EntryLike[]): Promise<{ file: File; path: string }[]> {
  const out: { file: File; path: string }[] = [];
  const stack = [...entries];
  while (stack.length > 0) {
    const entry = stack.shift()!;
    if (entry.isFile) {
      const file = await readFile(entry as FileEntryLike);
      out.push({ file, path: cleanPath(entry.fullPath || entry.name) });
    } else if (entry.isDirectory) {
      stack.push(...(await readAll(entry as DirectoryEntryLike)));
    }
  }
  return out;
}

/** Everything dropped, folders included (falls back to plain files without entry support). */
export async function fromDataTransfer(dt: DataTransfer): Promise<{ file: File; path: string }[]> {
  const entries: EntryLike[] = [];
  const plain: File[] = [];
  for (const item of Array.from(dt.items)) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry?.() as EntryLike | null | undefined;
    if (entry) entries.push(entry);
    else {
      const f = item.getAsFile();
      if (f) plain.push(f);
    }
  }
  if (entries.length === 0) return fromFileList(dt.files.length ? dt.files : plain);
  return [...(await walkEntries(entries)), ...plain.map((file) => ({ file, path: file.name }))];
}

/** Server messages often start with the file's path; the UI shows the path already. */
export function fileErrorText(relPath: string, message: string): string {
  for (const prefix of [`${relPath}: `, `${baseNameOf(relPath)}: `]) {
    if (message.startsWith(prefix)) {
      const rest = message.slice(prefix.length);
      return rest.charAt(0).toUpperCase() + rest.slice(1);
    }
  }
  return message;
}

function baseNameOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i >= 0 ? path.slice(i + 1) : path;
}
