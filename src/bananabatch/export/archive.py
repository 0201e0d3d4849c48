"""Streaming ZIP export of a job: images stored as they are, manifests beside them.

Layout (everything at the archive root, so an automatic job unpacks into a
ready-to-train augmented dataset):

    manifest.jsonl, manifest.csv      one row per exported output, any status
    cat/001.jpg                       the original (automatic mode, optional)
    cat/001__v1.png, cat/001__v2.png  outputs at their `Output.archive_path`
    01-a-red-car/run-003/image-2.png  (semi-automatic layout)

How it stays cheap for a job of thousands of images:

- the export is planned from one short DB session into plain frozen dataclasses,
  so the stream never touches the DB and outlives the request's session;
- images are read from storage lazily, one at a time, in chunks; the archive is
  never in memory or on disk (zipstream-ng writes data descriptors); the next few
  objects are opened ahead (`readahead.py`) so S3's per-GET latency overlaps;
- every size is known up front, so the exact archive length is known before the
  first byte (a `Content-Length`, a real progress bar in the browser);
- ZIP64 records are added by zipstream-ng only when the archive needs them
  (> 4 GB or > 65,535 entries).

Images are ZIP_STORED (recompressing PNG/JPEG/WebP gains nothing and costs CPU).
Manifests are stored too by default, which keeps the size exact; pass
`deflate_manifests=True` to compress them at the cost of an unknown length.

A job that is still running exports fine: only outputs that have succeeded and
have a stored image become files; the others are manifest rows with their status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from zipstream import ZIP_DEFLATED, ZIP_STORED, ZipStream

from bananabatch.db.models import Asset, Batch, Dataset, Job, Output, OutputStatus, ReviewState
from bananabatch.errors import NotFound, ValidationFailed
from bananabatch.export.entries import (
    MANIFEST_CSV,
    MANIFEST_JSONL,
    ExportEntry,
    ExportSelection,
    NameBook,
    excluded_reason,
    export_filename,
    job_flags,
    safe_arcname,
    stored_ext,
    with_ext,
)
from bananabatch.export.formats import is_labelled_job, labelled_entries
from bananabatch.export.manifest import (
    has_image,
    manifest_row,
    refused_row,
    rows_to_csv,
    rows_to_jsonl,
)
from bananabatch.export.parts import split_parts
from bananabatch.export.readahead import READ_AHEAD, ReadAhead
from bananabatch.export.sizes import SizeBook
from bananabatch.storage.base import Storage
from bananabatch.storage.local import LocalStorage

logger = logging.getLogger(__name__)

# The stream is re-chunked to at least this size: thousands of tiny header writes
# would each become an ASGI message otherwise.
STREAM_CHUNK_BYTES = 256 * 1024
_ROWS_PER_FETCH = 500

# ----------------------------------------------------------------- what goes in


def _group_key(output: Output) -> str:
    if output.source_path or output.source_asset_id:
        return f"{output.batch_id}:source:{output.source_path or output.source_asset_id}"
    return f"{output.batch_id}:run:{output.run_index}"


def _measure(sizes: SizeBook | None, key: str, fallback: int | None) -> int | None:
    """Stored size; None when the object is missing from storage."""
    return fallback if sizes is None else sizes.get(key)


def iter_export_entries(
    session: Session,
    job_id: str,
    selection: ExportSelection,
    *,
    storage: Storage | None = None,
) -> list[ExportEntry]:
    """Everything the export of `job_id` under `selection` would hold, in archive
    order (outputs by position, each original just before its first variation).

    `selection.part` is ignored here (see `split_parts`). With `storage`, sizes are
    exact and an image missing from storage becomes a manifest row without a file
    (error "image missing from storage"); without it, output sizes are unknown.
    Raises NotFound for an unknown job or batch, ValidationFailed for an empty
    selection or output ids that are not in the job.
    """
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    batches = {b.id: b for b in session.scalars(select(Batch).where(Batch.job_id == job_id)).all()}
    if selection.batch_id is not None and selection.batch_id not in batches:
        raise NotFound(f"batch {selection.batch_id} not found in job {job_id}")
    wanted = selection.output_ids
    if wanted is not None and not wanted:
        raise ValidationFailed("the selection is empty: choose at least one output to export")
    include_originals = (
        job.include_originals
        if selection.include_originals is None
        else selection.include_originals
    )

    stmt = (
        select(Output, Asset.storage_key, Asset.size_bytes, Asset.mime_type)
        .outerjoin(Asset, Asset.id == Output.source_asset_id)
        .where(Output.job_id == job_id)
        .order_by(Output.position, Output.id)
        .execution_options(yield_per=_ROWS_PER_FETCH)
    )
    if selection.batch_id is not None:
        stmt = stmt.where(Output.batch_id == selection.batch_id)
    if selection.succeeded_only:
        stmt = stmt.where(Output.status == OutputStatus.succeeded)
    sizes = SizeBook(storage) if storage is not None else None
    if sizes is not None:
        sizes.prefetch_export(session, stmt, wanted, include_originals)
    if selection.accepted_only:
        stmt = stmt.where(Output.review == ReviewState.accepted)
    flags = job_flags(session, job_id)

    names = NameBook()
    entries: list[ExportEntry] = []
    originals_done: set[str] = set()
    seen_ids: set[str] = set()
    for output, asset_key, asset_size, asset_mime in session.execute(stmt):
        if wanted is not None:
            if output.id not in wanted:
                continue
            seen_ids.add(output.id)
        group = _group_key(output)
        if include_originals and asset_key and group not in originals_done:
            originals_done.add(group)
            original = _original_entry(
                output, asset_key, asset_size, asset_mime, group, names, sizes
            )
            if original is not None:
                entries.append(original)
        entries.append(
            _output_entry(
                job,
                batches[output.batch_id],
                output,
                group,
                names,
                sizes,
                flags=flags.get(output.id, ()),
                excluded=excluded_reason(output, selection, flags.get(output.id, ())),
            )
        )

    if wanted is not None and len(seen_ids) < len(wanted):
        _check_selection(session, job_id, wanted - seen_ids)
    return entries


def _check_selection(session: Session, job_id: str, unseen: frozenset[str] | set[str]) -> None:
    """Ids filtered out by batch/status are fine; ids from another job are a mistake."""
    unseen_list = sorted(unseen)
    known: set[str] = set()
    for i in range(0, len(unseen_list), _ROWS_PER_FETCH):
        chunk = unseen_list[i : i + _ROWS_PER_FETCH]
        known.update(
            session.scalars(
                select(Output.id).where(Output.job_id == job_id, Output.id.in_(chunk))
            ).all()
        )
    foreign = [i for i in unseen_list if i not in known]
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise ValidationFailed(
            f"{len(foreign)} selected output(s) do not belong to job {job_id}: {shown}",
            details={"unknown_output_ids": foreign[:100]},
        )


def _original_entry(
    output: Output,
    asset_key: str,
    asset_size: int | None,
    asset_mime: str | None,
    group: str,
    names: NameBook,
    sizes: SizeBook | None,
) -> ExportEntry | None:
    ext = stored_ext(asset_key, asset_mime)
    base = safe_arcname(output.source_path or "") or f"originals/{output.source_asset_id}"
    size = _measure(sizes, asset_key, asset_size)
    if size is None:
        logger.warning("original %s of %s is missing from storage", asset_key, base)
        return None
    return ExportEntry(
        kind="original",
        group=group,
        arcname=names.claim(with_ext(base, ext)),
        storage_key=asset_key,
        size=size,
        row=None,
    )


def _output_entry(
    job: Job,
    batch: Batch,
    output: Output,
    group: str,
    names: NameBook,
    sizes: SizeBook | None,
    *,
    flags: tuple[str, ...] = (),
    excluded: str | None = None,
) -> ExportEntry:
    if not has_image(output) or excluded:
        row = manifest_row(job, batch, output, archive_path="", flags=flags)
        row = replace(row, excluded=excluded if has_image(output) else None)
        return ExportEntry("output", group, "", None, None, row)
    key = output.storage_key
    assert key is not None  # has_image checked it
    size = _measure(sizes, key, None)
    if sizes is not None and size is None:
        logger.warning("image %s of output %s is missing from storage", key, output.id)
        row = manifest_row(job, batch, output, archive_path="", flags=flags)
        row = replace(row, error=row.error or "image missing from storage")
        return ExportEntry("output", group, "", None, None, row)
    base = safe_arcname(output.archive_path) or f"outputs/{output.id}"
    arcname = names.claim(with_ext(base, stored_ext(key, output.mime_type)))
    row = manifest_row(job, batch, output, archive_path=arcname, flags=flags)
    return ExportEntry("output", group, arcname, key, size, row)


# --------------------------------------------------------------------- streaming


def _closing(chunks: Iterator[bytes], close: Callable[[], None]) -> Iterator[bytes]:
    """`chunks`, then `close()` however the consumer stops (done, error, abandoned)."""
    try:
        yield from chunks
    finally:
        close()


def _rechunk(chunks: Iterable[bytes], min_size: int) -> Iterator[bytes]:
    buf = bytearray()
    for chunk in chunks:
        if not buf and len(chunk) >= min_size:
            yield chunk
            continue
        buf += chunk
        if len(buf) >= min_size:
            yield bytes(buf)
            buf.clear()
    if buf:
        yield bytes(buf)


def _byte_len(chunks: Iterable[bytes]) -> int:
    return sum(len(c) for c in chunks)


def zip_entries(
    entries: Sequence[ExportEntry],
    storage: Storage,
    *,
    deflate_manifests: bool = False,
) -> tuple[Iterator[bytes], int | None]:
    """A ZIP of `entries` plus manifests covering their rows, as a lazy chunk
    iterator, and its exact length (None when the manifests are deflated).

    Entries without a size are measured here (a `size()` call per object). Nothing
    is read from storage until the iterator is consumed.
    """
    rows = [e.row for e in entries if e.row is not None]
    zs = ZipStream(compress_type=ZIP_STORED, sized=not deflate_manifests)
    manifest_type = ZIP_DEFLATED if deflate_manifests else None
    # Manifests first: a reader streaming the archive learns its contents up front.
    # They are serialised twice (once to measure) rather than held in memory.
    zs.add(
        rows_to_jsonl(rows),
        MANIFEST_JSONL,
        size=_byte_len(rows_to_jsonl(rows)),
        compress_type=manifest_type,
    )
    zs.add(
        rows_to_csv(rows),
        MANIFEST_CSV,
        size=_byte_len(rows_to_csv(rows)),
        compress_type=manifest_type,
    )
    for entry in entries:  # label files and the like, made in memory
        if entry.arcname and entry.data is not None:
            zs.add(entry.data, entry.arcname, size=len(entry.data))
    files = [
        (e.arcname, e.storage_key, e.size)
        for e in entries
        if e.arcname and e.storage_key and e.data is None
    ]
    # Local files open in microseconds: read ahead only where an open is a round trip.
    depth = 0 if isinstance(storage, LocalStorage) else READ_AHEAD
    reader = ReadAhead(storage, [key for _, key, _ in files], depth)
    for index, (arcname, key, known_size) in enumerate(files):
        size = known_size if known_size is not None else storage.size(key)
        zs.add(reader.chunks(index), arcname, size=size)
    length = len(zs) if zs.sized else None
    return _closing(_rechunk(zs, STREAM_CHUNK_BYTES), reader.close), length


def export_entries(
    session: Session, job_id: str, selection: ExportSelection, *, storage: Storage
) -> tuple[list[ExportEntry], bool]:
    """(entries, splittable): a labelled dataset job exports as the dataset (one part,
    never cut); any other job as `iter_export_entries` lays it out."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    if is_labelled_job(job):
        entries = labelled_entries(session, job_id, selection, storage.get_bytes)
        return [*entries, *refused_entries(session, job, selection)], False
    entries = iter_export_entries(session, job_id, selection, storage=storage)
    return [*entries, *refused_entries(session, job, selection)], True


