"""Durable records of Gemini batches (`gemini_batches`, `gemini_batch_lines`).

A batch is written, with its lines, before anything is sent to Google, and its
remote name right after `batches.create`; a slot goes into a new batch only when
the batch holding it ended without results. Synchronous: the executor calls these
through `asyncio.to_thread`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.db.models import GeminiBatch, GeminiBatchLine, utcnow
from bananabatch.executors.gemini_batch_lines import display_name, line_key

DEAD_STATES = frozenset({"expired", "failed", "cancelled", "lost"})
"""Batches whose lines may be sent again (they ended without results)."""
WAITING_STATES = frozenset({"creating", "pending", "running"})


@dataclass(frozen=True)
class LineRef:
    key: str
    output_id: str
    task_id: str
    batch_id: str


@dataclass(frozen=True)
class BatchView:
    id: str
    display_name: str
    job_id: str
    model: str
    state: str
    remote_name: str | None
    result_file: str | None
    download_attempts: int
    submitted_at: datetime | None
    next_check_at: datetime


def _view(b: GeminiBatch) -> BatchView:
    return BatchView(
        b.id,
        b.display_name,
        b.job_id,
        b.model,
        b.state,
        b.remote_name,
        b.result_file,
        b.download_attempts,
        b.submitted_at,
        b.next_check_at,
    )


class BatchRecords:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sf = session_factory

    def live_lines(self, output_ids: Iterable[str]) -> dict[str, LineRef]:
        """output id -> its line in a batch that has not ended without results."""
        ids = list(output_ids)
        found: dict[str, LineRef] = {}
        with self._sf() as s:
            for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
                rows = s.execute(
                    select(GeminiBatchLine, GeminiBatch.state)
                    .join(GeminiBatch, GeminiBatch.id == GeminiBatchLine.batch_id)
                    .where(GeminiBatchLine.output_id.in_(chunk))
                    .where(GeminiBatch.state.not_in(DEAD_STATES))
                    .where(GeminiBatchLine.done.is_(False))
                )
                for line, _ in rows:
                    found[line.output_id] = LineRef(
                        line.key, line.output_id, line.task_id, line.batch_id
                    )
        return found

    def record(self, job_id: str, model: str, slots: list[tuple[str, str]]) -> BatchView:
        """A new batch for (output id, task id) slots, committed before it is created."""
        with self._sf() as s:
            rounds = dict(
                s.execute(
                    select(GeminiBatchLine.output_id, func.max(GeminiBatchLine.round))
                    .where(GeminiBatchLine.output_id.in_([o for o, _ in slots]))
                    .group_by(GeminiBatchLine.output_id)
                ).all()
            )
            lines = [
                GeminiBatchLine(
                    key=line_key(output_id, int(rounds.get(output_id) or 0) + 1),
                    output_id=output_id,
                    task_id=task_id,
                    round=int(rounds.get(output_id) or 0) + 1,
                )
                for output_id, task_id in slots
            ]
            batch = GeminiBatch(
                display_name=display_name(job_id, [line.key for line in lines]),
                job_id=job_id,
                model=model,
                state="creating",
                lines=len(lines),
            )
            s.add(batch)
            s.flush()
            for line in lines:
                line.batch_id = batch.id
            s.add_all(lines)
            s.commit()
            return _view(batch)

    def mark_done(self, keys: Iterable[str]) -> None:
        done = list(keys)
        if not done:
            return
        with self._sf() as s:
            s.execute(
                update(GeminiBatchLine).where(GeminiBatchLine.key.in_(done)).values(done=True)
            )
            s.commit()

    def lines_of(self, batch_id: str) -> list[LineRef]:
        with self._sf() as s:
            rows = s.scalars(select(GeminiBatchLine).where(GeminiBatchLine.batch_id == batch_id))
            return [LineRef(r.key, r.output_id, r.task_id, r.batch_id) for r in rows]

    def get(self, batch_ids: Iterable[str]) -> list[BatchView]:
        with self._sf() as s:
            rows = s.scalars(select(GeminiBatch).where(GeminiBatch.id.in_(list(batch_ids))))
            return [_view(b) for b in rows]

    def update(self, batch_id: str, **values: object) -> None:
        with self._sf() as s:
            s.execute(update(GeminiBatch).where(GeminiBatch.id == batch_id).values(**values))
            s.commit()

    def created(self, batch_id: str, remote_name: str, state: str, poll: timedelta) -> None:
        now = utcnow()
        self.update(
            batch_id,
            remote_name=remote_name,
            state=state,
            submitted_at=now,
            next_check_at=now + poll,
            error=None,
        )

    def counts(self) -> dict[str, int]:
        with self._sf() as s:
            rows = s.execute(select(GeminiBatch.state, func.count()).group_by(GeminiBatch.state))
            return {str(state): int(n) for state, n in rows}
