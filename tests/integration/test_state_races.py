"""A user's pause or cancel that lands while the orchestrator is in the middle of a claim
or a settle round is never undone by it.

Each test runs the user's action on another thread at the worst moment: after the
orchestrator has read the job and before it writes. The action must either come
first (and the orchestrator sees it) or wait for the round and apply after it; the
user is never told "paused" or "cancelled" while the job goes on as if they were not.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bananabatch.config import Settings
from bananabatch.contracts import SlotResult, TaskResult
from bananabatch.db.models import Job, JobStatus
from bananabatch.errors import Conflict, NotFound
from bananabatch.orchestrator import settle as settle_module
from bananabatch.orchestrator.claim import Claimer
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import job_actions
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import AutomaticJobCreate
from bananabatch.storage.keys import output_key
from tests.imagegen import make_dataset
from tests.integration.job_helpers import outputs_of, upload_folder


@pytest.fixture
def rt(settings: Settings) -> Runtime:
    return build_runtime(settings.model_copy(update={"outputs_per_task": 1}))


def _new_job(rt: Runtime, tmp_path: Path, images: int = 1) -> str:
    make_dataset(tmp_path / "ds", {"cat": images})
    dataset_id = upload_folder(rt, tmp_path / "ds")
    with rt.session_factory() as s:
        return job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            AutomaticJobCreate(dataset_id=dataset_id, prompt="a {class}", variations=1),
            preflight=rt.preflight,
        ).job.id


class Meanwhile:
    """The user's action on its own thread and session; what it answered, or raised."""

    def __init__(self, rt: Runtime, action: Callable[[Any, str], Job], job_id: str) -> None:
        self.answer: Job | None = None
        self.refused: Conflict | None = None
        self._thread = threading.Thread(target=self._run, args=(rt, action, job_id))

    def _run(self, rt: Runtime, action: Callable[[Any, str], Job], job_id: str) -> None:
        with rt.session_factory() as s:
            try:
                self.answer = action(s, job_id)
            except Conflict as exc:
                self.refused = exc

    def start(self) -> None:
        """Start it and give it time to finish if nothing holds it back."""
        self._thread.start()
        self._thread.join(timeout=0.5)

    def join(self) -> None:
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()


def _status(rt: Runtime, job_id: str) -> JobStatus:
    with rt.session_factory() as s:
        return s.get_one(Job, job_id).status


def test_a_pause_during_the_first_claim_is_not_undone(
    rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _new_job(rt, tmp_path)
    pause = Meanwhile(rt, job_actions.pause_job, job_id)
    take = Claimer._take

    def take_after_a_pause(self: Claimer, *args: Any) -> Any:
        pause.start()  # the claim has read the job as queued
        return take(self, *args)

    monkeypatch.setattr(Claimer, "_take", take_after_a_pause)
    claimed = rt.orchestrator._claimer.claim(4, {}, {})
    pause.join()
    assert len(claimed) == 1
    assert pause.answer is not None and pause.answer.status == JobStatus.paused
    assert _status(rt, job_id) == JobStatus.paused


def _finished(rt: Runtime, job_id: str, task_id: str) -> TaskResult:
    """The task's image, uploaded the way a worker does, and the result that says so."""
    slots = []
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    for output in outputs_of(rt, job_id):
        if output.task_id != task_id:
            continue
        key = output_key(job_id, output.id, "png")
        rt.storage.put_bytes(key, buf.getvalue())
        slots.append(
            SlotResult(
                output_id=output.id,
                status="succeeded",
                storage_key=key,
                mime_type="image/png",
                width=8,
                height=8,
            )
        )
    return TaskResult(task_id=task_id, slots=slots)


def test_a_cancel_during_a_settle_round_is_what_the_user_was_told(
    rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _new_job(rt, tmp_path)
    (claimed,) = rt.orchestrator._claimer.claim(4, {}, {})
    result = _finished(rt, job_id, claimed.task_id)
    cancel = Meanwhile(rt, job_actions.cancel_job, job_id)
    load = settle_module.Settler._load_round

    def load_then_cancel(s: Any, task_ids: list[str]) -> Any:
        loaded = load(s, task_ids)
        cancel.start()  # the round has read the job as running
        return loaded

    monkeypatch.setattr(settle_module.Settler, "_load_round", staticmethod(load_then_cancel))
    rt.orchestrator.settler.apply_result(claimed.task_id, result)
    cancel.join()
    final = _status(rt, job_id)
    if cancel.answer is not None:  # the cancel came first: the round kept to it
        assert cancel.answer.status == JobStatus.cancelled
        assert final == JobStatus.cancelled
    else:  # the round came first: the cancel was refused, the job is complete
        assert cancel.refused is not None and "already completed" in str(cancel.refused)
        assert final == JobStatus.completed


def _revision(rt: Runtime, job_id: str) -> int:
    with rt.session_factory() as s:
        return s.get_one(Job, job_id).revision


def test_a_settle_round_during_a_pause_is_neither_lost_nor_overwritten(
    rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other way round: the user's pause has read the job as running when the round
    that stores its last output arrives. The pause must not write its decision over the
    round's (a finished job left "paused") nor over its revision bump (a poller keeps
    the stale ETag)."""
    job_id = _new_job(rt, tmp_path)
    (claimed,) = rt.orchestrator._claimer.claim(4, {}, {})
    result = _finished(rt, job_id, claimed.task_id)
    before = _revision(rt, job_id)
    settle = threading.Thread(
        target=rt.orchestrator.settler.apply_result, args=(claimed.task_id, result)
    )
    touch = job_actions._touch

    def touch_after_a_round(job: Job) -> None:
        settle.start()  # the pause has read the job as running
        settle.join(timeout=2)  # unlocked, the round commits in milliseconds
        touch(job)

    monkeypatch.setattr(job_actions, "_touch", touch_after_a_round)
    with rt.session_factory() as s:
        paused = job_actions.pause_job(s, job_id)
    settle.join(timeout=30)
    assert not settle.is_alive()
    assert paused.status == JobStatus.paused
    assert _status(rt, job_id) == JobStatus.completed  # its only output is stored
    assert _revision(rt, job_id) == before + 2  # the pause's bump and the round's


def _writer_can_start(rt: Runtime) -> bool:
    """Whether another connection gets SQLite's write lock at once (no busy wait)."""
    db = sqlite3.connect(str(rt.engine.url.database), timeout=0, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(lambda s, job_id: job_actions.retry_failed(s, job_id), id="nothing-to-retry"),
        pytest.param(lambda s, job_id: job_actions.resume_job(s, job_id), id="refused"),
        pytest.param(lambda s, _job_id: job_actions.pause_job(s, "0" * 32), id="unknown-job"),
    ],
)
def test_an_action_that_writes_nothing_releases_the_lock_at_once(
    rt: Runtime, tmp_path: Path, action: Callable[[Any, str], object]
) -> None:
    """The API closes a request's session only after its answer is sent; an action that
    refused or had nothing to do must not keep the orchestrator's rounds waiting until
    then (nor, with the jobs in the server's process, stall its event loop)."""
    job_id = _new_job(rt, tmp_path)
    with rt.session_factory() as s:
        with contextlib.suppress(Conflict, NotFound):
            action(s, job_id)
        assert _writer_can_start(rt)  # the session is still open here
