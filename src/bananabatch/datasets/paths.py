"""Path conventions shared by the formats: where a split is named, which label
file belongs to an image, and finding an image by name. Pure string work."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from bananabatch.datasets.model import split_role


def folders(rel_path: str) -> list[str]:
    """The directory parts of a relative path (`a/b/c.jpg` -> [a, b])."""
    return rel_path.split("/")[:-1]


def stem(rel_path: str) -> str:
    return posixpath.splitext(posixpath.basename(rel_path))[0]


def split_of(rel_path: str) -> str | None:
    """The first folder named like a split (`images/train/x.jpg`, `valid/x.jpg`)."""
    for part in folders(rel_path):
        if split_role(part) is not None:
            return part
    return None


def yolo_label_path(image_path: str) -> str:
    """Ultralytics' rule: the last `images` folder becomes `labels`, the extension
    `.txt`; an image outside any `images` folder has its label file beside it."""
    parts = image_path.split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    base = "/".join(parts)
    return posixpath.splitext(base)[0] + ".txt"


def voc_label_candidates(image_path: str) -> list[str]:
    """Where a VOC XML for this image may sit: beside it, or in `Annotations/`
    beside the image's `JPEGImages/` (or `images/`) folder."""
    base = posixpath.splitext(image_path)[0]
    out = [base + ".xml"]
    parts = image_path.split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] in ("JPEGImages", "images"):
            swapped = [*parts[:i], "Annotations", *parts[i + 1 :]]
            out.append(posixpath.splitext("/".join(swapped))[0] + ".xml")
            break
    return out


class ImageIndex:
    """Looks up dataset images by exact path, or by base name when unique."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = set(paths)
        self._by_name: dict[str, list[str]] = {}
        for path in sorted(self.paths):
            self._by_name.setdefault(posixpath.basename(path), []).append(path)

    def find(self, name: str, *, near: str = "", split: str | None = None) -> str | None:
        """`name` as written in an annotation file: tried relative to `near` (the
        annotation's folder), then as a dataset path, then by its base name (when
        several images share it, the one in `split`'s folder)."""
        clean = name.replace("\\", "/").lstrip("./")
        for candidate in (posixpath.normpath(posixpath.join(near, clean)) if near else "", clean):
            if candidate in self.paths:
                return candidate
        matches = self._by_name.get(posixpath.basename(clean), [])
        if len(matches) == 1:
            return matches[0]
        if split is not None:
            in_split = [m for m in matches if split in folders(m)]
            if len(in_split) == 1:
                return in_split[0]
        return None
