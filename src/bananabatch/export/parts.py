"""Splitting a large export into parts, each a valid standalone ZIP of at most
`part_bytes` (as far as a single image allows).

Packing is greedy in export order over *groups*: all variations of one source
image (automatic mode) or one run (semi-automatic) travel together with their
original, so a part is a usable slice of the dataset. Only a group that alone
exceeds the limit is cut, entry by entry. Each part carries its own manifests,
covering exactly its entries; together the parts cover every entry once.

The plan is a pure function of the entries, so the parts listing and the part
download agree as long as the job does not change in between (a job that is
still running can move entries between parts; export a finished job in parts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bananabatch.errors import ValidationFailed
from bananabatch.export.manifest import csv_header, csv_line, jsonl_line

if TYPE_CHECKING:
    from bananabatch.export.entries import ExportEntry

# Per file: local header (30) + data descriptor (16) + central directory record (46),
# the name twice; ZIP64 adds at most 20 + 8 + 28 bytes on top.
_FILE_OVERHEAD = 30 + 16 + 46
_ZIP64_FILE_EXTRA = 20 + 8 + 28
_ZIP64_LIMIT = (1 << 31) - 1
# End of central directory, its ZIP64 form and locator, and the two manifest entries.
_ARCHIVE_OVERHEAD = 22 + 56 + 20 + 2 * (_FILE_OVERHEAD + len("manifest.jsonl"))

# Bytes per pixel by format, only used when a stored size is unknown (no storage given).
_BYTES_PER_PIXEL = {"image/png": 1.6, "image/jpeg": 0.35, "image/webp": 0.25}
_UNKNOWN_IMAGE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ExportPart:
    """One downloadable part. `entries` counts outputs (with or without an image)
    and originals; `files` counts the images it holds."""

    part: int
    entries: int
    approx_bytes: int
    files: int = 0
    outputs: int = 0


def estimated_file_size(entry: ExportEntry) -> int:
    """The stored size when known, else a guess from the dimensions and format."""
    if entry.size is not None:
        return entry.size
    row = entry.row
    if row is not None and row.width and row.height:
        bpp = _BYTES_PER_PIXEL.get(row.mime_type or "", 1.0)
        return int(row.width * row.height * bpp)
    return _UNKNOWN_IMAGE_BYTES


def entry_bytes(entry: ExportEntry) -> int:
    """Approximate bytes `entry` adds to an archive: its file with ZIP framing plus
    its manifest rows."""
    total = 0
    if entry.arcname:
        size = estimated_file_size(entry)
        total += size + _FILE_OVERHEAD + 2 * len(entry.arcname.encode("utf-8"))
        if size > _ZIP64_LIMIT:
            total += _ZIP64_FILE_EXTRA
    if entry.row is not None:
        total += len(jsonl_line(entry.row)) + len(csv_line(entry.row))
    return total


def _base_bytes() -> int:
    return _ARCHIVE_OVERHEAD + len(csv_header())


def split_parts(entries: Sequence[ExportEntry], part_bytes: int) -> list[list[ExportEntry]]:
    """The entries of each part, in order. Always at least one (maybe empty) part."""
    if part_bytes <= 0:
        raise ValidationFailed(f"part size must be a positive number of bytes, got {part_bytes}")
    groups: dict[str, list[ExportEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(entry)

    base = _base_bytes()
    parts: list[list[ExportEntry]] = []
    current: list[ExportEntry] = []
    current_bytes = base

    def flush() -> None:
        nonlocal current, current_bytes
        if current:
            parts.append(current)
        current, current_bytes = [], base

    for group in groups.values():
        sizes = [entry_bytes(e) for e in group]
        group_bytes = sum(sizes)
        if current and current_bytes + group_bytes > part_bytes:
            flush()
        if base + group_bytes <= part_bytes:
            current.extend(group)
            current_bytes += group_bytes
            continue
        # The group alone is over the limit: cutting it is unavoidable.
        for entry, size in zip(group, sizes, strict=True):
            if current and current_bytes + size > part_bytes:
                flush()
            current.append(entry)
            current_bytes += size
    flush()
    return parts or [[]]


def plan_parts(entries: Sequence[ExportEntry], part_bytes: int) -> list[ExportPart]:
    """Summaries of the parts `split_parts` makes (what a parts listing shows)."""
    base = _base_bytes()
    return [
        ExportPart(
            part=number,
            entries=len(chunk),
            approx_bytes=base + sum(entry_bytes(e) for e in chunk),
            files=sum(1 for e in chunk if e.arcname),
            outputs=sum(1 for e in chunk if e.row is not None),
        )
        for number, chunk in enumerate(split_parts(entries, part_bytes), start=1)
    ]
