"""A CLI run on the Gemini Batch API killed with SIGKILL while a batch is being created,
while it waits at Google and while its results are being downloaded: `jobs resume`
creates no second batch for the same work and re-buys nothing (counted per request key
on the fake Gemini server), and every output is stored exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from bananabatch.db.models import Job, JobStatus, Output, OutputStatus
from bananabatch.storage.local import LocalStorage
from tests.fakes.gemini_server import FakeGeminiServer
from tests.imagegen import make_dataset
from tests.procs import db_count, die_with_parent, isolated_env

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "bananabatch.cli"]


def _env(data_dir: Path, gemini: FakeGeminiServer) -> dict[str, str]:
    env = isolated_env(
        BANANABATCH_DATA_DIR=str(data_dir),
        GEMINI_API_KEY="test-key",
        BANANABATCH_GEMINI_BASE_URL=gemini.base_url,
        BANANABATCH_GEMINI_PREFLIGHT="false",
        BANANABATCH_BATCH_MAX_LINES="8",
        BANANABATCH_BATCH_GATHER_SECONDS="0.3",
        BANANABATCH_BATCH_POLL_SECONDS="0.1",
        BANANABATCH_BATCH_DOWNLOAD_RETRY_SECONDS="0.1",
    )
    return env


def _wait(check: Callable[[], bool], proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 90
    while not check():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"never reached: {what}"
        time.sleep(0.05)


def _arm(gemini: FakeGeminiServer, phase: str) -> None:
    controls = gemini.batch_controls
    if phase == "create":
        controls.create_delay = 30.0  # made at Google; its name never reaches us
    elif phase == "poll":
        controls.hold.add("bananabatch-")
    else:
        controls.download_pace = 0.4


def _disarm(gemini: FakeGeminiServer) -> None:
    controls = gemini.batch_controls
    controls.create_delay = 0.0
    controls.hold.clear()
    controls.download_pace = 0.0


@pytest.mark.parametrize("phase", ["create", "poll", "download"])
def test_sigkill_during_a_batch_rebuys_nothing(tmp_path: Path, phase: str) -> None:
    make_dataset(tmp_path / "ds", {"cat": 5, "dog": 3})
    data_dir = tmp_path / "data"
    db_url = f"sqlite:///{data_dir / 'bananabatch.db'}"
    with FakeGeminiServer() as gemini:
        env = _env(data_dir, gemini)
        _arm(gemini, phase)
        proc = subprocess.Popen(
            [
                *CLI,
                "run",
                "automatic",
                str(tmp_path / "ds"),
                "--prompt",
                "the same {class}, {winter|summer}",
                "--variations",
                "2",
                "--model",
                "gemini-3-pro-image",
                "--batch-api",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        if phase == "create":
            _wait(lambda: sum(gemini.batches.created.values()) >= 1, proc, "a batch was made")
        elif phase == "poll":
            pending = "select count(*) from gemini_batches where state in ('pending','running')"
            _wait(lambda: db_count(db_url, pending) >= 2, proc, "both batches wait at Google")
        else:
            stored = "select count(*) from outputs where status='succeeded'"
            _wait(lambda: db_count(db_url, stored) >= 2, proc, "part of a download was stored")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        _disarm(gemini)
        made_before = dict(gemini.batches.created)

        engine = create_engine(db_url)
        with engine.connect() as conn:
            job_id = conn.execute(select(Job.id)).scalar_one()
        resumed = subprocess.run(
            [*CLI, "jobs", "resume", job_id],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        assert resumed.returncode == 0, resumed.stderr

        with engine.connect() as conn:
            outputs = conn.execute(select(Output.id, Output.status, Output.storage_key)).all()
            status = conn.execute(select(Job.status)).scalar_one()
            names = [r[0] for r in conn.execute(text("select display_name from gemini_batches"))]
        engine.dispose()
        assert status == JobStatus.completed
        assert len(outputs) == 16 and all(o.status == OutputStatus.succeeded for o in outputs)
        # no second batch for the same work: each display name was created once, and the
        # batches made before the kill were adopted, not made again
        assert all(n == 1 for n in gemini.batches.created.values()), gemini.batches.created
        assert set(made_before) <= set(names)
        if phase == "create":  # the batch without a name was looked up before anything
            assert gemini.path_counts.get("GET /v1beta/batches", 0) >= 1
        # nothing re-bought: every output's line was generated exactly once
        assert sorted(k.split(".")[0] for k in gemini.batches.paid_keys) == sorted(
            o.id for o in outputs
        )
        assert set(gemini.batches.paid_keys.values()) == {1}
        store = LocalStorage(data_dir / "store")
        stored = [k for k in store.iter_keys(f"outputs/{job_id}") if "/thumbs/" not in k]
        assert sorted(stored) == sorted(str(o.storage_key) for o in outputs)
