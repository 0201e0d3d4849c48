"""Dataset views: the dataset list and a dataset's items."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bananabatch.db.models import (
    Asset,
    Dataset,
    DatasetItem,
)
from bananabatch.errors import NotFound
from bananabatch.services.queries.paging import (
    asset_image_url,
    asset_thumbnail_url,
    check_limit,
    check_offset,
    decode_cursor,
    encode_cursor,
)
from bananabatch.services.queries.views import (
    DatasetItemOut,
    DatasetItemPage,
    DatasetList,
    DatasetOut,
)


def list_datasets(session: Session, *, limit: int = 100, offset: int = 0) -> DatasetList:
    """Newest first, with item counts from one GROUP BY."""
    check_limit(limit)
    check_offset(offset)
    counts = (
        select(DatasetItem.dataset_id, func.count().label("n"))
        .group_by(DatasetItem.dataset_id)
        .subquery()
    )
    rows = session.execute(
        select(Dataset, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.dataset_id == Dataset.id)
        .order_by(Dataset.created_at.desc(), Dataset.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return DatasetList(
        items=[
            DatasetOut(id=d.id, name=d.name, item_count=int(n), created_at=d.created_at)
            for d, n in rows
        ]
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
