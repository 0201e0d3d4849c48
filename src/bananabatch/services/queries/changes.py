"""`since` polls: the outputs of a job changed after a changes cursor, in change order.

Fifty browsers on one running job each hold their own cursor, so their answers differ
and were each read and built from the database, 6 to 14 ms apiece. Here the rows after a
cursor's *bucket* (its change number rounded down to `BUCKET`) are read and built once
per state of the job (its last change number) and every poller whose cursor falls in
that bucket is answered from them, each with exactly the outputs changed after its own
cursor: the answer is the same as reading it alone. Each row carries its JSON
(`output_json`), so an answer is the rows' bytes joined, and one whose rows are
already read is made on the event loop without a thread (`cached_changes_json`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bananabatch.db.models import Output
from bananabatch.errors import ValidationFailed
from bananabatch.services.queries.output_json import outputs_json, page_json
from bananabatch.services.queries.paging import decode_cursor, encode_cursor
from bananabatch.services.queries.poll_state import last_change_seq
from bananabatch.services.queries.views import (
    MAX_OFFSET,
)

CHANGES = "changes"
BUCKET = 256
"""Change numbers per shared read: pollers whose cursors are this close share it."""
MAX_SHARED_ROWS = 600
"""A bucket with more changed rows than this is not kept (each poller reads its own)."""
MAX_JOBS = 16


@dataclass(frozen=True)
class _Row:
    change_seq: int
    id: str
    json: bytes


@dataclass(frozen=True)
class _Changes:
    """One `since` answer: its rows and where the next poll starts."""

    rows: list[_Row]
    cursor: str
    more: bool

    def json(self) -> bytes:
        return page_json([r.json for r in self.rows], None, self.cursor, self.more)


def decode_since(since: str) -> tuple[int, str]:
    kind, raw_seq, last_id = decode_cursor(since, 3)
    try:
        seq = int(raw_seq)
    except ValueError:
        seq = -1
    if kind != CHANGES or not 0 <= seq <= MAX_OFFSET:
        raise ValidationFailed(
            "`since` is not a changes cursor; pass a page's `changes_cursor`.",
            details={"since": since},
        )
    return seq, last_id


def changes_cursor(seq: int, last_id: str = "") -> str:
    return encode_cursor(CHANGES, seq, last_id)


class _SharedReads:
    """Per job, the rows after each bucket as of one last change number (older states
    are dropped the moment a newer one is read); a lock per job so that pollers arriving
    together wait for one read instead of each doing it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, tuple[int, dict[int, list[_Row] | None], threading.Lock]]
        self._jobs = OrderedDict()

    def _job(
        self, job_id: str, high_water: int
    ) -> tuple[dict[int, list[_Row] | None], threading.Lock]:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or entry[0] < high_water:
                lock = entry[2] if entry is not None else threading.Lock()
                entry = (high_water, {}, lock)
                self._jobs[job_id] = entry
            self._jobs.move_to_end(job_id)
            while len(self._jobs) > MAX_JOBS:
                self._jobs.popitem(last=False)
            return entry[1], entry[2]

    def peek(self, job_id: str, high_water: int, bucket: int) -> list[_Row] | None:
        """The bucket's rows if they are read already for this state (no I/O, no wait)."""
        with self._lock:
            entry = self._jobs.get(job_id)
        if entry is None or entry[0] < high_water:
            return None
        return entry[1].get(bucket)

    def rows(
        self, session: Session, job_id: str, high_water: int, bucket: int
    ) -> list[_Row] | None:
        """The rows changed after `bucket` (None when there are too many to share)."""
        buckets, lock = self._job(job_id, high_water)
        with lock:
            if bucket not in buckets:
                buckets[bucket] = _read(session, job_id, bucket)
            return buckets[bucket]


def _read(session: Session, job_id: str, after: int) -> list[_Row] | None:
    keys = session.execute(
        select(Output.id, Output.change_seq)
        .where(Output.job_id == job_id, Output.change_seq > after)
        .order_by(Output.change_seq, Output.id)
        .limit(MAX_SHARED_ROWS + 1)
    ).all()
    if len(keys) > MAX_SHARED_ROWS:
        return None
    return _rows(session, [(i, seq) for i, seq in keys])


def _rows(session: Session, keys: list[tuple[str, int]]) -> list[_Row]:
    """Rows for (id, change number) keys; one deleted meanwhile is left out."""
    bodies = outputs_json(session, keys)
    return [_Row(seq, i, bodies[i]) for i, seq in keys if i in bodies]


_shared = _SharedReads()


def changed_outputs_json(
    session: Session, job_id: str, since: str, limit: int, high_water: int | None = None
) -> bytes:
    """The outputs changed after the cursor, in change order, as an `OutputPage`'s JSON:
    (change_seq, id) keyset, so an answer cut at `limit` resumes exactly where it
    stopped. `high_water`: the job's last change number if the caller read it already
    (before any of the rows)."""
    return _changed(session, job_id, since, limit, high_water).json()


def cached_changes_json(job_id: str, since: str, limit: int, high_water: int) -> bytes | None:
    """The answer from rows already read for this state of the job, else None (read
    them with `changed_outputs_json`, in a thread). Raises `ValidationFailed` for a
    cursor that is not a changes cursor."""
    seq, last_id = decode_since(since)
    shared = _shared.peek(job_id, high_water, seq - seq % BUCKET)
    if shared is None:
        return None
    return _pick(shared, seq, last_id, limit, high_water).json()


def _changed(
    session: Session, job_id: str, since: str, limit: int, high_water: int | None = None
) -> _Changes:
    seq, last_id = decode_since(since)
    if high_water is None:
        high_water = last_change_seq(session, job_id)  # before the rows, as for pages
    shared = _shared.rows(session, job_id, high_water, seq - seq % BUCKET)
    if shared is None:
        own = _read_after(session, job_id, seq, last_id, limit)
        return _pick(own, seq, last_id, limit, high_water)
    return _pick(shared, seq, last_id, limit, high_water)


def _pick(rows: list[_Row], seq: int, last_id: str, limit: int, high_water: int) -> _Changes:
    """The rows after (seq, last_id), at most `limit`, and the cursor that follows them."""
    after = [r for r in rows if _after(r, seq, last_id)]
    page = after[:limit]
    if len(after) > limit:
        last = page[-1]
        return _Changes(page, changes_cursor(last.change_seq, last.id), more=True)
    # Rows numbered above the high-water mark committed before the rows were read, and
    # SQLite numbers them in commit order: nothing at or below the top one is unseen.
    top = max([high_water, seq, *(r.change_seq for r in page)])
    return _Changes(page, changes_cursor(top), more=False)


def _after(row: _Row, seq: int, last_id: str) -> bool:
    """The keyset test of `_read_after`: a cursor without an id ends at its number."""
    return row.change_seq > seq or (bool(last_id) and row.change_seq == seq and row.id > last_id)


def _read_after(session: Session, job_id: str, seq: int, last_id: str, limit: int) -> list[_Row]:
    after = Output.change_seq > seq
    if last_id:
        after = or_(after, and_(Output.change_seq == seq, Output.id > last_id))
    keys = session.execute(
        select(Output.id, Output.change_seq)
        .where(Output.job_id == job_id, after)
        .order_by(Output.change_seq, Output.id)
        .limit(limit + 1)
    ).all()
    return _rows(session, [(i, seq) for i, seq in keys])
