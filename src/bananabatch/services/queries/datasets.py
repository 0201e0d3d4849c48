"""Dataset views: the library (each dataset with its classes, format, size and the
jobs made from it), a dataset's items, what deleting one would free, and finding a
dataset by a unique id prefix (the CLI takes one in place of a path)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bananabatch.db.models import (
    Asset,
    Dataset,
    DatasetFile,
    DatasetItem,
    Job,
)
from bananabatch.errors import Conflict, NotFound
from bananabatch.services.blobs import asset_bytes, referenced_assets
from bananabatch.services.queries.paging import (
    asset_image_url,
    asset_thumbnail_url,
    check_limit,
    check_offset,
    decode_cursor,
    encode_cursor,
)
from bananabatch.services.queries.views_datasets import (
    DatasetItemOut,
    DatasetItemPage,
    DatasetJobRef,
    DatasetList,
    DatasetOut,
    DatasetUsage,
)

MIN_PREFIX = 4


def list_datasets(session: Session, *, limit: int = 100, offset: int = 0) -> DatasetList:
    """Newest first; counts, sizes, classes and jobs from one GROUP BY each for the page."""
    check_limit(limit)
    check_offset(offset)
    datasets = session.scalars(
        select(Dataset).order_by(Dataset.created_at.desc(), Dataset.id).limit(limit).offset(offset)
    ).all()
    return DatasetList(items=_library(session, [d.id for d in datasets]))


def _library(session: Session, ids: list[str]) -> list[DatasetOut]:
    """The library entries of these datasets, in this order."""
    if not ids:
        return []
    by_id = {d.id: d for d in session.scalars(select(Dataset).where(Dataset.id.in_(ids)))}
    datasets = [by_id[i] for i in ids if i in by_id]
    counts = _grouped(
        session,
        select(DatasetItem.dataset_id, func.count())
        .where(DatasetItem.dataset_id.in_(ids))
        .group_by(DatasetItem.dataset_id),
    )
    distinct_assets = (
        select(DatasetItem.dataset_id, DatasetItem.asset_id)
        .where(DatasetItem.dataset_id.in_(ids))
        .distinct()
        .subquery()
    )
    image_bytes = _grouped(
        session,
        select(distinct_assets.c.dataset_id, func.sum(Asset.size_bytes))
        .join(Asset, Asset.id == distinct_assets.c.asset_id)
        .group_by(distinct_assets.c.dataset_id),
    )
    file_bytes = _grouped(
        session,
        select(DatasetFile.dataset_id, func.sum(DatasetFile.size_bytes))
        .where(DatasetFile.dataset_id.in_(ids))
        .group_by(DatasetFile.dataset_id),
    )
    jobs = _grouped(
        session,
        select(Job.dataset_id, func.count())
        .where(Job.dataset_id.in_(ids))
        .group_by(Job.dataset_id),
    )
    folders: dict[str, list[str]] = {}
    for dataset_id, folder in session.execute(
        select(DatasetItem.dataset_id, DatasetItem.folder)
        .where(DatasetItem.dataset_id.in_(ids), DatasetItem.folder != "")
        .distinct()
    ):
        folders.setdefault(str(dataset_id), []).append(str(folder))
    return [
        DatasetOut(
            id=d.id,
            name=d.name,
            item_count=counts.get(d.id, 0),
            created_at=d.created_at,
            classes=_classes(d.label_summary, sorted(folders.get(d.id, []))),
            label_format=_format(d.label_summary),
            size_bytes=image_bytes.get(d.id, 0) + file_bytes.get(d.id, 0),
            job_count=jobs.get(d.id, 0),
        )
        for d in datasets
    ]


def dataset_out(session: Session, dataset_id: str) -> DatasetOut:
    """One dataset as the library lists it."""
    found = next((d for d in _library(session, [dataset_id]) if d.id == dataset_id), None)
    if found is None:
        raise NotFound(f"Dataset {dataset_id} does not exist.", details={"dataset_id": dataset_id})
    return found


def _grouped(session: Session, query: Any) -> dict[str, int]:
    return {str(k): int(v or 0) for k, v in session.execute(query)}


def _format(summary: dict[str, Any] | None) -> str | None:
    return str(summary["format"]) if summary and summary.get("format") else None


def _classes(summary: dict[str, Any] | None, folders: list[str]) -> list[str]:
    named = [str(c.get("name", "")) for c in (summary or {}).get("classes", [])]
    return [n for n in named if n] or folders


def dataset_usage(session: Session, dataset_id: str) -> DatasetUsage:
    """Shown before a delete: the jobs that stop it, and the bytes it would free."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"Dataset {dataset_id} does not exist.", details={"dataset_id": dataset_id})
    assets = set(
        session.scalars(select(DatasetItem.asset_id).where(DatasetItem.dataset_id == dataset_id))
    )
    items = session.scalar(select(func.count()).where(DatasetItem.dataset_id == dataset_id)) or 0
    files = session.execute(
        select(DatasetFile.storage_key, DatasetFile.size_bytes).where(
            DatasetFile.dataset_id == dataset_id
        )
    ).all()
    other_files = set(
        session.scalars(
            select(DatasetFile.storage_key).where(
                DatasetFile.dataset_id != dataset_id,
                DatasetFile.storage_key.in_([k for k, _ in files]),
            )
        )
    )
    elsewhere = referenced_assets(session, assets, except_dataset=dataset_id)
    if session.scalar(select(func.count()).where(Job.dataset_id == dataset_id)):
        elsewhere = assets  # its jobs must go first; then their tasks no longer count
    jobs = session.execute(
        select(Job.id, Job.name, Job.status, Job.created_at)
        .where(Job.dataset_id == dataset_id)
        .order_by(Job.created_at.desc())
    ).all()
    file_total = sum(int(n) for _, n in files)
    return DatasetUsage(
        id=dataset.id,
        name=dataset.name,
        item_count=int(items),
        size_bytes=asset_bytes(session, assets) + file_total,
        freed_bytes_if_deleted=asset_bytes(session, assets - elsewhere)
        + sum(int(n) for k, n in files if k not in other_files),
        jobs=[DatasetJobRef(id=i, name=n, status=st, created_at=c) for i, n, st, c in jobs],
    )


