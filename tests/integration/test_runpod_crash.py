"""A server killed with SIGKILL while RunPod workers hold its tasks re-buys nothing a
worker delivered: after the restart the recorded handles are polled again, the
results RunPod kept are collected, and every output is generated exactly once
(counted on the fake Gemini server the workers call)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from bananabatch.db.models import Job, JobStatus, Output, OutputStatus, Task, TaskStatus
from bananabatch.storage.local import LocalStorage
from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.runpod_server import FakeRunPodServer
from tests.imagegen import make_dataset
from tests.procs import db_count, die_with_parent, isolated_env

pytestmark = pytest.mark.slow


def _server_env(data_dir: Path, fake: FakeRunPodServer) -> dict[str, str]:
    """The orchestrator's side: RunPod only, no Gemini key (the workers hold it)."""
    env = isolated_env(
        BANANABATCH_DATA_DIR=str(data_dir),
        RUNPOD_API_KEY=fake.api_key,
        RUNPOD_ENDPOINT_ID=fake.endpoint_id,
        BANANABATCH_RUNPOD_API_URL=fake.api_url,
        BANANABATCH_RUNPOD_FIRST_POLL_SECONDS="0.1",
        BANANABATCH_CONCURRENCY="6",
    )
    return env


def test_sigkill_of_the_server_rebuys_nothing_a_worker_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dataset(tmp_path / "ds", {"cat": 14, "dog": 10})
    data_dir = tmp_path / "data"
    db_url = f"sqlite:///{data_dir / 'bananabatch.db'}"
    cli = [sys.executable, "-m", "bananabatch.cli"]
    with FakeGeminiServer(default_retry_delay="0.2s") as gemini:
        # the workers' environment: the fake cloud loads worker/handler.py with it
        monkeypatch.setenv("GEMINI_API_KEY", "worker-key")
        monkeypatch.setenv("BANANABATCH_GEMINI_BASE_URL", gemini.base_url)
        with FakeRunPodServer(workers=2, jobs_per_worker=2) as fake:
            env = _server_env(data_dir, fake)
            proc = subprocess.Popen(
                [
                    *cli,
                    "run",
                    "automatic",
                    str(tmp_path / "ds"),
                    "--prompt",
                    "[[slow:0.3]] {winter|summer}",
                    "--variations",
                    "3",
                    "--model",
                    "gemini-2.5-flash-image",
                    "--seed",
                    "5",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
            deadline = time.monotonic() + 120
            done_sql = "select count(*) from outputs where status='succeeded'"
            while db_count(db_url, done_sql) < 12 and proc.poll() is None:
                assert time.monotonic() < deadline, "the job made no progress"
                time.sleep(0.05)
            assert proc.poll() is None, "the job finished before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

            engine = create_engine(db_url)
            with engine.connect() as conn:
                job_id = conn.execute(select(Job.id)).scalar_one()
                out_with_runpod = conn.execute(
                    select(Task.id).where(
                        Task.status == TaskStatus.dispatched, Task.handle.is_not(None)
                    )
                ).all()
                # a task between `/run` and recording its handle is the one window left
                unrecorded = {
                    r[0]
                    for r in conn.execute(
                        select(Output.id)
                        .join(Task, Task.id == Output.task_id)
                        .where(Task.status == TaskStatus.dispatched, Task.handle.is_(None))
                    )
                }
            assert out_with_runpod, "no task was at RunPod when the server died"
            time.sleep(1.0)  # RunPod's workers go on while the server is down

            resumed = subprocess.run(
                [*cli, "jobs", "resume", job_id],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                stdin=subprocess.DEVNULL,
            )
            assert resumed.returncode == 0, resumed.stderr

        with engine.connect() as conn:
            outputs = conn.execute(
                select(Output.id, Output.status, Output.storage_key, Output.prompt, Output.seed)
            ).all()
            status = conn.execute(select(Job.status)).scalar_one()
        engine.dispose()
        assert status == JobStatus.completed
        assert len(outputs) == 72 and all(o.status == OutputStatus.succeeded for o in outputs)
        store = LocalStorage(data_dir / "store")
        stored = sorted(k for k in store.iter_keys(f"outputs/{job_id}") if "/thumbs/" not in k)
        assert stored == sorted(o.storage_key for o in outputs)

        calls = Counter((r.prompt, r.seed) for r in gemini.requests)
        for o in outputs:
            allowed = 2 if o.id in unrecorded else 1
            assert 1 <= calls[(o.prompt, o.seed)] <= allowed, (o.id, calls[(o.prompt, o.seed)])
