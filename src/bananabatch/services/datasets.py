"""The dataset library's write side: rename, delete (freeing the blobs nobody else
uses), and the end of an upload, where an upload that kept no image is removed and
one identical to a dataset already stored gives way to it instead of a copy."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bananabatch.datasets.service import label_summary
from bananabatch.db.models import Dataset, DatasetFile, DatasetItem, Job
from bananabatch.errors import Conflict, NotFound, ValidationFailed
from bananabatch.ingest.dataset_items import MAX_DATASET_NAME, check_dataset_name
from bananabatch.services.blobs import free_unreferenced
from bananabatch.storage.base import Storage

log = logging.getLogger(__name__)

MAX_JOBS_NAMED = 5


class DatasetRename(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=MAX_DATASET_NAME)


class DatasetDeleted(BaseModel):
    """What deleting a dataset removed: its images, and the stored files only it used."""

    id: str
    name: str
    images: int
    freed_files: int
    freed_bytes: int


class UploadFinished(BaseModel):
    """How an upload ended. `kept`: the dataset stays as uploaded. `reused`: it held
    exactly the images (same paths, same bytes) and label files of the dataset `id`
    names, so that one is used and the copy removed. `removed`: no image could be used,
    so no empty dataset is left behind."""

    outcome: Literal["kept", "reused", "removed"]
    id: str | None = Field(description="The dataset to use; None when it was removed.")
    uploaded_id: str
    name: str | None
    message: str


def _get(session: Session, dataset_id: str) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"Dataset {dataset_id} does not exist.", details={"dataset_id": dataset_id})
    return dataset


def rename_dataset(session: Session, dataset_id: str, name: str) -> Dataset:
    dataset = _get(session, dataset_id)
    clean = check_dataset_name(name)
    if not clean:
        raise ValidationFailed("The new name is empty; type a name.", details={"field": "name"})
    dataset.name = clean
    session.commit()
    return dataset


def jobs_using(session: Session, dataset_id: str) -> list[tuple[str, str]]:
    """(id, name) of the jobs made from this dataset, newest first."""
    rows = session.execute(
        select(Job.id, Job.name).where(Job.dataset_id == dataset_id).order_by(Job.created_at.desc())
    ).all()
    return [(str(i), str(n)) for i, n in rows]


def delete_dataset(session: Session, storage: Storage, dataset_id: str) -> DatasetDeleted:
    """Refused (409) while jobs use it: their exports and retries read its images."""
    dataset = _get(session, dataset_id)
    users = jobs_using(session, dataset_id)
    if users:
        named = ", ".join(
            f"{name or 'unnamed'} ({jid[:8]})" for jid, name in users[:MAX_JOBS_NAMED]
        )
        more = f" and {len(users) - MAX_JOBS_NAMED} more" if len(users) > MAX_JOBS_NAMED else ""
        raise Conflict(
            f"Dataset {dataset.name or dataset_id} is used by {len(users)} job(s): {named}{more}. "
            "Delete those jobs first (their exports and retries need its images).",
            details={"jobs": [jid for jid, _ in users]},
        )
    return _remove(session, storage, dataset)


def _remove(session: Session, storage: Storage, dataset: Dataset) -> DatasetDeleted:
    dataset_id, name = dataset.id, dataset.name
    assets = set(
        session.scalars(select(DatasetItem.asset_id).where(DatasetItem.dataset_id == dataset_id))
    )
    files = set(
        session.scalars(select(DatasetFile.storage_key).where(DatasetFile.dataset_id == dataset_id))
    )
    session.execute(delete(DatasetItem).where(DatasetItem.dataset_id == dataset_id))
    session.execute(delete(DatasetFile).where(DatasetFile.dataset_id == dataset_id))
    session.execute(delete(Dataset).where(Dataset.id == dataset_id))
    session.commit()
    freed = free_unreferenced(session, storage, assets, files)
    log.info("deleted dataset %s (%d images): freed %d bytes", dataset_id, len(assets), freed.bytes)
    return DatasetDeleted(
        id=dataset_id,
        name=name,
        images=len(assets),
        freed_files=freed.files,
        freed_bytes=freed.bytes,
    )


def _content(
    session: Session, dataset_id: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    items = session.execute(
        select(DatasetItem.rel_path, DatasetItem.asset_id)
        .where(DatasetItem.dataset_id == dataset_id)
        .order_by(DatasetItem.rel_path)
    ).all()
    files = session.execute(
        select(DatasetFile.rel_path, DatasetFile.sha256)
        .where(DatasetFile.dataset_id == dataset_id)
        .order_by(DatasetFile.rel_path)
    ).all()
    return [(str(r), str(a)) for r, a in items], [(str(r), str(s)) for r, s in files]


def identical_dataset(session: Session, dataset_id: str) -> Dataset | None:
    """The oldest other dataset holding exactly this one's images at the same paths and
    the same label files. Only datasets with as many items are compared, item by item."""
    mine = _content(session, dataset_id)
    count = len(mine[0])
    counts = (
        select(DatasetItem.dataset_id, func.count().label("n"))
        .group_by(DatasetItem.dataset_id)
        .subquery()
    )
    candidates = session.scalars(
        select(Dataset)
        .join(counts, counts.c.dataset_id == Dataset.id)
        .where(counts.c.n == count, Dataset.id != dataset_id)
        .order_by(Dataset.created_at, Dataset.id)
    ).all()
    for candidate in candidates:
        if _content(session, candidate.id) == mine:
            return candidate
    return None


def finish_upload(session: Session, storage: Storage, dataset_id: str) -> UploadFinished:
    """Called once every file of an upload was sent (the web form and the CLI do)."""
    dataset = _get(session, dataset_id)
    images = session.scalar(select(func.count()).where(DatasetItem.dataset_id == dataset_id))
    if jobs_using(session, dataset_id):  # a job already runs on it: it stays as it is
        return UploadFinished(
            outcome="kept",
            id=dataset_id,
            uploaded_id=dataset_id,
            name=dataset.name,
            message=f"Dataset {dataset.name!r}: {images} image(s) stored.",
        )
    if not images:
        name = dataset.name
        _remove(session, storage, dataset)
        return UploadFinished(
            outcome="removed",
            id=None,
            uploaded_id=dataset_id,
            name=None,
            message=f"No image of the upload could be used, so dataset {name!r} was not kept. "
            "Choose a folder of images (JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC, AVIF).",
        )
    same = identical_dataset(session, dataset_id)
    if same is not None:
        _remove(session, storage, dataset)
        return UploadFinished(
            outcome="reused",
            id=same.id,
            uploaded_id=dataset_id,
            name=same.name,
            message=f"These {images} image(s) are already stored as dataset {same.name!r} "
            "(same files at the same paths): using it instead of a copy.",
        )
    label_summary(session, storage, dataset_id)  # analysed now: the library shows its format
    return UploadFinished(
        outcome="kept",
        id=dataset_id,
        uploaded_id=dataset_id,
        name=dataset.name,
        message=f"Dataset {dataset.name!r}: {images} image(s) stored.",
    )
