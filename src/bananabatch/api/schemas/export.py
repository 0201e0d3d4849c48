"""Exporting a selection of outputs, and a large export's parts."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bananabatch.api.schemas.request_body import RequestBody
from bananabatch.services.job_requests import Id


class ExportSelectionIn(RequestBody):
    output_ids: list[Id] = Field(min_length=1, max_length=100_000)
    include_originals: bool | None = Field(
        default=None, description="Add the source images; the job's setting when omitted."
    )
    include_rejected: bool = Field(default=False, description="Keep outputs rejected in review.")
    include_flagged: bool = Field(
        default=False, description="Labelled datasets: keep outputs flagged label-unsafe."
    )


class ExportPartOut(BaseModel):
    part: int
    entries: int
    files: int
    outputs: int
    approx_bytes: int
    url: str


class ExportPartsOut(BaseModel):
    part_bytes: int
    parts: list[ExportPartOut]