def refused_entries(session: Session, job: Job, selection: ExportSelection) -> list[ExportEntry]:
    """Manifest rows (no file) for the source files the job's dataset refused; only in
    an export of the whole job (a chosen batch or chosen outputs concern other rows)."""
    if selection.batch_id or selection.output_ids:
        return []
    dataset = session.get(Dataset, job.dataset_id) if job.dataset_id else None
    return [
        ExportEntry(
            kind="file",
            group="refused",
            arcname="",
            storage_key=None,
            size=0,
            row=refused_row(job, r["rel_path"], r.get("code", ""), r.get("message", "")),
        )
        for r in (dataset.refused_files or [] if dataset is not None else [])
    ]


def stream_job_zip(
    session_factory: sessionmaker[Session],
    storage: Storage,
    job_id: str,
    selection: ExportSelection,
    *,
    part_bytes: int,
    deflate_manifests: bool = False,
) -> tuple[str, Iterator[bytes], int | None]:
    """(suggested filename, chunk iterator, exact length or None) for a job export.

    Plans in its own short DB session, closed before returning: the iterator only
    reads storage, so it can be consumed after the request's session is gone.
    With `selection.part`, only that part of the `part_bytes` split is streamed
    (NotFound when there is no such part). NotFound for an unknown job or batch.
    """
    with session_factory() as session:
        entries, splittable = export_entries(session, job_id, selection, storage=storage)
        job = session.get(Job, job_id)
        job_name = job.name if job is not None else ""
    total_parts = 1
    if selection.part is not None:
        parts = split_parts(entries, part_bytes if splittable else 1 << 62)
        total_parts = len(parts)
        if not 1 <= selection.part <= total_parts:
            raise NotFound(
                f"export part {selection.part} does not exist: this export has "
                f"{total_parts} part(s) of at most {part_bytes} bytes"
            )
        entries = parts[selection.part - 1]
    filename = export_filename(job_name, job_id, part=selection.part, parts=total_parts)
    chunks, length = zip_entries(entries, storage, deflate_manifests=deflate_manifests)
    logger.info(
        "exporting job %s as %s: %d entries, %s bytes",
        job_id,
        filename,
        len(entries),
        length if length is not None else "unknown",
    )
    return filename, chunks, length
