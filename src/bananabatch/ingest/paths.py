"""Client-supplied relative paths, made safe.

A browser folder upload and a ZIP both hand us paths chosen by someone else.
They end up as dataset item paths, batch names and, later, names inside the
export ZIP, so they must never climb out of the dataset (`..`), look absolute,
carry a drive letter or control characters, or differ only by Unicode
normalisation (macOS writes NFD, everyone else NFC).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bananabatch.errors import BadUpload

MAX_PATH_CHARS = 1024
"""Matches `DatasetItem.rel_path` (String(1024))."""

MAX_SEGMENT_BYTES = 255
"""Most file systems cap one name at 255 bytes; an export unpacked there must not fail."""

_DRIVE = re.compile(r"^[A-Za-z]:")
_IGNORED_NAMES: dict[str, str] = {
    "__macosx": "macOS resource forks (__MACOSX folder), not images",
    ".ds_store": "macOS Finder metadata (.DS_Store)",
    "thumbs.db": "Windows thumbnail cache (Thumbs.db)",
    "ehthumbs.db": "Windows thumbnail cache (ehthumbs.db)",
    "desktop.ini": "Windows folder settings (desktop.ini)",
}


class UnsafePath(BadUpload):
    """A relative path that cannot be used as given (escape, absolute, control chars...)."""

    code = "unsafe_path"


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in ("\u2028", "\u2029")


def safe_relative_path(raw: str) -> str:
    """Normalise a client path to `a/b/c.jpg` form or raise `UnsafePath` saying why.

    Backslashes become `/`, leading `./` and inner `.` segments are dropped, the
    text is NFC-normalised; spaces and non-ASCII letters are kept as they are.
    """
    if not isinstance(raw, str) or raw == "":
        raise UnsafePath("The file has no name/path. Upload it again with its file name.")
    shown = raw if len(raw) <= 200 else raw[:200] + "..."
    if any(_is_control(ch) for ch in raw):
        raise UnsafePath(
            f"{shown!r}: the path contains control characters (such as NUL or a line break). "
            "Rename the file and upload it again."
        )
    path = unicodedata.normalize("NFC", raw.replace("\\", "/"))
    if path.startswith("/"):
        raise UnsafePath(
            f"{shown!r}: absolute paths are not allowed. Upload files by their path "
            "relative to the dataset folder (e.g. 'cat/001.jpg')."
        )
    if _DRIVE.match(path):
        raise UnsafePath(
            f"{shown!r}: paths with a drive letter are not allowed. Upload files by their "
            "path relative to the dataset folder (e.g. 'cat/001.jpg')."
        )
    parts = path.split("/")
    while parts and parts[0] == ".":
        parts.pop(0)
    parts = [p for i, p in enumerate(parts) if p != "." or i == len(parts) - 1]
    if not parts:
        raise UnsafePath(f"{shown!r}: the path names a folder, not a file.")
    if any(p == ".." for p in parts):
        raise UnsafePath(
            f"{shown!r}: the path contains '..', which would point outside the dataset. "
            "Remove it and upload again."
        )
    if parts[-1] in ("", "."):
        raise UnsafePath(f"{shown!r}: the path names a folder, not a file.")
    if any(p == "" for p in parts):
        raise UnsafePath(f"{shown!r}: the path has an empty folder name ('//').")
    for p in parts:
        if len(p.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise UnsafePath(
                f"{shown!r}: the name {p[:40]!r}... is longer than {MAX_SEGMENT_BYTES} bytes. "
                "Use a shorter name."
            )
    result = "/".join(parts)
    if len(result) > MAX_PATH_CHARS:
        raise UnsafePath(
            f"{shown!r}: the path is {len(result)} characters long; the limit is "
            f"{MAX_PATH_CHARS}. Use shorter folder or file names."
        )
    return result


def ignored_reason(path: str) -> str | None:
    """Why `path` is OS clutter that is never part of a dataset (macOS/Windows metadata,
    dot files), in words for the upload report; None for a path to import."""
    for seg in path.replace("\\", "/").split("/"):
        if seg in ("", "."):
            continue
        reason = _IGNORED_NAMES.get(seg.lower())
        if reason is not None:
            return reason
        if seg.startswith("._"):
            return "macOS resource fork (a '._' file), not an image"
        if seg.startswith("."):
            return "hidden file or folder (its name starts with '.')"
    return None


def is_ignored_path(path: str) -> bool:
    """True for OS clutter that is never part of a dataset (see `ignored_reason`)."""
    return ignored_reason(path) is not None


def top_folder(rel_path: str) -> str:
    """The class folder of a dataset item: first segment, or "" for a flat file."""
    head, sep, _ = rel_path.partition("/")
    return head if sep else ""


def common_root(paths: Iterable[str]) -> str | None:
    """The single top folder every path sits under (`dataset` in `dataset/cat/1.jpg`), if any.

    Only one level is considered, and only when that folder holds sub-folders:
    `ds/cat/1.jpg` + `ds/dog/2.jpg` become `cat/...` + `dog/...`, while a single
    class folder (`cats/1.jpg`, `cats/2.jpg`) keeps its name, so no class is lost.
    """
    root: str | None = None
    nested = False
    for p in paths:
        head, sep, rest = p.partition("/")
        if not sep:
            return None
        if root is None:
            root = head
        elif head != root:
            return None
        nested = nested or "/" in rest
    return root if nested else None


def strip_root(rel_path: str, root: str | None) -> str:
    """`rel_path` without its leading `root/` (no-op when root is None)."""
    if root is None:
        return rel_path
    prefix = root + "/"
    return rel_path[len(prefix) :] if rel_path.startswith(prefix) else rel_path
