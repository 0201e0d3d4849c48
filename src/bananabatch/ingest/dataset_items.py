"""The dataset rows ingest writes into, and what a dataset sums to.

A dataset item is a path in the dataset pointing at a content-addressed asset; the
same path uploaded again points it at the new image, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bananabatch.db.models import Dataset, DatasetItem
from bananabatch.errors import NotFound, ValidationFailed
from bananabatch.ingest.paths import top_folder

MAX_DATASET_NAME = 255


@dataclass(frozen=True)
class FolderSummary:
    folder: str
    count: int


@dataclass(frozen=True)
class DatasetSummary:
    id: str
    name: str
    item_count: int
    folders: list[FolderSummary]
    created_at: datetime


def get_dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} does not exist")
    return dataset


def upsert_item(session: Session, dataset_id: str, rel_path: str, asset_id: str) -> str | None:
    """Put `asset_id` at `rel_path`; the same path uploaded again replaces the old image.
    Returns the replaced asset id (None for a new path or the same image), so the
    report can say so: a replacement must never be silent."""
    stmt = select(DatasetItem).where(
        DatasetItem.dataset_id == dataset_id, DatasetItem.rel_path == rel_path
    )
    item = session.scalars(stmt).one_or_none()
    if item is None:
        session.add(
            DatasetItem(
                dataset_id=dataset_id,
                asset_id=asset_id,
                rel_path=rel_path,
                folder=top_folder(rel_path),
            )
        )
        return None
    previous = item.asset_id
    item.asset_id = asset_id
    return previous if previous != asset_id else None


def create_dataset(session: Session, name: str) -> Dataset:
    """A new empty dataset (committed). Names are trimmed; at most 255 characters."""
    dataset = Dataset(name=check_dataset_name(name))
    session.add(dataset)
    session.commit()
    return dataset


def check_dataset_name(name: str) -> str:
    """The name trimmed, or a ValidationFailed saying what is wrong with it."""
    clean = name.strip()
    if "\x00" in clean:
        raise ValidationFailed(
            "The dataset name contains a NUL character; use plain text.", details={"field": "name"}
        )
    if len(clean) > MAX_DATASET_NAME:
        raise ValidationFailed(
            f"The dataset name is {len(clean)} characters long; the limit is {MAX_DATASET_NAME}.",
            details={"field": "name"},
        )
    return clean


def dataset_summary(session: Session, dataset_id: str) -> DatasetSummary:
    """Item count and per-folder (class) counts; the flat part of a dataset is folder ""."""
    dataset = get_dataset(session, dataset_id)
    rows = session.execute(
        select(DatasetItem.folder, func.count())
        .where(DatasetItem.dataset_id == dataset_id)
        .group_by(DatasetItem.folder)
    ).all()
    # Sorted in Python: code-point order everywhere, whatever the DB collation.
    folders = sorted((FolderSummary(folder=f, count=int(c)) for f, c in rows), key=_by_folder)
    return DatasetSummary(
        id=dataset.id,
        name=dataset.name,
        item_count=sum(f.count for f in folders),
        folders=folders,
        created_at=dataset.created_at,
    )


def dataset_sources(session: Session, dataset_id: str) -> list[tuple[str, str]]:
    """(rel_path, asset_id) of every item, sorted by path: the planner's input."""
    get_dataset(session, dataset_id)
    rows = session.execute(
        select(DatasetItem.rel_path, DatasetItem.asset_id).where(
            DatasetItem.dataset_id == dataset_id
        )
    ).all()
    return sorted((r, a) for r, a in rows)


def _by_folder(f: FolderSummary) -> str:
    return f.folder
