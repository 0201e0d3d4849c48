"""Read side: the views of jobs, batches, outputs and datasets the API answers with.

Every function runs a fixed number of queries whatever the page size (counts by
status come from one GROUP BY, never one query per job), and the cheap
`*_etag` functions let pollers get a 304 without building anything.
The DTOs live here, beside the code that fills them, like the request models in
`job_requests.py`; the API re-exports them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from bananabatch.db.models import (
    Asset,
    Batch,
    Dataset,
    DatasetItem,
    Job,
    JobStatus,
    Output,
    OutputFlag,
    OutputStatus,
    ReviewState,
    Task,
    TaskStatus,
)
from bananabatch.errors import NotFound, ValidationFailed
from bananabatch.quality.flags import FLAG_LABELS, Flag
from bananabatch.quality.service import flag_summary, flags_by_output

API_PREFIX = "/api/v1"
QUEUED_JOB_STATUSES = (JobStatus.queued, JobStatus.running)
MAX_PAGE = 500
MAX_OFFSET = 2**31 - 1
"""Largest list offset or cursor position accepted (far past any real list)."""


def _as_utc(value: datetime) -> datetime:
    """The DB stores naive UTC; answer with an explicit zone so browsers do not guess."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]


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
    error: str | None
    revision: int
    queue_position: int | None = Field(
        description="1-based rank among queued/running jobs (priority, then age); null otherwise."
    )
    dataset_id: str | None
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


class JobDetail(JobSummary):
    seed: int
    options: JobOptionsOut
    spec: dict[str, Any] = Field(description="The creation request as it was given.")
    reference_asset_ids: list[str]
    include_originals: bool
    batches: list[BatchOut]
    remote: RemoteActivity
    quality: QualityOut


class JobList(BaseModel):
    items: list[JobSummary]
    total: int
    server_time: UtcDateTime = Field(
        description="Pass it back as `updated_since` to get only jobs changed after this answer."
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


class DatasetOut(BaseModel):
    id: str
    name: str
    item_count: int
    created_at: UtcDateTime


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


# ---- helpers ---------------------------------------------------------------------------


def _etag(*parts: object) -> str:
    digest = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:32]
    return f'"{digest}"'


def _encode_cursor(*values: object) -> str:
    raw = "\x1f".join(str(v) for v in values).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str, arity: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8").split("\x1f")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise ValidationFailed(
            "The cursor is not valid; start again without one.", details={"cursor": cursor}
        ) from exc
    if len(parts) != arity:
        raise ValidationFailed(
            "The cursor is not valid; start again without one.", details={"cursor": cursor}
        )
    return parts


def _check_offset(offset: int) -> int:
    """SQLite (and most DBs) store 64-bit integers: a larger offset would be a 500."""
    if not 0 <= offset <= MAX_OFFSET:
        raise ValidationFailed(f"offset must be between 0 and {MAX_OFFSET}.")
    return offset


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}.")
    return limit


def asset_image_url(asset_id: str) -> str:
    return f"{API_PREFIX}/assets/{asset_id}/image"


def asset_thumbnail_url(asset_id: str) -> str:
    return f"{API_PREFIX}/assets/{asset_id}/thumbnail"


# ---- jobs ------------------------------------------------------------------------------


def queue_positions(session: Session) -> dict[str, int]:
    """Rank of every queued/running job: priority first, then age (the scheduler's order
    of preference; jobs of one priority share the executor round-robin)."""
    ids = session.scalars(
        select(Job.id)
        .where(Job.status.in_(QUEUED_JOB_STATUSES))
        .order_by(Job.priority.desc(), Job.created_at, Job.id)
    ).all()
    return {job_id: i + 1 for i, job_id in enumerate(ids)}


def _counts_by_job(session: Session, job_ids: Sequence[str]) -> dict[str, StatusCounts]:
    if not job_ids:
        return {}
    rows = session.execute(
        select(Output.job_id, Output.status, func.count())
        .where(Output.job_id.in_(job_ids))
        .group_by(Output.job_id, Output.status)
    ).all()
    pairs: dict[str, list[tuple[str, int]]] = {job_id: [] for job_id in job_ids}
    for job_id, status, n in rows:
        pairs[job_id].append((status, n))
    return {job_id: StatusCounts.from_pairs(p) for job_id, p in pairs.items()}


