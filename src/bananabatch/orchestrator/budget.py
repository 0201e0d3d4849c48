"""Budget caps at dispatch: a job's `max_cost` and the global daily cap.

Work is dispatched only while what is spent, plus the worst case of everything in
flight, plus the worst case of the task about to go, stays within every cap. The
worst case of one output is its estimate (image plus input tokens, the way the
ledger prices it), with a small margin for prompts longer than the average. A job
that would pass a cap is held: paused with the reason, so nothing runs past it;
raising the cap (or a new day, for the daily cap) lets it go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bananabatch.catalog import Catalog
from bananabatch.db.models import Job, JobStatus, Output, OutputStatus, SpendEntry, Task, TaskStatus
from bananabatch.db.models import utcnow as db_now

log = logging.getLogger(__name__)

WORST_CASE_MARGIN = 1.02
JOB_CAP_PREFIX = "Budget cap reached"
DAILY_CAP_PREFIX = "Daily budget reached"


@dataclass
class BudgetGuard:
    """One claim round's view of spend: read once, updated as tasks are claimed."""

    catalog: Catalog
    daily_cap: float | None
    spent_today: float = 0.0
    in_flight_total: float = 0.0
    in_flight_by_job: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, s: Session, catalog: Catalog, daily_cap: float | None) -> BudgetGuard:
        guard = cls(catalog=catalog, daily_cap=daily_cap)
        if daily_cap is not None:
            midnight = datetime.combine(db_now().date(), time.min)
            guard.spent_today = float(
                s.scalar(select(func.sum(SpendEntry.cost)).where(SpendEntry.created_at >= midnight))
                or 0.0
            )
        rows = s.execute(
            select(Output.job_id, func.count())
            .join(Task, Task.id == Output.task_id)
            .where(Task.status == TaskStatus.dispatched, Output.status == OutputStatus.pending)
            .group_by(Output.job_id)
        ).all()
        for job_id, n in rows:
            job = s.get(Job, job_id)
            if job is not None:
                worst = n * guard.unit(job)
                guard.in_flight_by_job[job_id] = worst
                guard.in_flight_total += worst
        return guard

    def unit(self, job: Job) -> float:
        """Worst-case USD of one output of `job` in one dispatch."""
        model, _ = self.catalog.resolve(job.model)
        image = model.price_for(job.options.get("image_size"), batch=job.route == "batch")
        average = (job.cost_estimate or 0.0) / max(job.total_outputs or 1, 1)
        return max(image, average) * WORST_CASE_MARGIN

    def hold_reason(self, job: Job, outputs: int) -> str | None:
        """Why sending `outputs` more of `job` now could pass a cap, or None."""
        needed = outputs * self.unit(job)
        if needed <= 0:
            return None
        in_flight = self.in_flight_by_job.get(job.id, 0.0)
        if job.max_cost is not None:
            committed = (job.cost_actual or 0.0) + in_flight
            if committed + needed > job.max_cost + 1e-9:
                return (
                    f"{JOB_CAP_PREFIX}: ${job.cost_actual or 0:.2f} spent"
                    + (f" and up to ${in_flight:.2f} in flight" if in_flight else "")
                    + f" of the job's ${job.max_cost:.2f} cap; the next run could cost "
                    f"${needed:.2f}. Raise max_cost to continue."
                )
        if self.daily_cap is not None:
            committed = self.spent_today + self.in_flight_total
            if committed + needed > self.daily_cap + 1e-9:
                return (
                    f"{DAILY_CAP_PREFIX}: ${self.spent_today:.2f} spent today (UTC)"
                    + (
                        f" and up to ${self.in_flight_total:.2f} in flight"
                        if self.in_flight_total
                        else ""
                    )
                    + f" of BANANABATCH_DAILY_BUDGET_USD ${self.daily_cap:.2f}. It resumes "
                    "tomorrow, or raise the daily cap and resume it."
                )
        return None

    def commit(self, job: Job, outputs: int) -> None:
        worst = outputs * self.unit(job)
        self.in_flight_by_job[job.id] = self.in_flight_by_job.get(job.id, 0.0) + worst
        self.in_flight_total += worst


def hold(job: Job, reason: str) -> None:
    log.info("job %s held: %s", job.id, reason)
    job.status = JobStatus.paused
    job.hold_reason = reason


def release_daily_holds(s: Session) -> int:
    """A new UTC day: jobs held only by yesterday's daily cap go on (the guard will
    hold them again at once if today's cap is already used up)."""
    midnight = datetime.combine(db_now().date(), time.min)
    result = s.execute(
        update(Job)
        .where(
            Job.status == JobStatus.paused,
            Job.hold_reason.startswith(DAILY_CAP_PREFIX),
            Job.updated_at < midnight,
        )
        .values(status=JobStatus.queued, hold_reason=None, revision=Job.revision + 1)
    )
    return int(getattr(result, "rowcount", 0) or 0)
