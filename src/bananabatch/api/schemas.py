"""Request and response models of the HTTP API.

The web UI generates its TypeScript types from the OpenAPI schema built from
these, so names are part of the contract. Job, output and dataset views are
defined beside the queries that fill them (`services/queries/`) and job
creation requests in `services/job_requests.py`; both are re-exported here.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bananabatch.catalog import Lifecycle, ModelInfo, TokenPrices
from bananabatch.datasets.schemas import DatasetLabelsOut
from bananabatch.ingest.dataset_items import DatasetSummary
from bananabatch.ingest.service import IngestReport
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    BudgetIn,
    EstimateOut,
    Id,
    JobCheckOut,
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
from bananabatch.services.spend import SpendOut, SpendRow

__all__ = [
    "AutomaticJobCreate",
    "BatchOut",
    "BudgetIn",
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
    "GeminiKeyHealth",
    "HealthOut",
    "IngestReportOut",
    "IngestedFileOut",
    "JobCheckOut",
    "JobCreate",
    "JobCreated",
    "JobDetail",
    "JobList",
    "JobOptionsIn",
    "JobOptionsOut",
    "JobPatch",
    "JobSummary",
    "LoginIn",
    "ModelOut",
    "ModelSourcesOut",
    "OutputOut",
    "OutputPage",
    "PromptPreview",
    "ReplacedItemOut",
    "RetryIn",
    "RetryOut",
    "SemiAutoJobCreate",
    "SemiAutoPromptIn",
    "SessionOut",
    "SkippedFileOut",
    "SpendOut",
    "SpendRow",
    "StatusCounts",
    "TokenPricesOut",
]


class _In(BaseModel):
    """Request bodies: unknown fields refused, no type coercion (see job_requests)."""

    model_config = ConfigDict(extra="forbid", strict=True)


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


class GeminiKeyHealth(BaseModel):
    """What Google says about the configured key (cached a few minutes, never the key)."""

    state: Literal["ok", "key_invalid", "unreachable", "not_configured", "skipped", "unchecked"]
    message: str = Field(description="Why the key is not usable, or why it was not checked.")
    models: list[str] = Field(
        description="Catalog image models this key can use (models.list), in catalog order."
    )
    checked_at: UtcDateTime | None


class ProviderHealth(BaseModel):
    name: Literal["classic", "gemini"] = Field(description="The provider new jobs use.")
    gemini_key_configured: bool = Field(description="Whether a Gemini key is set (never the key).")
    default_model: str
    gemini_key: GeminiKeyHealth


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


class TokenPricesOut(BaseModel):
    input: float = Field(description="USD per 1M input tokens (text and images).")
    output: float = Field(description="USD per 1M text and thinking output tokens.")
    output_image: float = Field(description="USD per 1M image output tokens.")

    @classmethod
    def from_prices(cls, prices: TokenPrices | None) -> TokenPricesOut | None:
        if prices is None:
            return None
        return cls(input=prices.input, output=prices.output, output_image=prices.output_image)


class ModelSourcesOut(BaseModel):
    """The URL each group of catalog facts was checked against."""

    lifecycle: str
    limits: str
    prices: str
    batch_prices: str


class ModelOut(BaseModel):
    id: str
    display_name: str
    provider: Literal["gemini", "classic"]
    status: Lifecycle = Field(
        description="current; deprecated (accepted with a warning); shut_down (refused)."
    )
    released: date | None
    deprecated: date | None
    shutdown: date | None = Field(description="Past for a shut-down model, else announced.")
    replacement: str | None = Field(description="What to use instead, when not current.")
    lifecycle_note: str
    max_reference_images: int
    used_reference_images: int = Field(
        description="References a call really uses (classic: only the first); at most "
        "max_reference_images, which is how many a job may give."
    )
    aspect_ratios: list[str]
    image_sizes: list[str]
    default_image_size: str | None
    price_per_image: dict[str, float] = Field(
        description='USD per image by size ("default" when the model has no sizes).'
    )
    batch_price_per_image: dict[str, float] = Field(description="The same through the Batch API.")
    price_per_million_tokens: TokenPricesOut | None
    batch_price_per_million_tokens: TokenPricesOut | None
    input_image_tokens: int | None = Field(
        description="Tokens billed per reference image, when known."
    )
    sources: ModelSourcesOut | None
    description: str
    preview: bool
    known: bool
    default: bool = Field(description="The model used when a job names none.")
    available: bool = Field(
        description="False for shut-down models, and for Gemini models while no key is set."
    )

    @classmethod
    def from_info(
        cls,
        info: ModelInfo,
        *,
        default: bool,
        available: bool,
        status: Lifecycle,
        replacement: str | None,
    ) -> ModelOut:
        """`status` and `replacement` as of today (a shutdown date may have passed)."""
        return cls(
            id=info.id,
            display_name=info.display_name,
            provider=info.provider,
            status=status,
            released=info.released_on,
            deprecated=info.deprecated_on,
            shutdown=info.shutdown_on,
            replacement=replacement,
            lifecycle_note=info.lifecycle_note,
            max_reference_images=info.max_reference_images,
            used_reference_images=info.references_used,
            aspect_ratios=list(info.aspect_ratios),
            image_sizes=list(info.image_sizes),
            default_image_size=info.default_image_size,
            price_per_image=dict(info.price_per_image),
            batch_price_per_image=dict(info.batch_price_per_image),
            price_per_million_tokens=TokenPricesOut.from_prices(info.token_prices),
            batch_price_per_million_tokens=TokenPricesOut.from_prices(info.batch_token_prices),
            input_image_tokens=info.input_image_tokens,
            sources=ModelSourcesOut.model_validate(info.sources) if info.sources else None,
            description=info.description,
            preview=info.preview,
            known=info.known,
            default=default,
            available=available and status != "shut_down",
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


# ---- jobs ------------------------------------------------------------------------------


class JobPatch(_In):
    priority: int = Field(ge=-100, le=100, description="Higher runs first.")


class JobCreated(JobDetail):
    warnings: list[str] = Field(
        description="The job was created, but: a deprecated or unknown model, a key that "
        "could not be checked with Google.",
    )


class RetryIn(_In):
    output_ids: list[Id] | None = Field(
        default=None,
        max_length=10_000,
        description="Only these outputs (failed or blocked); all failed outputs when omitted.",
    )


class RetryOut(BaseModel):
    requeued: int
    permanent: int = Field(
        description="Of those re-queued, outputs whose error is permanent (an invalid "
        "request, an internal error, a safety block): they will fail again."
    )
    message: str | None = Field(description="Which failures will fail again, and why.")
    job: JobDetail


# ---- export ----------------------------------------------------------------------------


class ExportSelectionIn(_In):
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