def _summary_fields(job: Job, counts: StatusCounts, position: int | None) -> dict[str, Any]:
    return {
        "id": job.id,
        "mode": job.mode,
        "name": job.name,
        "status": job.status,
        "provider": job.provider,
        "model": job.model,
        "priority": job.priority,
        "total_outputs": job.total_outputs,
        "total_tasks": job.total_tasks,
        "counts": counts,
        "progress": counts.progress,
        "cost_estimate": job.cost_estimate,
        "cost_actual": job.cost_actual,
        "max_cost": job.max_cost,
        "hold_reason": job.hold_reason,
        "error": job.error,
        "revision": job.revision,
        "queue_position": position,
        "dataset_id": job.dataset_id,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def _job_filters(
    status: Sequence[str] | None, mode: str | None, updated_since: datetime | None
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if status:
        unknown = sorted(set(status) - {s.value for s in JobStatus})
        if unknown:
            raise ValidationFailed(
                f"Unknown job status {', '.join(unknown)}; "
                f"use one of {', '.join(s.value for s in JobStatus)}."
            )
        filters.append(Job.status.in_(list(status)))
    if mode:
        filters.append(Job.mode == mode)
    if updated_since is not None:
        filters.append(Job.updated_at > to_naive_utc(updated_since))
    return filters


def _job_total(session: Session, filters: list[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(Job).where(*filters)) or 0


def _job_page(filters: list[ColumnElement[bool]], limit: int, offset: int) -> Select[Job]:
    """One page of the job list, newest first: the list and its ETag read the same rows."""
    return (
        select(Job)
        .where(*filters)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
        .offset(offset)
    )


def job_list_etag(
    session: Session,
    *,
    status: Sequence[str] | None = None,
    mode: str | None = None,
    limit: int = 50,
    offset: int = 0,
    updated_since: datetime | None = None,
) -> str:
    """Changes whenever any job on the page (or the page's membership) changes."""
    _check_limit(limit)
    _check_offset(offset)
    filters = _job_filters(status, mode, updated_since)
    total = _job_total(session, filters)
    page = session.execute(
        _job_page(filters, limit, offset).with_only_columns(Job.id, Job.revision)
    ).all()
    positions = queue_positions(session)
    return _etag(
        "jobs",
        tuple(status or ()),
        mode,
        limit,
        offset,
        updated_since,
        total,
        tuple((i, r, positions.get(i)) for i, r in page),
    )


def list_jobs(
    session: Session,
    *,
    status: Sequence[str] | None = None,
    mode: str | None = None,
    limit: int = 50,
    offset: int = 0,
    updated_since: datetime | None = None,
) -> JobList:
    """Newest first. Four queries whatever the page size."""
    _check_limit(limit)
    _check_offset(offset)
    now = datetime.now(UTC)
    filters = _job_filters(status, mode, updated_since)
    total = _job_total(session, filters)
    jobs = session.scalars(_job_page(filters, limit, offset)).all()
    counts = _counts_by_job(session, [j.id for j in jobs])
    positions = queue_positions(session)
    items = [
        JobSummary(**_summary_fields(j, counts.get(j.id, StatusCounts()), positions.get(j.id)))
        for j in jobs
    ]
    return JobList(items=items, total=total, server_time=now)


def _queue_position(
    session: Session, job_id: str, status: str, priority: int, created_at: datetime
) -> int | None:
    if status not in QUEUED_JOB_STATUSES:
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            Job.status.in_(QUEUED_JOB_STATUSES),
            or_(
                Job.priority > priority,
                and_(
                    Job.priority == priority,
                    or_(
                        Job.created_at < created_at,
                        and_(Job.created_at == created_at, Job.id < job_id),
                    ),
                ),
            ),
        )
    )
    return (ahead or 0) + 1


def _get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    return job


def job_etag(session: Session, job_id: str) -> str:
    """From the job's revision (bumped on every status/progress change) and queue rank."""
    row = session.execute(
        select(Job.id, Job.revision, Job.status, Job.priority, Job.created_at).where(
            Job.id == job_id
        )
    ).first()
    if row is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    position = _queue_position(session, row.id, row.status, row.priority, row.created_at)
    return _etag("job", row.id, row.revision, position)


def job_detail(session: Session, job_id: str) -> JobDetail:
    """The job with counts by status for it and for each batch (two GROUP BY queries)."""
    job = _get_job(session, job_id)
    grouped = session.execute(
        select(Output.batch_id, Output.status, Output.review, func.count())
        .where(Output.job_id == job_id)
        .group_by(Output.batch_id, Output.status, Output.review)
    ).all()
    rows = [(b, st, n) for b, st, _, n in grouped]
    reviews = {r.value: 0 for r in ReviewState}
    for _, st, review, n in grouped:
        if st == OutputStatus.succeeded:
            reviews[review] = reviews.get(review, 0) + int(n)
    by_batch: dict[str, list[tuple[str, int]]] = {}
    for batch_id, status, n in rows:
        by_batch.setdefault(batch_id, []).append((status, n))
    job_counts = StatusCounts.from_pairs((s, n) for _, s, n in rows)
    batches = session.scalars(
        select(Batch).where(Batch.job_id == job_id).order_by(Batch.position)
    ).all()
    batch_out = []
    for b in batches:
        counts = StatusCounts.from_pairs(by_batch.get(b.id, []))
        batch_out.append(
            BatchOut(
                id=b.id,
                position=b.position,
                name=b.name,
                slug=b.slug,
                prompt=b.prompt,
                count=b.count,
                counts=counts,
                progress=counts.progress,
            )
        )
    options = JobOptionsOut.model_validate(
        {k: v for k, v in (job.options or {}).items() if k in JobOptionsOut.model_fields}
    )
    return JobDetail(
        **_summary_fields(
            job,
            job_counts,
            _queue_position(session, job.id, job.status, job.priority, job.created_at),
        ),
        quality=_quality(session, job, reviews),
        seed=job.seed,
        options=options,
        spec=dict(job.spec or {}),
        reference_asset_ids=[str(a) for a in job.reference_asset_ids or []],
        include_originals=job.include_originals,
        batches=batch_out,
        remote=_remote_activity(session, job_id),
    )


def _quality(session: Session, job: Job, reviews: dict[str, int]) -> QualityOut:
    spec = job.spec or {}
    flags, flagged = flag_summary(session, job.id)
    return QualityOut(
        flags=flags,
        flagged=flagged,
        review=reviews,
        label_format=spec.get("label_format"),
        labelled=bool(spec.get("labelled")),
        splits=spec.get("splits"),
        classes=[str(c) for c in spec.get("classes") or []],
    )


def _remote_activity(session: Session, job_id: str) -> RemoteActivity:
    """One aggregate over the job's tasks (detail pages are polled)."""
    out = Task.status == TaskStatus.dispatched
    queued = and_(out, Task.remote_state == "queued")
    running = and_(out, Task.remote_state == "running")
    n_queued, n_running, since, delay, execution = session.execute(
        select(
            func.coalesce(func.sum(case((queued, 1), else_=0)), 0),
            func.coalesce(func.sum(case((running, 1), else_=0)), 0),
            func.min(case((queued, Task.dispatched_at))),
            func.avg(Task.delay_ms),
            func.avg(Task.execution_ms),
        ).where(Task.job_id == job_id)
    ).one()
    return RemoteActivity(
        queued=int(n_queued),
        running=int(n_running),
        oldest_queued_since=since,
        avg_delay_ms=round(delay) if delay is not None else None,
        avg_execution_ms=round(execution) if execution is not None else None,
    )


# ---- outputs ---------------------------------------------------------------------------


def output_out(o: Output, flags: list[tuple[str, str]] | None = None) -> OutputOut:
    has_image = o.status == OutputStatus.succeeded and o.storage_key is not None
    return OutputOut(
        id=o.id,
        job_id=o.job_id,
        batch_id=o.batch_id,
        task_id=o.task_id,
        position=o.position,
        run_index=o.run_index,
        variation=o.variation,
        source_path=o.source_path,
        source_asset_id=o.source_asset_id,
        archive_path=o.archive_path,
        prompt=o.prompt,
        model=o.model,
        seed=o.seed,
        attempt=o.attempt,
        status=OutputStatus(o.status),
        error_kind=o.error_kind,
        error=o.error,
        mime_type=o.mime_type,
        width=o.width,
        height=o.height,
        cost=o.cost,
        duration_ms=o.duration_ms,
        created_at=o.created_at,
        finished_at=o.finished_at,
        image_url=f"{API_PREFIX}/outputs/{o.id}/image" if has_image else None,
        thumbnail_url=f"{API_PREFIX}/outputs/{o.id}/thumbnail" if has_image else None,
        source_image_url=asset_image_url(o.source_asset_id) if o.source_asset_id else None,
        source_thumbnail_url=asset_thumbnail_url(o.source_asset_id) if o.source_asset_id else None,
        flags=[
            OutputFlagOut(flag=Flag(f), label=FLAG_LABELS[Flag(f)], detail=d)
            for f, d in flags or []
        ],
        review=ReviewState(o.review or ReviewState.unreviewed),
        regenerations=o.regenerations or 0,
        label_count=len(o.labels) if o.labels is not None else None,
        labels=[LabelBoxOut(class_id=b["class_id"], bbox=list(b["bbox"])) for b in o.labels]
        if o.labels is not None
        else None,
        transform=list((o.transform or {}).get("steps") or []),
    )


def output_with_flags(session: Session, o: Output) -> OutputOut:
    return output_out(o, flags_by_output(session, [o.id]).get(o.id))


def list_outputs(
    session: Session,
    job_id: str,
    *,
    cursor: str | None = None,
    limit: int = 100,
    batch_id: str | None = None,
    status: Sequence[str] | None = None,
    source: str | None = None,
    review: Sequence[str] | None = None,
    flag: Sequence[str] | None = None,
) -> OutputPage:
    """Outputs in job order, keyset-paginated on (position, id): stable while the job runs.
    `flag` keeps outputs with any of these flags ("any": with any flag at all)."""
    _check_limit(limit)
    if session.scalar(select(Job.id).where(Job.id == job_id)) is None:
        raise NotFound(f"Job {job_id} does not exist.", details={"job_id": job_id})
    query = select(Output).where(Output.job_id == job_id)
    if batch_id:
        query = query.where(Output.batch_id == batch_id)
    if status:
        unknown = sorted(set(status) - {s.value for s in OutputStatus})
        if unknown:
            raise ValidationFailed(
                f"Unknown output status {', '.join(unknown)}; "
                f"use one of {', '.join(s.value for s in OutputStatus)}."
            )
        query = query.where(Output.status.in_(list(status)))
    if source:
        query = query.where(or_(Output.source_path == source, Output.source_asset_id == source))
    if review:
        query = query.where(Output.review.in_(list(review)))
    if flag:
        flagged = select(OutputFlag.output_id).where(OutputFlag.job_id == job_id)
        named = [f for f in flag if f != "any"]
        if len(named) == len(flag):
            flagged = flagged.where(OutputFlag.flag.in_(named))
        query = query.where(Output.id.in_(flagged))
    if cursor:
        raw_pos, last_id = _decode_cursor(cursor, 2)
        try:
            pos = int(raw_pos)
        except ValueError as exc:
            raise ValidationFailed("The cursor is not valid; start again without one.") from exc
        if not 0 <= pos <= MAX_OFFSET:  # a forged position would overflow the DB integer
            raise ValidationFailed(
                "The cursor is not valid; start again without one.", details={"cursor": cursor}
            )
        query = query.where(
            or_(Output.position > pos, and_(Output.position == pos, Output.id > last_id))
        )
    rows = session.scalars(query.order_by(Output.position, Output.id).limit(limit + 1)).all()
    flags = flags_by_output(session, [o.id for o in rows[:limit]])
    items = [output_out(o, flags.get(o.id)) for o in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = _encode_cursor(last.position, last.id)
    return OutputPage(items=items, next_cursor=next_cursor)


def get_output(session: Session, output_id: str) -> Output:
    output = session.get(Output, output_id)
    if output is None:
        raise NotFound(f"Output {output_id} does not exist.", details={"output_id": output_id})
    return output


# ---- datasets --------------------------------------------------------------------------


def list_datasets(session: Session, *, limit: int = 100, offset: int = 0) -> DatasetList:
    """Newest first, with item counts from one GROUP BY."""
    _check_limit(limit)
    _check_offset(offset)
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
    _check_limit(limit)
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
        (last_path,) = _decode_cursor(cursor, 1)
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
    next_cursor = _encode_cursor(rows[limit - 1][0].rel_path) if len(rows) > limit else None
    return DatasetItemPage(items=items, next_cursor=next_cursor)
