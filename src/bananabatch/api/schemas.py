"""Request and response models of the HTTP API.

The web UI generates its TypeScript types from the OpenAPI schema built from
these, so names are part of the contract. Job, output and dataset views are
defined beside the queries that fill them (`services/queries.py`) and job
creation requests in `services/job_requests.py`; both are re-exported here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bananabatch.catalog import ModelInfo
from bananabatch.datasets.schemas import DatasetLabelsOut
from bananabatch.ingest.service import DatasetSummary, IngestReport
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    EstimateOut,
    JobCreate,
    JobOptionsIn,
    PromptPreview,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)
from bananabatch.services.queries import (
    BatchOut,
    DatasetItemOut,
    DatasetItemPage,
    DatasetList,
    DatasetOut,
    JobDetail,
    JobList,
    JobOptionsOut,
    JobSummary,
    OutputOut,
    OutputPage,
    StatusCounts,
    UtcDateTime,
)

__all__ = [
    "AutomaticJobCreate",
    "BatchOut",
    "DatasetCreate",
    "DatasetItemOut",
    "DatasetItemPage",
    "DatasetLabelsOut",
    "DatasetList",
    "DatasetOut",
    "DatasetSummaryOut",
    "ErrorBody",
    "ErrorResponse",
    "EstimateOut",
    "ExportPartOut",
    "ExportPartsOut",
    "ExportSelectionIn",
    "FileErrorOut",
    "FolderOut",
    "HealthOut",
    "IngestReportOut",
    "IngestedFileOut",
    "JobCreate",
    "JobDetail",
    "JobList",
    "JobOptionsIn",
    "JobOptionsOut",
    "JobPatch",
    "JobSummary",
    "LoginIn",
    "ModelOut",
    "OutputOut",
    "OutputPage",
    "PromptPreview",
    "RetryIn",
    "RetryOut",
    "SemiAutoJobCreate",
    "SemiAutoPromptIn",
    "SessionOut",
    "StatusCounts",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- errors ----------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `unknown_model`.")
    message: str = Field(description="What went wrong and what to do about it.")
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody


# ---- health and auth -------------------------------------------------------------------


class DbHealth(BaseModel):
    ok: bool
    dialect: str
    error: str | None = None


class ProviderHealth(BaseModel):
    name: Literal["classic", "gemini"] = Field(description="The provider new jobs use.")
    gemini_key_configured: bool = Field(description="Whether a Gemini key is set (never the key).")
    default_model: str


class ExecutorHealth(BaseModel):
    name: str
    ok: bool
    orchestrator_running: bool
    in_flight: int
    details: dict[str, Any] = Field(default_factory=dict)


class HealthOut(BaseModel):
    ok: bool = Field(description="True when the DB and storage answer.")
    version: str
    auth_required: bool
    db: DbHealth
    storage: dict[str, Any]
    executor: ExecutorHealth
    provider: ProviderHealth
    outputs_per_task: int = Field(description="Images per task (a semi-automatic 'run').")


class LoginIn(_In):
    password: str = Field(max_length=1024)


class SessionOut(BaseModel):
    authenticated: bool
    auth_required: bool


# ---- models ----------------------------------------------------------------------------


class ModelOut(BaseModel):
    id: str
    display_name: str
    provider: Literal["gemini", "classic"]
    max_reference_images: int
    aspect_ratios: list[str]
    image_sizes: list[str]
    default_image_size: str | None
    price_per_image: dict[str, float] = Field(
        description='USD per image by size ("default" when the model has no sizes).'
    )
    batch_price_per_image: dict[str, float]
    description: str
    preview: bool
    known: bool
    default: bool = Field(description="The model used when a job names none.")
    available: bool = Field(description="False for Gemini models while no key is configured.")

    @classmethod
    def from_info(cls, info: ModelInfo, *, default: bool, available: bool) -> ModelOut:
        return cls(
            id=info.id,
            display_name=info.display_name,
            provider=info.provider,
            max_reference_images=info.max_reference_images,
            aspect_ratios=list(info.aspect_ratios),
            image_sizes=list(info.image_sizes),
            default_image_size=info.default_image_size,
            price_per_image=dict(info.price_per_image),
            batch_price_per_image=dict(info.batch_price_per_image),
            description=info.description,
            preview=info.preview,
            known=info.known,
            default=default,
            available=available,
        )


# ---- datasets and uploads --------------------------------------------------------------


class DatasetCreate(_In):
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


class IngestReportOut(BaseModel):
    accepted: list[IngestedFileOut]
    errors: list[FileErrorOut]
    skipped: list[str] = Field(description="System clutter ignored on purpose (.DS_Store, ...).")
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
            skipped=list(report.skipped),
            label_files=list(report.label_files),
        )


# ---- jobs ------------------------------------------------------------------------------


class JobPatch(_In):
    priority: int = Field(ge=-100, le=100, description="Higher runs first.")


class RetryIn(_In):
    output_ids: list[str] | None = Field(
        default=None,
        max_length=10_000,
        description="Only these outputs (failed or blocked); all failed outputs when omitted.",
    )


class RetryOut(BaseModel):
    requeued: int
    job: JobDetail


# ---- export ----------------------------------------------------------------------------


class ExportSelectionIn(_In):
    output_ids: list[str] = Field(min_length=1, max_length=100_000)
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
