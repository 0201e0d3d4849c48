"""The read models the API answers with (jobs, batches, outputs, datasets), and the
UTC conventions they follow. They live beside the queries that fill them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from bananabatch.db.models import (
    JobStatus,
    OutputStatus,
)

API_PREFIX = "/api/v1"
QUEUED_JOB_STATUSES = (JobStatus.queued, JobStatus.running)
MAX_PAGE = 500
RECIPE_IMAGE_PROMPTS = 200
"""Prompts CSV rows shown in a job's recipe (the CSV itself can hold 50,000)."""
MAX_OFFSET = 2**31 - 1
"""Largest list offset or cursor position accepted (far past any real list)."""


def as_utc(value: datetime) -> datetime:
    """The DB stores naive UTC; answer with an explicit zone so browsers do not guess."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]


def to_naive_utc(value: datetime) -> datetime:
    """A client's timestamp as the DB stores it (naive UTC).

    A time at the very edge of the calendar (0001-01-01 in UTC+14) has no UTC
    equivalent; it is clamped instead of overflowing into a 500.
    """
    if not value.tzinfo:
        return value
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return datetime.min if value.year == datetime.min.year else datetime.max


# ---- DTOs ------------------------------------------------------------------------------


class StatusCounts(BaseModel):
    """Outputs by status; `total` is their sum."""

    pending: int = 0
    succeeded: int = 0
    blocked: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, int]]) -> StatusCounts:
        values: dict[str, int] = {s.value: 0 for s in OutputStatus}
        for status, n in pairs:
            values[str(status)] = values.get(str(status), 0) + int(n)
        known = {k: v for k, v in values.items() if k in cls.model_fields}
        return cls(**known, total=sum(values.values()))

    @property
    def done(self) -> int:
        return self.total - self.pending

    @property
    def progress(self) -> float:
        return round(self.done / self.total, 4) if self.total else 0.0


class JobOptionsOut(BaseModel):
    aspect_ratio: str | None = None
    image_size: str | None = None
    output_format: Literal["png", "jpeg", "webp"] = "png"


class BatchOut(BaseModel):
    id: str
    position: int
    name: str
    slug: str
    prompt: str
    count: int
    counts: StatusCounts
    progress: float = Field(ge=0.0, le=1.0)


class TrialOut(BaseModel):
    """A job started as a trial run on a sample of its images."""

    size: int = Field(description="Images the trial asked for.")
    planned_outputs: int = Field(description="Images of the whole job.")
    rest_outputs: int = Field(description="Images `continue` adds (0 once continued).")
    rest_cost_usd: float = Field(description="What running the rest is estimated to cost.")
    continued: bool = Field(description="The rest was asked for: the job is the whole job now.")


class JobSummary(BaseModel):
    id: str
    mode: Literal["automatic", "semi_auto"]
    name: str
    status: JobStatus
    provider: str
    model: str
    priority: int
    total_outputs: int
    total_tasks: int
    counts: StatusCounts
    progress: float = Field(ge=0.0, le=1.0, description="Outputs in a final state / total.")
    cost_estimate: float
    cost_actual: float
    max_cost: float | None = Field(description="The job's budget cap (USD), if any.")
    hold_reason: str | None = Field(
        description="Why the orchestrator paused the job (a budget cap), with what to do."
    )
    interrupted_at: UtcDateTime | None = Field(
        default=None,
        description="When a CLI run of this job was interrupted (Ctrl-C, SIGTERM); the job "
        "is paused until resumed (`bananabatch jobs resume`, or Resume in the web UI).",
    )
    route: Literal["standard", "batch"] = Field(
        description="standard: one call per image now; batch: Gemini's Batch API (half price, "
        "results within 24 h)."
    )
    error: str | None
    revision: int
    queue_position: int | None = Field(
        description="1-based rank among queued/running jobs (priority, then age); null otherwise."
    )
    dataset_id: str | None
    trial: TrialOut | None = Field(
        default=None, description="Set when the job started as a trial run; null otherwise."
    )
    created_at: UtcDateTime
    updated_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None


class RemoteActivity(BaseModel):
    """Where the job's tasks stand at the executor (RunPod's queue can be slow to start)."""

    queued: int = Field(description="Tasks sent and waiting in the executor's queue.")
    running: int = Field(description="Tasks sent and running.")
    oldest_queued_since: UtcDateTime | None = Field(
        description="When the longest-waiting queued task was sent."
    )
    avg_delay_ms: int | None = Field(description="Mean time finished tasks waited in the queue.")
    avg_execution_ms: int | None = Field(description="Mean time finished tasks ran.")


class QualityOut(BaseModel):
    """Quality flags and review state of a job's outputs (succeeded ones)."""

    flags: dict[str, int] = Field(description="Outputs carrying each flag.")
    flagged: int = Field(description="Outputs with at least one flag.")
    review: dict[str, int] = Field(description="unreviewed / accepted / rejected.")
    label_format: str | None = Field(description="yolo, coco, voc, folders, images (automatic).")
    labelled: bool = Field(description="Outputs carry labels (YOLO, COCO or VOC datasets).")
    splits: list[str] | None = Field(description="Splits augmented; null when none exist.")
    classes: list[str] = Field(
        default_factory=list, description="Class names by class id (labelled datasets)."
    )


