"use client";

import { useRef, useState } from "react";
import { FileArchive, FolderOpen, Images, UploadCloud } from "lucide-react";

import { Button } from "@/components/ui/button";
import { fromDataTransfer, fromFileList } from "@/lib/files";
import { cn } from "@/lib/utils";

/** Folder picking (not in React's typings): in the markup itself, so the exported HTML
 * already has it before the page hydrates. */
const FOLDER_PICKER = { webkitdirectory: "", directory: "" } as Record<string, string>;

export type RawFiles = { file: File; path: string }[];

/**
 * Drop a folder, images or a ZIP, or pick them. Folder structure is kept:
 * dropped folders are walked through FileSystemEntry, picked folders carry
 * webkitRelativePath.
 */
export function Dropzone({
  onFiles,
  disabled,
  allowFolder = true,
  allowZip = true,
  accept = "image/*",
  title,
  hint,
  compact = false,
  idPrefix,
}: {
  onFiles: (files: RawFiles) => void;
  disabled?: boolean;
  allowFolder?: boolean;
  allowZip?: boolean;
  accept?: string;
  title: string;
  hint?: string;
  compact?: boolean;
  idPrefix: string;
}) {
  const [over, setOver] = useState(false);
  const [reading, setReading] = useState(false);
  const folderRef = useRef<HTMLInputElement>(null);
  const filesRef = useRef<HTMLInputElement>(null);
  const zipRef = useRef<HTMLInputElement>(null);

  const onDrop = async (e: React.DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (disabled) return;
    setReading(true);
    try {
      const files = await fromDataTransfer(e.dataTransfer);
      onFiles(files); // an empty selection too: the form says so
    } finally {
      setReading(false);
    }
  };

  const onInput = (e: React.ChangeEvent<HTMLInputElement>) => {
    const list = e.target.files;
    if (list) onFiles(fromFileList(list)); // an empty folder too: the form says so
    e.target.value = "";
  };

  return (
    <div
      role="group"
      aria-label={title}
      aria-describedby={`${idPrefix}-hint`}
      aria-busy={reading}
      onDragOver={(e) => {
        e.preventDefault();
        if (!disabled) setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => void onDrop(e)}
      className={cn(
        "flex flex-col items-center justify-center gap-3 rounded-xl border-2 border-dashed bg-muted/30 text-center transition-colors",
        compact ? "px-4 py-6" : "px-6 py-10",
        over && "border-banana-strong bg-banana/15",
        disabled && "opacity-60",
      )}
    >
      <span className="flex size-11 items-center justify-center rounded-full bg-background shadow-xs">
        <UploadCloud className="size-5 text-muted-foreground" aria-hidden />
      </span>
      <div className="space-y-1">
        <p className="text-sm font-medium">{reading ? "Reading the folder…" : title}</p>
        <p id={`${idPrefix}-hint`} className="text-xs text-muted-foreground">
          {hint}
        </p>
      </div>
      <div className="flex flex-wrap justify-center gap-2">
        {allowFolder ? (
          <Button
            type="button"
            variant="outline"
            size="sm"
            disabled={disabled}
            onClick={() => folderRef.current?.click()}
          >
            <FolderOpen aria-hidden /> Choose folder
          </Button>
        ) : null}
        <Button
          type="button"
          variant="outline"
          size="sm"
          disabled={disabled}
          onClick={() => filesRef.current?.click()}
        >
          <Images aria-hidden /> Choose images
        </Button>
        {allowZip ? (
          <Button
            type="button"
            variant="outline"
            size="sm"
            disabled={disabled}
            onClick={() => zipRef.current?.click()}
          >
            <FileArchive aria-hidden /> Choose ZIP
          </Button>
        ) : null}
      </div>
      {allowFolder ? (
        <input
          ref={folderRef}
          {...FOLDER_PICKER}
          type="file"
          multiple
          hidden
          aria-label="Choose a folder of images"
          data-testid={`${idPrefix}-folder-input`}
          onChange={onInput}
        />
      ) : null}
      <input
        ref={filesRef}
        type="file"
        multiple
        accept={accept}
        hidden
        aria-label="Choose image files"
        data-testid={`${idPrefix}-files-input`}
        onChange={onInput}
      />
      {allowZip ? (
        <input
          ref={zipRef}
          type="file"
          accept=".zip,application/zip"
          hidden
          aria-label="Choose a ZIP archive"
          data-testid={`${idPrefix}-zip-input`}
          onChange={onInput}
        />
      ) : null}
    </div>
  );
}
