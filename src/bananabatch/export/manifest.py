"""Export manifests: one row per output, as JSON Lines and as RFC 4180 CSV.

A row exists for every exported output whatever its status, so a manifest of a
job exported mid-run says which images are still pending and why others failed;
`archive_path` is empty when the archive holds no image for the row.

`run` and `variation` are 1-based, like the folder and file names in the archive
(`run-003/image-2.png`); `Output.run_index` is 0-based in the database.

Labelled datasets add where each image's labels are (`labels_path`, and how many
objects), its split, its quality flags, its review state and why an output with
an image was left out of the archive (`excluded`), so the manifest links every
generated image to its source and its labels.

Source files the dataset's uploads refused (not an image, truncated, too large)
get a row too, with `status` "refused", the file as `source_path`, the reason
as `error`, and no output (`output_id` empty, `run` and `variation` 0), so the
manifest explains why a source has no outputs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from bananabatch.db.models import Batch, Job, Output

MANIFEST_FIELDS: tuple[str, ...] = (
    "archive_path",
    "output_id",
    "job_id",
    "batch",
    "batch_id",
    "run",
    "variation",
    "source_path",
    "source_asset_id",
    "reference_asset_ids",
    "prompt",
    "model",
    "seed",
    "status",
    "error",
    "width",
    "height",
    "cost",
    "attempt",
    "mime_type",
    "split",
    "labels_path",
    "label_count",
    "flags",
    "review",
    "regenerations",
    "excluded",
)

LIST_FIELDS = frozenset({"reference_asset_ids", "flags"})

# How a list of reference asset ids is written in one CSV cell (ids are hex, never contain it).
CSV_LIST_SEPARATOR = ";"

# Rows are grouped into chunks of about this size so a stream is not a flood of tiny writes.
_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class ManifestRow:
    """One output as the manifests describe it. Field order is MANIFEST_FIELDS."""

    archive_path: str
    output_id: str
    job_id: str
    batch: str
    batch_id: str
    run: int
    variation: int
    source_path: str | None
    source_asset_id: str | None
    reference_asset_ids: tuple[str, ...]
    prompt: str
    model: str
    seed: int
    status: str
    error: str | None
    width: int | None
    height: int | None
    cost: float
    attempt: int
    mime_type: str | None
    split: str | None = None
    labels_path: str | None = None  # the label file in the archive (COCO: its JSON)
    label_count: int | None = None  # objects labelled in this image; None: no labels
    flags: tuple[str, ...] = ()
    review: str = "unreviewed"
    regenerations: int = 0
    excluded: str | None = None  # why an output with an image is not in the archive

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping in MANIFEST_FIELDS order (lists stay lists, None is null)."""
        values = {name: getattr(self, name) for name in MANIFEST_FIELDS}
        for name in LIST_FIELDS:
            values[name] = list(values[name])
        return values

    def csv_cells(self) -> list[str]:
        """CSV cells in MANIFEST_FIELDS order: None is empty, lists are `;`-joined."""
        cells: list[str] = []
        for name in MANIFEST_FIELDS:
            value = getattr(self, name)
            if value is None:
                cells.append("")
            elif name in LIST_FIELDS:
                cells.append(CSV_LIST_SEPARATOR.join(value))
            elif isinstance(value, float):
                cells.append(repr(value))  # shortest text that reads back as the same float
            else:
                cells.append(str(value))
        return cells


def has_image(output: Output) -> bool:
    """True when the output has a stored image the archive can hold."""
    return output.status == "succeeded" and bool(output.storage_key)


def manifest_row(
    job: Job,
    batch: Batch,
    output: Output,
    *,
    archive_path: str | None = None,
    flags: tuple[str, ...] = (),
) -> ManifestRow:
    """The row for `output`. `archive_path` overrides `Output.archive_path` when the
    exporter had to adjust the name inside the ZIP (extension fix, collision)."""
    if archive_path is None:
        archive_path = output.archive_path if has_image(output) else ""
    refs = tuple(str(r) for r in (job.reference_asset_ids or []))
    return ManifestRow(
        archive_path=archive_path,
        output_id=output.id,
        job_id=job.id,
        batch=batch.name,
        batch_id=batch.id,
        run=output.run_index + 1,
        variation=output.variation,
        source_path=output.source_path,
        source_asset_id=output.source_asset_id,
        reference_asset_ids=refs,
        prompt=output.prompt,
        model=output.model,
        seed=output.seed,
        status=output.status,
        error=output.error,
        width=output.width,
        height=output.height,
        cost=float(output.cost or 0.0),
        attempt=output.attempt,
        mime_type=output.mime_type,
        label_count=len(output.labels) if output.labels is not None else None,
        flags=flags,
        review=output.review or "unreviewed",
        regenerations=output.regenerations or 0,
    )


REFUSED_STATUS = "refused"


def refused_row(job: Job, rel_path: str, code: str, message: str) -> ManifestRow:
    """The row for a source file the dataset's upload refused (no output exists)."""
    return ManifestRow(
        archive_path="",
        output_id="",
        job_id=job.id,
        batch="",
        batch_id="",
        run=0,
        variation=0,
        source_path=rel_path,
        source_asset_id=None,
        reference_asset_ids=(),
        prompt="",
        model=job.model,
        seed=job.seed,
        status=REFUSED_STATUS,
        error=f"{code}: {message}",
        width=None,
        height=None,
        cost=0.0,
        attempt=0,
        mime_type=None,
    )


def _chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    buf: list[bytes] = []
    size = 0
    for piece in pieces:
        buf.append(piece)
        size += len(piece)
        if size >= _CHUNK_BYTES:
            yield b"".join(buf)
            buf, size = [], 0
    if buf:
        yield b"".join(buf)


def jsonl_line(row: ManifestRow) -> bytes:
    """One JSON Lines record, UTF-8, newline-terminated."""
    text = json.dumps(row.as_dict(), ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


def rows_to_jsonl(rows: Iterable[ManifestRow]) -> Iterator[bytes]:
    """Stream `manifest.jsonl`: one JSON object per row."""
    return _chunked(jsonl_line(row) for row in rows)


class _CsvLineWriter:
    """csv.writer producing one encoded line at a time (CRLF, minimal quoting)."""

    def __init__(self) -> None:
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator="\r\n")

    def line(self, cells: Iterable[str]) -> bytes:
        self._writer.writerow(cells)
        text = self._buf.getvalue()
        self._buf.seek(0)
        self._buf.truncate()
        return text.encode("utf-8")


def csv_header() -> bytes:
    return _CsvLineWriter().line(MANIFEST_FIELDS)


def csv_line(row: ManifestRow) -> bytes:
    """One CSV record, RFC 4180 quoting, CRLF-terminated, UTF-8."""
    return _CsvLineWriter().line(row.csv_cells())


def rows_to_csv(rows: Iterable[ManifestRow]) -> Iterator[bytes]:
    """Stream `manifest.csv`: RFC 4180 (CRLF, quotes doubled), header row, UTF-8 without BOM."""
    writer = _CsvLineWriter()

    def lines() -> Iterator[bytes]:
        yield writer.line(MANIFEST_FIELDS)
        for row in rows:
            yield writer.line(row.csv_cells())

    return _chunked(lines())
