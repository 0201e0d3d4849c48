"""Creating a dataset and the summary of one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bananabatch.api.schemas.request_body import RequestBody
from bananabatch.datasets.schemas import DatasetLabelsOut
from bananabatch.ingest.dataset_items import DatasetSummary
from bananabatch.services.queries import UtcDateTime


class DatasetCreate(RequestBody):
    name: str = Field(default="", max_length=255)


class FolderOut(BaseModel):
    folder: str = Field(description='Top-level folder (class); "" for files at the root.')
    count: int


class DatasetSummaryOut(BaseModel):
    id: str
    name: str
    item_count: int
    folders: list[FolderOut]
    created_at: UtcDateTime
    labels: DatasetLabelsOut | None = Field(
        default=None,
        description="What was found: format, classes, splits, images without labels and "
        "per-file problems (null for an empty dataset).",
    )

    @classmethod
    def from_summary(
        cls, s: DatasetSummary, labels: dict[str, Any] | None = None
    ) -> DatasetSummaryOut:
        return cls(
            id=s.id,
            name=s.name,
            item_count=s.item_count,
            folders=[FolderOut(folder=f.folder, count=f.count) for f in s.folders],
            created_at=s.created_at,
            labels=DatasetLabelsOut.from_summary(labels) if labels and s.item_count else None,
        )
