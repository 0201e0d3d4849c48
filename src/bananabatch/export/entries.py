"""What an export holds, independent of how it is laid out: the selection, the
entries (files and manifest rows), archive names that are safe everywhere, and
which outputs stay out of the archive and why."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bananabatch.db.models import Output, OutputFlag, ReviewState
from bananabatch.export.manifest import ManifestRow

logger = logging.getLogger(__name__)

MANIFEST_JSONL = "manifest.jsonl"
MANIFEST_CSV = "manifest.csv"
RESERVED_NAMES = frozenset({MANIFEST_JSONL, MANIFEST_CSV})

_MIME_EXT = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "image/tiff": "tif",
}
_EXT_ALIASES = {"jpeg": "jpg", "jpe": "jpg", "tiff": "tif"}
_IMAGE_EXTS = frozenset({"png", "jpg", "webp", "gif", "bmp", "tif", "heic", "heif", "avif"})


@dataclass(frozen=True)
class ExportSelection:
    """What to export. Filters combine (a batch AND succeeded only AND these ids).

    Outputs rejected in review are left out unless `include_rejected`; with
    `accepted_only` only accepted ones are exported. A labelled dataset's export
    leaves out outputs flagged label-unsafe unless `include_flagged`."""

    batch_id: str | None = None
    succeeded_only: bool = False
    output_ids: frozenset[str] | None = None
    include_originals: bool | None = None  # None -> job.include_originals
    part: int | None = None  # 1-based part when split; None = everything in one ZIP
    accepted_only: bool = False
    include_rejected: bool = False
    include_flagged: bool = False


@dataclass(frozen=True)
class ExportEntry:
    """One thing the export holds: an output (a manifest row, plus its image when
    it has one), the original of a source image, or a dataset file (a label file
    written for an output, or one of the dataset's own, in `data` or in storage).

    `arcname` is the path inside the ZIP, "" for an output without an image.
    `group` keeps a source's variations (or a run's images) in the same part.
    `size` is the stored object's size in bytes when known.
    """

    kind: Literal["output", "original", "file"]
    group: str
    arcname: str
    storage_key: str | None
    size: int | None
    row: ManifestRow | None
    data: bytes | None = None


# ----------------------------------------------------------------------- naming


def _norm_ext(ext: str) -> str:
    ext = ext.lower().lstrip(".")
    return _EXT_ALIASES.get(ext, ext)


def stored_ext(storage_key: str | None, mime_type: str | None) -> str | None:
    """The extension of what is actually stored: from its MIME type, else its key."""
    if mime_type:
        ext = _MIME_EXT.get(mime_type.lower())
        if ext:
            return ext
    if storage_key:
        suffix = PurePosixPath(storage_key).suffix
        if suffix:
            return _norm_ext(suffix)
    return None


def with_ext(path: str, ext: str | None) -> str:
    """`path` with an extension matching `ext` (`jpg` and `jpeg` count as one);
    a known image extension is replaced, anything else is kept and `ext` appended."""
    if not ext:
        return path
    pure = PurePosixPath(path)
    suffix = pure.suffix
    if suffix and _norm_ext(suffix) == _norm_ext(ext):
        return path
    if suffix and _norm_ext(suffix) in _IMAGE_EXTS:
        return str(pure.with_suffix("." + ext))
    return f"{path}.{ext}"


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def safe_arcname(path: str) -> str:
    """A relative, forward-slash path with no `..`, empty parts, control characters
    or colons, so no unzip tool (on any OS) can write outside its target folder."""
    # ":" would be a drive letter or an NTFS alternate data stream on Windows.
    cleaned = _CONTROL_CHARS.sub("", path).replace("\\", "/").replace(":", "_")
    parts = [p.strip() for p in cleaned.split("/")]
    return "/".join(p for p in parts if p and p not in (".", ".."))


class NameBook:
    """Hands out unique archive names: a clash gets `~2`, `~3`, ... before the extension."""

    def __init__(self) -> None:
        self._used: set[str] = set(RESERVED_NAMES)

    def claim(self, name: str) -> str:
        candidate = name
        n = 1
        while candidate in self._used:
            n += 1
            pure = PurePosixPath(name)
            candidate = str(pure.with_name(f"{pure.stem}~{n}{pure.suffix}"))
        if candidate != name:
            logger.warning("archive name %s is taken; using %s", name, candidate)
        self._used.add(candidate)
        return candidate


def _slug(text: str, max_len: int = 40) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "job"


def export_filename(job_name: str, job_id: str, *, part: int | None = None, parts: int = 1) -> str:
    """`bananabatch-<name-slug>-<id8>.zip`, or `...-part2of3.zip` for one part of several."""
    base = f"bananabatch-{_slug(job_name)}-{job_id[:8]}"
    if part is not None and parts > 1:
        base += f"-part{part}of{parts}"
    return base + ".zip"


def job_flags(session: Session, job_id: str) -> dict[str, tuple[str, ...]]:
    """Output id -> its quality flags (sorted, each once)."""
    found: dict[str, set[str]] = {}
    rows = session.execute(
        select(OutputFlag.output_id, OutputFlag.flag).where(OutputFlag.job_id == job_id)
    )
    for output_id, flag in rows:
        found.setdefault(output_id, set()).add(flag)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def excluded_reason(
    output: Output,
    selection: ExportSelection,
    flags: tuple[str, ...],
    *,
    labelled: bool = False,
) -> str | None:
    """Why an output that has an image stays out of the archive (its row stays)."""
    if output.review == ReviewState.rejected and not selection.include_rejected:
        return "rejected in review"
    if labelled and "label_unsafe" in flags and not selection.include_flagged:
        return "layout moved: its labels cannot be trusted (include_flagged exports it)"
    return None
