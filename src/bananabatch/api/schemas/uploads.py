"""An upload's report: what was stored, refused, skipped or replaced, file by file."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bananabatch.ingest.service import IngestReport


class IngestedFileOut(BaseModel):
    rel_path: str
    asset_id: str
    width: int
    height: int
    mime_type: str
    duplicate: bool = Field(description="The same bytes were already stored.")
    notes: list[str]
    thumbnail_url: str


class FileErrorOut(BaseModel):
    rel_path: str
    code: str = Field(description="e.g. truncated, not_an_image, too_large, unsafe_path.")
    message: str


class SkippedFileOut(BaseModel):
    rel_path: str = Field(description="The path as uploaded (inside the ZIP for a ZIP).")
    reason: str = Field(description='Why it was left out, e.g. "macOS Finder metadata".')


class ReplacedItemOut(BaseModel):
    rel_path: str
    previous_asset_id: str = Field(description="The image the dataset held at this path.")


class IngestReportOut(BaseModel):
    accepted: list[IngestedFileOut]
    errors: list[FileErrorOut]
    skipped: list[SkippedFileOut] = Field(
        description="System clutter ignored on purpose (.DS_Store, __MACOSX/, ...)."
    )
    replaced: list[ReplacedItemOut] = Field(
        description="Dataset paths that held another image, now replaced by this upload.",
    )
    label_files: list[str] = Field(
        default_factory=list,
        description="Label and metadata files kept with the dataset (YOLO .txt, data.yaml, "
        "COCO .json, VOC .xml); read with the images when the dataset is next looked at.",
    )

    @classmethod
    def from_report(cls, report: IngestReport, thumb_url: Any) -> IngestReportOut:
        return cls(
            accepted=[
                IngestedFileOut(
                    rel_path=f.rel_path,
                    asset_id=f.asset_id,
                    width=f.width,
                    height=f.height,
                    mime_type=f.mime_type,
                    duplicate=f.duplicate,
                    notes=list(f.notes),
                    thumbnail_url=thumb_url(f.asset_id),
                )
                for f in report.accepted
            ],
            errors=[
                FileErrorOut(rel_path=e.rel_path, code=e.code, message=e.message)
                for e in report.errors
            ],
            skipped=[SkippedFileOut(rel_path=f.rel_path, reason=f.reason) for f in report.skipped],
            replaced=[
                ReplacedItemOut(rel_path=r.rel_path, previous_asset_id=r.previous_asset_id)
                for r in report.replaced
            ],
            label_files=list(report.label_files),
        )
