"""A job killed with SIGKILL part-way finishes after a restart: every output
exists exactly once, the DB agrees with storage, and nothing that had
succeeded is generated (paid for) again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from bananabatch.db.models import Job, JobStatus, Output, OutputStatus
from bananabatch.storage.local import LocalStorage
from tests.fakes.gemini_server import FakeGeminiServer
from tests.imagegen import make_dataset
from tests.procs import die_with_parent, isolated_env

pytestmark = pytest.mark.slow


def _env(data_dir: Path, base_url: str) -> dict[str, str]:
    env = isolated_env(
        BANANABATCH_DATA_DIR=str(data_dir),
        GEMINI_API_KEY="test-key",
        BANANABATCH_GEMINI_BASE_URL=base_url,
        BANANABATCH_CONCURRENCY="3",
        BANANABATCH_RETRY_BASE_SECONDS="0.05",
    )
    return env


def _succeeded(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("select count(*) from outputs where status='succeeded'")).scalar()
                or 0
            )
    except Exception:
        return 0
    finally:
        engine.dispose()


def test_sigkill_midway_then_resume_finishes_exactly_once(tmp_path: Path) -> None:
    make_dataset(tmp_path / "ds", {"cat": 14, "dog": 10})
    data_dir = tmp_path / "data"
    db_url = f"sqlite:///{data_dir / 'bananabatch.db'}"
    cli = [sys.executable, "-m", "bananabatch.cli"]
    with FakeGeminiServer(default_retry_delay="0.2s") as fake:
        env = _env(data_dir, fake.base_url)
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
        while _succeeded(db_url) < 12 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, "the job finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

        engine = create_engine(db_url)
        with engine.connect() as conn:
            before = {
                r[0]: (r[1], r[2])
                for r in conn.execute(
                    select(Output.id, Output.prompt, Output.seed).where(
                        Output.status == OutputStatus.succeeded
                    )
                )
            }
            job_id = conn.execute(select(Job.id)).scalar_one()
        assert 12 <= len(before) < 72
        calls_before = len(fake.requests)

        done = subprocess.run(
            [*cli, "jobs", "resume", job_id],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr

        with engine.connect() as conn:
            outputs = conn.execute(
                select(Output.id, Output.status, Output.storage_key, Output.prompt, Output.seed)
            ).all()
            status = conn.execute(select(Job.status)).scalar_one()
        engine.dispose()
        assert status == JobStatus.completed
        assert len(outputs) == 72 and all(o.status == OutputStatus.succeeded for o in outputs)

        # storage agrees with the DB: each output exactly once, nothing extra
        store = LocalStorage(data_dir / "store")
        stored = sorted(k for k in store.iter_keys(f"outputs/{job_id}") if "/thumbs/" not in k)
        assert stored == sorted(o.storage_key for o in outputs)

        # nothing that had succeeded before the kill was generated again
        later = Counter((r.prompt, r.seed) for r in fake.requests[calls_before:])
        assert all(later[(p, s)] == 0 for p, s in before.values())
        # and the resumed run made at most one call per remaining output (+ what was in flight at the kill)
        assert sum(later.values()) <= 72 - len(before) + 3 * 4
