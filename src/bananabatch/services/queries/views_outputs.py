"""The read models of outputs: one output as the gallery shows it, and a page of them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bananabatch.db.models import OutputStatus, ReviewState
from bananabatch.quality.flags import Flag
from bananabatch.services.queries.views import (
    UtcDateTime,
)


class OutputFlagOut(BaseModel):
    flag: Flag
    label: str = Field(description="The flag in words, for a badge.")
    detail: str = Field(description="Why, with the measurement.")


class LabelBoxOut(BaseModel):
    class_id: int
    bbox: list[float] = Field(min_length=4, max_length=4, description="x1, y1, x2, y2 in pixels.")


class OutputOut(BaseModel):
    id: str
    job_id: str
    batch_id: str
    task_id: str
    position: int
    run_index: int
    variation: int
    source_path: str | None
    source_asset_id: str | None
    archive_path: str
    prompt: str
    model: str
    seed: int
    attempt: int
    status: OutputStatus
    error_kind: str | None
    error: str | None
    mime_type: str | None
    width: int | None
    height: int | None
    cost: float
    duration_ms: int | None
    created_at: UtcDateTime
    finished_at: UtcDateTime | None
    image_url: str | None = Field(description="Set once the image exists.")
    thumbnail_url: str | None
    source_image_url: str | None = Field(description="The original (automatic mode).")
    source_thumbnail_url: str | None
    flags: list[OutputFlagOut] = Field(default_factory=list)
    review: ReviewState = ReviewState.unreviewed
    regenerations: int = Field(default=0, description="Times it was generated again.")
    label_count: int | None = Field(
        default=None, description="Objects labelled in it (labelled datasets); null: no labels."
    )
    labels: list[LabelBoxOut] | None = Field(
        default=None, description="Their boxes in this image's pixels (class names: job quality)."
    )
    transform: list[str] = Field(
        default_factory=list, description="What was done to the source, step by step."
    )


class OutputPage(BaseModel):
    items: list[OutputOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
    changes_cursor: str | None = Field(
        default=None,
        description="Pass as `since` to get only the outputs that changed after this page "
        "was read (a running job's gallery). Null on filtered pages.",
    )
    more_changes: bool = Field(
        default=False,
        description="A `since` answer that stopped at `limit`: ask again at once with "
        "its `changes_cursor` for the rest.",
    )
