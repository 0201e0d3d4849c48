"""`serve` runs the jobs in a child process (`jobs_process.py`): the API process only
serves, a new job starts at once (the API wakes the child), a killed server takes its
jobs process and that one's worker processes with it (no orphan keeps the orchestrator
lock or a CPU), and the next server on the same data dir finishes the job."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from PIL import Image

from bananabatch.jobs_process import JOBS_NICENESS
from tests.procs import die_with_parent, isolated_env

API = "/api/v1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(data: Path, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bananabatch.cli", "serve", "--port", str(port)],
        env=isolated_env(BANANABATCH_DATA_DIR=str(data), **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}{API}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "no server"
            time.sleep(0.2)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        kids = _children(todo.pop())
        found |= kids
        todo.extend(kids)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _job(url: str, images: int, variations: int) -> str:
    with httpx.Client(base_url=f"{url}{API}", timeout=60) as c:
        ds = c.post("/datasets", json={"name": "d"}).json()["id"]
        files = []
        for i in range(images):
            buf = io.BytesIO()
            Image.new("RGB", (64, 48), (i * 9 % 255, 80, 120)).save(buf, "PNG")
            files.append(("files", (f"cat/{i:03d}.png", buf.getvalue(), "image/png")))
        c.post(f"/datasets/{ds}/files", files=files).raise_for_status()
        r = c.post(
            "/jobs",
            json={"mode": "automatic", "dataset_id": ds, "prompt": "flip",
                  "variations": variations, "model": "classic"},
        )  # fmt: skip
        r.raise_for_status()
        return str(r.json()["id"])


def _wait(url: str, job: str, *, limit: float) -> dict[str, object]:
    deadline = time.monotonic() + limit
    while True:
        detail: dict[str, object] = httpx.get(f"{url}{API}/jobs/{job}", timeout=10).json()
        if detail["status"] in ("completed", "completed_with_errors", "failed"):
            return detail
        assert time.monotonic() < deadline, f"job still {detail['status']}"
        time.sleep(0.2)


def test_jobs_run_in_a_child_process_and_start_at_once(tmp_path: Path) -> None:
    # A poll every 30 s: the job can only start promptly if the API wakes the child.
    with _serve(tmp_path / "data", BANANABATCH_POLL_INTERVAL_SECONDS="30") as (proc, url):
        health = httpx.get(f"{url}{API}/health").json()["executor"]
        child = health["details"]["process"]
        assert health["orchestrator_running"] and child in _children(proc.pid)
        # the API keeps the cores it needs: the jobs run at a lower priority
        server_nice = os.getpriority(os.PRIO_PROCESS, proc.pid)
        assert os.getpriority(os.PRIO_PROCESS, child) == server_nice + JOBS_NICENESS
        started = time.monotonic()
        job = _job(url, 6, 2)
        detail = _wait(url, job, limit=25)
        assert detail["status"] == "completed" and time.monotonic() - started < 25
        lock = (tmp_path / "data" / "orchestrator.lock").read_text()
        assert lock == f"pid {child}"


def test_a_killed_server_takes_its_jobs_process_and_the_next_one_finishes(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with _serve(data, BANANABATCH_CPU_PROCESSES="1") as (proc, url):
        child = httpx.get(f"{url}{API}/health").json()["executor"]["details"]["process"]
        job = _job(url, 40, 4)
        deadline = time.monotonic() + 20
        while len(family := {child} | _descendants(child)) < 3:  # + fork server, worker
            assert time.monotonic() < deadline, "no worker process started"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while survivors := [pid for pid in family if _alive(pid)]:
            assert time.monotonic() < deadline, f"processes outlived the server: {survivors}"
            time.sleep(0.1)
    with _serve(data) as (_, url):
        detail = _wait(url, job, limit=120)
        assert detail["status"] == "completed"
        assert detail["counts"]["succeeded"] == 160  # type: ignore[index]


def test_a_jobs_process_that_dies_is_started_again(tmp_path: Path) -> None:
    with _serve(tmp_path / "data") as (proc, url):
        first = httpx.get(f"{url}{API}/health").json()["executor"]["details"]["process"]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            executor = httpx.get(f"{url}{API}/health", timeout=10).json()["executor"]
            second = executor["details"].get("process")
            if executor["orchestrator_running"] and second not in (None, first):
                break
            assert time.monotonic() < deadline, f"no new jobs process: {executor}"
            time.sleep(0.3)
        assert proc.poll() is None and second in _children(proc.pid)
        job = _job(url, 4, 1)
        assert _wait(url, job, limit=60)["status"] == "completed"
