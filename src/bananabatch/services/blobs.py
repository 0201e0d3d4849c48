"""Freeing stored files nobody uses any more.

Assets (and label files) are content-addressed by sha256 and shared: the same image
uploaded into two datasets, or used as a job's source or reference, is one blob. When
a dataset or a job goes, only the blobs no remaining row refers to are removed. Rows
go first, blobs after: a crash in between leaves an orphan blob, never a row that
points at nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bananabatch.contracts import Mode
from bananabatch.db.models import Asset, DatasetFile, DatasetItem, Job, Output, Task
from bananabatch.storage.base import Storage, Usage

log = logging.getLogger(__name__)

CHUNK = 500  # ids per IN (...): well under SQLite's bound-parameter limit


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for value in ids:
        batch.append(value)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def referenced_assets(
    session: Session, candidates: set[str], *, except_dataset: str | None = None
) -> set[str]:
    """Which of `candidates` a dataset item (outside `except_dataset`), a task, an
    output or a job's references still use."""
    used: set[str] = set()
    for chunk in _chunks(sorted(candidates)):
        items = select(DatasetItem.asset_id).where(DatasetItem.asset_id.in_(chunk))
        if except_dataset is not None:
            items = items.where(DatasetItem.dataset_id != except_dataset)
        used.update(str(v) for v in session.scalars(items.distinct()))
        for column in (Task.source_asset_id, Output.source_asset_id):
            used.update(
                str(v) for v in session.scalars(select(column).where(column.in_(chunk)).distinct())
            )
    for refs in session.scalars(select(Job.reference_asset_ids).where(Job.mode == Mode.semi_auto)):
        used.update(str(r) for r in refs or [] if r in candidates)
    return used


def referenced_file_keys(session: Session, candidates: set[str]) -> set[str]:
    used: set[str] = set()
    for chunk in _chunks(sorted(candidates)):
        used.update(
            session.scalars(
                select(DatasetFile.storage_key).where(DatasetFile.storage_key.in_(chunk))
            )
        )
    return used


def asset_bytes(session: Session, asset_ids: set[str]) -> int:
    """Stored bytes of these assets (the images; thumbnails come on top)."""
    total = 0
    for chunk in _chunks(sorted(asset_ids)):
        total += sum(session.scalars(select(Asset.size_bytes).where(Asset.id.in_(chunk))))
    return total


def free_unreferenced(
    session: Session, storage: Storage, asset_ids: set[str], file_keys: Iterable[str] = ()
) -> Usage:
    """Delete the assets and label-file blobs among these that nothing refers to any
    more (rows first, committed, then the blobs); returns what the store freed."""
    unused_assets = asset_ids - referenced_assets(session, asset_ids)
    unused_files = set(file_keys) - referenced_file_keys(session, set(file_keys))
    keys: list[str] = sorted(unused_files)
    for chunk in _chunks(sorted(unused_assets)):
        for key, thumb in session.execute(
            select(Asset.storage_key, Asset.thumb_key).where(Asset.id.in_(chunk))
        ):
            keys.append(key)
            if thumb:
                keys.append(thumb)
        session.execute(delete(Asset).where(Asset.id.in_(chunk)))
    session.commit()
    freed = storage.delete_many(keys) if keys else Usage()
    log.info(
        "freed %d asset(s) and %d label file(s): %d objects, %d bytes",
        len(unused_assets),
        len(unused_files),
        freed.files,
        freed.bytes,
    )
    return freed
