"""The read models of the dataset library: datasets, their items, and what deleting one
would do."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bananabatch.db.models import JobStatus
from bananabatch.services.queries.views import (
    UtcDateTime,
)


class DatasetOut(BaseModel):
    """One dataset of the library."""

    id: str
    name: str
    item_count: int
    created_at: UtcDateTime
    classes: list[str] = Field(description="Class names (label classes, else top-level folders).")
    label_format: str | None = Field(
        description='"folders", "images" (flat), "yolo", "coco", "voc"...; null until first analysed.',
    )
    size_bytes: int = Field(description="Stored bytes of its images and label files.")
    job_count: int = Field(description="Jobs made from it (it cannot be deleted then).")


class DatasetJobRef(BaseModel):
    id: str
    name: str
    status: JobStatus
    created_at: UtcDateTime


class DatasetUsage(BaseModel):
    """What deleting the dataset would do: the jobs in the way, and the space it frees
    (images no other dataset or job uses; thumbnails come on top)."""

    id: str
    name: str
    item_count: int
    size_bytes: int
    freed_bytes_if_deleted: int
    jobs: list[DatasetJobRef]


class DatasetList(BaseModel):
    items: list[DatasetOut]


class DatasetItemOut(BaseModel):
    id: int
    asset_id: str
    rel_path: str
    folder: str
    width: int
    height: int
    size_bytes: int
    mime_type: str
    image_url: str
    thumbnail_url: str


class DatasetItemPage(BaseModel):
    items: list[DatasetItemOut]
    next_cursor: str | None