def resolve_dataset_id(session: Session, ref: str) -> str:
    """An id, or a unique prefix of one (at least 4 characters)."""
    ref = ref.strip()
    if session.get(Dataset, ref) is not None:
        return ref
    if len(ref) >= MIN_PREFIX and ref.isalnum():
        found = session.scalars(
            select(Dataset.id).where(Dataset.id.startswith(ref, autoescape=True)).limit(6)
        ).all()
        if len(found) == 1:
            return str(found[0])
        if found:
            raise Conflict(
                f"{ref!r} matches {len(found)} datasets ({', '.join(found[:5])}); "
                "type more of the id.",
                details={"matches": list(found)},
            )
    raise NotFound(
        f"No dataset has the id {ref!r}: `bananabatch datasets list` shows them.",
        details={"dataset_id": ref},
    )


def list_dataset_items(
    session: Session,
    dataset_id: str,
    *,
    cursor: str | None = None,
    limit: int = 200,
    folder: str | None = None,
) -> DatasetItemPage:
    """Items ordered by relative path, keyset-paginated; one joined query per page."""
    check_limit(limit)
    if session.get(Dataset, dataset_id) is None:
        raise NotFound(f"Dataset {dataset_id} does not exist.", details={"dataset_id": dataset_id})
    query = (
        select(DatasetItem, Asset)
        .join(Asset, Asset.id == DatasetItem.asset_id)
        .where(DatasetItem.dataset_id == dataset_id)
    )
    if folder is not None:
        query = query.where(DatasetItem.folder == folder)
    if cursor:
        (last_path,) = decode_cursor(cursor, 1)
        query = query.where(DatasetItem.rel_path > last_path)
    rows = session.execute(query.order_by(DatasetItem.rel_path).limit(limit + 1)).all()
    items = [
        DatasetItemOut(
            id=item.id,
            asset_id=asset.id,
            rel_path=item.rel_path,
            folder=item.folder,
            width=asset.width,
            height=asset.height,
            size_bytes=asset.size_bytes,
            mime_type=asset.mime_type,
            image_url=asset_image_url(asset.id),
            thumbnail_url=asset_thumbnail_url(asset.id),
        )
        for item, asset in rows[:limit]
    ]
    next_cursor = encode_cursor(rows[limit - 1][0].rel_path) if len(rows) > limit else None
    return DatasetItemPage(items=items, next_cursor=next_cursor)