BATCH_TARGET = timedelta(hours=24)
"""The Batch API's target turnaround: a batch waiting longer is shown as overdue."""


class GeminiBatchOut(BaseModel):
    """Where one Gemini Batch API batch of the job stands."""

    display_name: str
    state: str = Field(
        description="creating, pending, running, succeeded, expired, failed, cancelled or lost "
        "(results unreachable after every retry)."
    )
    lines: int
    lines_read: int = Field(
        description="Lines whose answer was read from the result file and stored."
    )
    submitted_at: UtcDateTime | None
    updated_at: UtcDateTime
    finished_at: UtcDateTime | None
    download_attempts: int
    error: str | None = Field(description="The last problem with this batch, if any.")
    overdue: bool = Field(
        description="Still waiting at Google more than 24 h after it was submitted (the "
        "Batch API's target): it may stay PENDING for long, or expire at 48 h."
    )


class WebhookDeliveryOut(BaseModel):
    """One webhook event for the job and how its delivery went."""

    id: str = Field(description="Also sent as X-BananaBatch-Delivery.")
    event: Literal["job.completed", "job.failed", "job.cancelled", "job.budget_paused"]
    url: str
    state: Literal["pending", "delivered", "failed"] = Field(
        description="failed: every attempt (BANANABATCH_WEBHOOK_MAX_ATTEMPTS) was refused."
    )
    attempts: int
    last_status: int | None = Field(description="The receiver's last HTTP status.")
    last_error: str | None
    next_attempt_at: UtcDateTime | None = Field(description="Pending only: the next try.")
    created_at: UtcDateTime
    delivered_at: UtcDateTime | None


class RecipeReference(BaseModel):
    asset_id: str
    image_url: str
    thumbnail_url: str
    used: bool = Field(description="False: the model ignores it (it uses fewer references).")


class RecipePrompt(BaseModel):
    """A semi-automatic prompt and how many images it asks for."""

    prompt: str
    count: int


class RecipeImagePrompt(BaseModel):
    """One row of the prompts CSV: the prompt for one source image."""

    path: str
    prompt: str


class Recipe(BaseModel):
    """Everything that decides what the job generates, as the user gave it."""

    mode: Literal["automatic", "semi_auto"]
    prompt: str | None = Field(description="Automatic: the base prompt template.")
    prompts: list[RecipePrompt] = Field(description="Semi-automatic: prompts with counts.")
    per_class_prompts: dict[str, str] = Field(
        description="Automatic: top-level folder (class) -> its prompt template."
    )
    per_image_prompts: list[RecipeImagePrompt] = Field(
        description=f"Automatic: the prompts CSV rows (the first {RECIPE_IMAGE_PROMPTS})."
    )
    per_image_prompt_count: int = Field(description="Rows in the prompts CSV.")
    references: list[RecipeReference] = Field(description="Semi-automatic reference images.")
    references_used: int = Field(description="How many of them the model uses.")
    reference_warning: str | None = Field(
        description="Set when the model uses fewer references than were given."
    )
    model: str
    model_name: str
    provider: str
    image_size: str | None = Field(description="null: the model's default size.")
    aspect_ratio: str | None = Field(
        description="null: each source's own frame (automatic) or the model's default."
    )
    fit_to_source: bool = Field(description="Outputs are brought back to their source's size.")
    output_format: Literal["png", "jpeg", "webp"]
    seed: int
    variations: int | None = Field(description="Automatic: images per source image.")
    splits: list[str] | None = Field(description="Automatic: the dataset splits augmented.")
    include_originals: bool
    route: Literal["standard", "batch"]


class FailureGroup(BaseModel):
    """Failed outputs that share an error kind."""

    kind: str = Field(description="invalid, internal, transient, rate_limited, no_image, ...")
    count: int
    permanent: bool = Field(description="A retry will fail the same way.")
    example: str | None = Field(description="One of their error messages.")


class FailureSummary(BaseModel):
    """What "retry failed" would re-queue, and which of it will fail again."""

    retryable: int = Field(description="Failed outputs a retry may fix (timeouts, 429, 5xx).")
    permanent: int = Field(
        description="Failed outputs whose error is permanent (an invalid request, an "
        "internal error): a retry sends the same request and fails again."
    )
    groups: list[FailureGroup] = Field(description="By error kind, permanent ones first.")
    message: str | None = Field(description="The permanent part in words; null when none.")


class JobDetail(JobSummary):
    seed: int
    options: JobOptionsOut
    spec: dict[str, Any] = Field(description="The creation request as it was given.")
    reference_asset_ids: list[str]
    include_originals: bool
    batches: list[BatchOut]
    remote: RemoteActivity
    quality: QualityOut
    gemini_batches: list[GeminiBatchOut] = Field(
        default_factory=list, description="The job's Batch API batches, oldest first."
    )
    webhook_url: str | None = Field(description="Where this job's events are POSTed.")
    webhooks: list[WebhookDeliveryOut] = Field(description="Its webhook events, oldest first.")
    recipe: Recipe = Field(description="Prompts, references, model, size, seed and options.")
    failures: FailureSummary = Field(description="The job's failed outputs by error kind.")


class JobList(BaseModel):
    items: list[JobSummary]
    total: int
    server_time: UtcDateTime = Field(
        description="Pass it back as `updated_since` to get only jobs changed after this answer."
    )
