"""Labelled datasets in the database: label files kept byte for byte, and the
analysis (`datasets.analyse`) run lazily and cached.

Uploads arrive in many requests (a browser sends a folder in chunks), so an
upload only marks the dataset stale; the next read analyses the whole dataset
once and stores the split, labels and problem flag of every item plus the
summary the user sees before a job starts.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bananabatch.contracts import LabelBox, SourceLabels
from bananabatch.datasets.analyse import analyse
from bananabatch.datasets.model import (
    GEOMETRIC_FORMATS,
    Analysis,
    ImageSize,
    LabelFormat,
    default_splits,
    objects_from_json,
    objects_to_json,
)
from bananabatch.db.models import Asset, Dataset, DatasetFile, DatasetItem, Job
from bananabatch.errors import NotFound, ValidationFailed
from bananabatch.storage.base import Storage
from bananabatch.storage.keys import dataset_file_key

log = logging.getLogger(__name__)

MAX_LABEL_FILE_BYTES = 256 * 1024 * 1024
"""Largest label file kept (a COCO JSON of a big dataset is hundreds of MB)."""


def store_dataset_file(
    session: Session, storage: Storage, dataset_id: str, rel_path: str, data: bytes
) -> None:
    """Keep one label/metadata file at `rel_path` (replacing an earlier upload of that
    path) and mark the dataset for a new analysis. Does not commit."""
    sha = hashlib.sha256(data).hexdigest()
    ext = posixpath.splitext(rel_path)[1].lower()
    key = dataset_file_key(sha, ext)
    if not storage.exists(key):
        storage.put_bytes(key, data)
    row = session.scalars(
        select(DatasetFile).where(
            DatasetFile.dataset_id == dataset_id, DatasetFile.rel_path == rel_path
        )
    ).one_or_none()
    if row is None:
        session.add(
            DatasetFile(
                dataset_id=dataset_id,
                rel_path=rel_path,
                sha256=sha,
                size_bytes=len(data),
                storage_key=key,
            )
        )
    else:
        row.sha256, row.size_bytes, row.storage_key = sha, len(data), key
    mark_stale(session, dataset_id)


def mark_stale(session: Session, dataset_id: str) -> None:
    session.execute(update(Dataset).where(Dataset.id == dataset_id).values(labels_stale=True))


def dataset_files(session: Session, dataset_id: str) -> dict[str, DatasetFile]:
    rows = session.scalars(select(DatasetFile).where(DatasetFile.dataset_id == dataset_id))
    return {r.rel_path: r for r in rows}


def run_analysis(session: Session, storage: Storage, dataset_id: str) -> Analysis:
    """Analyse the dataset as stored now (no DB writes)."""
    rows = session.execute(
        select(DatasetItem.rel_path, Asset.width, Asset.height)
        .join(Asset, Asset.id == DatasetItem.asset_id)
        .where(DatasetItem.dataset_id == dataset_id)
        .order_by(DatasetItem.rel_path)
    ).all()
    images = [ImageSize(r, w, h) for r, w, h in rows]
    files = dataset_files(session, dataset_id)
    cache: dict[str, bytes] = {}

    def read(rel_path: str) -> bytes:
        if rel_path not in cache:
            cache[rel_path] = storage.get_bytes(files[rel_path].storage_key)
        return cache[rel_path]

    return analyse(images, sorted(files), read)


def label_summary(session: Session, storage: Storage, dataset_id: str) -> dict[str, Any]:
    """The dataset's analysis summary, analysing it first when uploads changed it.
    Commits when it analyses."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"Dataset {dataset_id} does not exist.", details={"dataset_id": dataset_id})
    if not dataset.labels_stale and dataset.label_summary is not None:
        return dataset.label_summary
    # Cleared before reading: an upload landing meanwhile sets it again, so the next
    # read analyses once more instead of keeping a summary that misses it.
    dataset.labels_stale = False
    session.commit()
    analysis = run_analysis(session, storage, dataset_id)
    _store(session, dataset_id, analysis)
    summary = analysis.summary()
    summary["default_splits"] = default_splits(analysis.split_names())
    dataset = session.get_one(Dataset, dataset_id)
    dataset.label_summary = summary
    session.commit()
    log.info(
        "dataset %s: %s, %d images, %d classes, %d problems",
        dataset_id,
        analysis.format.value,
        len(analysis.items),
        len(analysis.classes),
        len(analysis.problems),
    )
    return summary


def _store(session: Session, dataset_id: str, analysis: Analysis) -> None:
    """Write each item's split, labels and problem flag, touching only the rows that
    change (a plain folder of 25,000 images changes none: no ORM object is loaded)."""
    rows = session.execute(
        select(
            DatasetItem.id,
            DatasetItem.rel_path,
            DatasetItem.split,
            DatasetItem.labels,
            DatasetItem.label_problem,
        ).where(DatasetItem.dataset_id == dataset_id)
    )
    changes: list[dict[str, Any]] = []
    for item_id, rel_path, split, labels, problem in rows:
        found = analysis.items.get(rel_path)
        if found is None:
            continue
        new = objects_to_json(found.objects) if found.objects is not None else None
        if (split, labels, bool(problem)) != (found.split, new, found.problem):
            changes.append(
                {"id": item_id, "split": found.split, "labels": new, "label_problem": found.problem}
            )
    if changes:
        session.execute(update(DatasetItem), changes)


def label_format(summary: dict[str, Any] | None) -> LabelFormat:
    return LabelFormat((summary or {}).get("format", LabelFormat.images.value))


def is_geometric(summary: dict[str, Any] | None) -> bool:
    return label_format(summary) in GEOMETRIC_FORMATS


def choose_splits(summary: dict[str, Any], requested: list[str] | None) -> list[str] | None:
    """The splits a job augments; None when the dataset has no splits at all."""
    names = [s["name"] for s in summary.get("splits", []) if s["name"]]
    if not names:
        return None
    if requested is None:
        return list(summary.get("default_splits") or names)
    unknown = sorted(set(requested) - set(names))
    if unknown:
        raise ValidationFailed(
            f"The dataset has no split named {', '.join(map(repr, unknown))}; "
            f"its splits are {', '.join(map(repr, names))}.",
            details={"splits": names},
        )
    if not requested:
        raise ValidationFailed("Choose at least one split to augment.")
    return list(requested)


def source_splits(session: Session, dataset_id: str) -> dict[str, tuple[str | None, bool]]:
    """rel_path -> (split, label problem) of every item, as the last analysis stored."""
    rows = session.execute(
        select(DatasetItem.rel_path, DatasetItem.split, DatasetItem.label_problem).where(
            DatasetItem.dataset_id == dataset_id
        )
    ).all()
    return {r: (s, bool(p)) for r, s, p in rows}


def task_labels(session: Session, job: Job, source_path: str | None) -> SourceLabels | None:
    """The labels a task's source carries to the worker (geometric formats only), in
    the pixels of the stored source image. Called by the orchestrator per task."""
    if job.dataset_id is None or source_path is None:
        return None
    if not (job.spec or {}).get("labelled"):
        return None
    row = session.execute(
        select(DatasetItem.labels, Asset.width, Asset.height)
        .join(Asset, Asset.id == DatasetItem.asset_id)
        .where(DatasetItem.dataset_id == job.dataset_id, DatasetItem.rel_path == source_path)
    ).first()
    if row is None or row[0] is None:
        return None
    labels, width, height = row
    return SourceLabels(
        width=width,
        height=height,
        objects=[
            LabelBox(class_id=o.class_id, bbox=o.bbox, polygons=[list(p) for p in o.polygons])
            for o in objects_from_json(labels)
        ],
    )
