"""Ingest: from uploaded bytes to assets and dataset items in storage and the DB.

The HTTP layer streams uploads to disk and calls these functions; they never
see a request. Assets are content-addressed by the sha256 of the uploaded
bytes, so a re-upload stores nothing new. Each file is committed on its own:
a bad file becomes a `FileError` and the rest go on, and SQLite's single
writer lock is never held across a long upload.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bananabatch.config import Settings
from bananabatch.datasets.model import is_label_file
from bananabatch.datasets.service import MAX_LABEL_FILE_BYTES, mark_stale, store_dataset_file
from bananabatch.db.models import Asset
from bananabatch.errors import BadUpload, BananaBatchError
from bananabatch.ingest.assets import (
    PreparedImage,
    prepare_image,
    store_asset,
)
from bananabatch.ingest.dataset_items import (
    get_dataset,
    upsert_item,
)
from bananabatch.ingest.images import ImageRejected
from bananabatch.ingest.paths import (
    UnsafePath,
    common_root,
    ignored_reason,
    is_ignored_path,
    safe_relative_path,
    strip_root,
)
from bananabatch.ingest.refused import record_refused
from bananabatch.ingest.zipimport import (
    FileError,
    MemberRejected,
    SkippedFile,
    ZipMember,
    read_member,
    scan_zip,
)
from bananabatch.storage.base import Storage

log = logging.getLogger(__name__)

PREPARE_WINDOW = 8  # files decoded at once: bounds the memory a large request holds
PREPARE_THREADS = max(2, os.cpu_count() or 2)

__all__ = [
    "FileError",
    "IngestReport",
    "IngestedFile",
    "ReplacedItem",
    "ingest_files",
    "ingest_zip",
    "store_asset",
]


@dataclass(frozen=True)
class IngestedFile:
    rel_path: str
    asset_id: str
    width: int
    height: int
    mime_type: str
    duplicate: bool
    notes: tuple[str, ...]


@dataclass(frozen=True)
class ReplacedItem:
    """A dataset path that held another image before this upload (now replaced)."""

    rel_path: str
    previous_asset_id: str


@dataclass
class IngestReport:
    """What happened to each file of one upload. `skipped` lists OS clutter ignored on
    purpose, with the reason; `replaced` the dataset paths that held another image."""

    accepted: list[IngestedFile] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    replaced: list[ReplacedItem] = field(default_factory=list)
    label_files: list[str] = field(default_factory=list)  # kept beside the images


def _human_bytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _too_large(rel_path: str, limit: int) -> FileError:
    return FileError(
        rel_path,
        "too_large",
        f"{rel_path}: the file is larger than the {_human_bytes(limit)} limit per file. "
        "Downscale or re-compress it.",
    )


class _Ingestor:
    """Shared per-file step for folder uploads and ZIPs: store, link, commit, report."""

    def __init__(
        self, session: Session, storage: Storage, settings: Settings, dataset_id: str | None
    ) -> None:
        self.session = session
        self.storage = storage
        self.settings = settings
        self.dataset_id = dataset_id
        self.report = IngestReport()

    def is_label_file(self, rel_path: str) -> bool:
        """Label and metadata files are kept with a dataset (never with references)."""
        return self.dataset_id is not None and is_label_file(rel_path)

    def limit_for(self, rel_path: str, image_limit: int) -> int:
        if self.is_label_file(rel_path):
            return min(MAX_LABEL_FILE_BYTES, self.settings.max_upload_bytes)
        return image_limit

    def add_label_file(self, rel_path: str, data: bytes) -> None:
        assert self.dataset_id is not None
        try:
            store_dataset_file(self.session, self.storage, self.dataset_id, rel_path, data)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        self.report.label_files.append(rel_path)

    def finish(self) -> None:
        """An upload changed the dataset: its labels are read again on the next look."""
        if self.dataset_id is None:
            return
        accepted = [f.rel_path for f in self.report.accepted] + list(self.report.label_files)
        record_refused(self.session, self.dataset_id, self.report.errors, accepted)
        if self.report.accepted or self.report.label_files:
            mark_stale(self.session, self.dataset_id)
        self.session.commit()

    def add(self, rel_path: str, data: bytes, prepared: PreparedImage | None = None) -> None:
        if self.is_label_file(rel_path):
            self.add_label_file(rel_path, data)
            return
        try:
            asset, duplicate, notes, previous = self._store_and_link(rel_path, data, prepared)
        except (ImageRejected, MemberRejected) as exc:
            self.session.rollback()
            self.report.errors.append(FileError(rel_path, exc.reason, exc.message))
            return
        except BananaBatchError as exc:
            self.session.rollback()
            self.report.errors.append(FileError(rel_path, exc.code, exc.message))
            return
        except BaseException:
            self.session.rollback()
            raise
        self.report.accepted.append(
            IngestedFile(
                rel_path=rel_path,
                asset_id=asset.id,
                width=asset.width,
                height=asset.height,
                mime_type=asset.mime_type,
                duplicate=duplicate,
                notes=notes,
            )
        )
        if previous is not None:
            self.report.replaced.append(ReplacedItem(rel_path, previous))

    def _store_and_link(
        self, rel_path: str, data: bytes, prepared: PreparedImage | None = None
    ) -> tuple[Asset, bool, tuple[str, ...], str | None]:
        """Store the image and put it at `rel_path`; the last value is the asset id it
        replaced there, if any."""
        asset, duplicate, notes = store_asset(
            self.session,
            self.storage,
            data,
            name=rel_path,
            max_pixels=self.settings.max_image_pixels,
            prepared=prepared,
        )
        previous = None
        if self.dataset_id is not None:
            previous = upsert_item(self.session, self.dataset_id, rel_path, asset.id)
        try:
            self.session.commit()
        except IntegrityError:
            # A concurrent upload created the same dataset path first: replace it.
            self.session.rollback()
            if self.dataset_id is None:
                raise
            previous = upsert_item(self.session, self.dataset_id, rel_path, asset.id)
            self.session.commit()
        return asset, duplicate, notes, previous


def _read_capped(fh: BinaryIO, limit: int) -> bytes | None:
    """At most `limit` bytes of `fh`; None when the file is longer than that.

    A real file (an upload spooled to disk) that is already too large by its size is
    refused without reading it: `limit` bytes in memory only to say "too large"."""
    try:
        if os.fstat(fh.fileno()).st_size > limit:
            return None
    except (OSError, AttributeError):  # a stream without a file behind it: read to know
        pass
    chunks: list[bytes] = []
    remaining = limit + 1
    while remaining > 0:
        chunk = fh.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    if remaining <= 0:
        return None
    return b"".join(chunks)


def ingest_files(
    session: Session,
    storage: Storage,
    settings: Settings,
    dataset_id: str | None,
    files: Iterable[tuple[str, BinaryIO]],
    *,
    strip_common_root: bool = False,
) -> IngestReport:
    """Import (relative path, readable file) pairs, as a browser folder upload sends them.

    With `dataset_id` None the images become standalone assets (semi-auto
    references); otherwise each becomes a dataset item at its path, its class
    being the top-level folder. Per-file problems land in `report.errors`; the
    rest still import. Commits after every file.

    `strip_common_root=True` drops one top folder shared by every path in this
    call (a browser sends `myset/cat/1.jpg` when the user picks `myset`). Only
    use it when all of a dataset's files arrive in one call: split over several
    calls, a call holding only `cat/...` files would lose its class folder.
    """
    if dataset_id is not None:
        get_dataset(session, dataset_id)
    ingestor = _Ingestor(session, storage, settings, dataset_id)
    limit = min(settings.max_image_bytes, settings.max_upload_bytes)

    pairs: Iterable[tuple[str, BinaryIO]] = files
    root: str | None = None
    if strip_common_root:
        pairs = list(files)
        safe: list[str] = []
        for raw, _ in pairs:
            try:
                rel = safe_relative_path(raw)
            except UnsafePath:
                continue
            if not is_ignored_path(rel):
                safe.append(rel)
        root = common_root(safe)

    window: list[tuple[str, bytes]] = []
    for raw, fh in pairs:
        try:
            rel = safe_relative_path(raw)
        except UnsafePath as exc:
            ingestor.report.errors.append(FileError(raw, exc.code, exc.message))
            continue
        reason = ignored_reason(rel)
        if reason is not None:
            ingestor.report.skipped.append(SkippedFile(rel, reason))
            continue
        rel = strip_root(rel, root)
        file_limit = ingestor.limit_for(rel, limit)
        data = _read_capped(fh, file_limit)
        if data is None:
            ingestor.report.errors.append(_too_large(rel, file_limit))
            continue
        window.append((rel, data))
        if len(window) >= PREPARE_WINDOW:
            _add_window(ingestor, window)
    _add_window(ingestor, window)
    ingestor.finish()
    _log_report("upload", ingestor.report)
    return ingestor.report


def _add_window(ingestor: _Ingestor, window: list[tuple[str, bytes]]) -> None:
    """Decode, check and thumbnail the window's images on every core, then store and
    link them in order on this thread (the session is not shared). Empties `window`."""
    images = [(rel, data) for rel, data in window if not ingestor.is_label_file(rel)]
    max_pixels = ingestor.settings.max_image_pixels
    with ThreadPoolExecutor(max_workers=PREPARE_THREADS) as pool:
        prepared = dict(
            zip(
                [rel for rel, _ in images],
                pool.map(
                    lambda item: prepare_image(item[1], name=item[0], max_pixels=max_pixels),
                    images,
                ),
                strict=True,
            )
        )
    for rel, data in window:
        ingestor.add(rel, data, prepared.get(rel))
    window.clear()


def ingest_zip(
    session: Session, storage: Storage, settings: Settings, dataset_id: str, zip_path: Path
) -> IngestReport:
    """Import a dataset ZIP already on disk (the API streams the upload to a temp file).

    Raises `ArchiveRejected` (a `BadUpload`) when the archive as a whole is
    refused; per-entry problems land in `report.errors`.
    """
    get_dataset(session, dataset_id)
    scan = scan_zip(
        zip_path,
        max_entries=settings.max_zip_entries,
        max_total_bytes=settings.max_zip_uncompressed_bytes,
        max_ratio=settings.max_zip_ratio,
    )
    if not scan.members and not scan.errors:
        raise BadUpload(
            f"{zip_path.name} contains no files (only folders or system files). "
            "Put the images in the ZIP and upload it again."
        )
    ingestor = _Ingestor(session, storage, settings, dataset_id)
    ingestor.report.errors.extend(scan.errors)
    ingestor.report.skipped.extend(scan.skipped)
    with zipfile.ZipFile(zip_path) as zf:
        for member in scan.members:
            limit = ingestor.limit_for(member.rel_path, settings.max_image_bytes)
            data = _read_zip_member(ingestor, zf, member, limit)
            if data is not None:
                ingestor.add(member.rel_path, data)
    ingestor.finish()
    _log_report(zip_path.name, ingestor.report)
    return ingestor.report


def _read_zip_member(
    ingestor: _Ingestor, zf: zipfile.ZipFile, member: ZipMember, limit: int
) -> bytes | None:
    try:
        return read_member(zf, member, max_bytes=limit)
    except MemberRejected as exc:
        ingestor.report.errors.append(FileError(member.rel_path, exc.reason, exc.message))
        return None


def _log_report(what: str, report: IngestReport) -> None:
    log.info(
        "ingest %s: %d accepted (%d duplicates), %d label files, %d errors, %d skipped",
        what,
        len(report.accepted),
        sum(1 for f in report.accepted if f.duplicate),
        len(report.label_files),
        len(report.errors),
        len(report.skipped),
    )
