"""`serve` runs the jobs (the orchestrator, the local executor, webhook deliveries) in a
child process of its own, so the API never waits for the GIL behind them: settling a
round of results is Python work on a thread, and in one process it took the p95 of a
poll from milliseconds to over half a second while a job ran.

The two processes share only the data dir and the database, as a CLI run and a server
always could. The API wakes the child with SIGUSR1 when there is new work; the child
dies with its parent (a killed server leaves no orphan holding the orchestrator lock),
stops gracefully on SIGTERM, and is started again if it stops on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import signal
import sys
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from bananabatch.config import Settings
from bananabatch.db.models import Task, TaskStatus
from bananabatch.errors import ServiceUnavailable
from bananabatch.orchestrator.lock import OrchestratorLock

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event

    from bananabatch.runtime import Runtime

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 120.0
HEALTH_EVERY_SECONDS = 2.0
HEALTH_STALE_SECONDS = 15.0
RESTART_DELAY_SECONDS = 2.0
_PR_SET_PDEATHSIG = 1
JOBS_NICENESS = 5
"""How much lower than the API the jobs process runs (Unix nice increment)."""


def lock_for(settings: Settings) -> OrchestratorLock:
    return OrchestratorLock(settings.data_dir / "orchestrator.lock")


class JobsProcess:
    """The parent's handle on the child that runs the jobs."""

    def __init__(self, settings: Settings, tmp_cutoff: float) -> None:
        self.settings = settings
        self.tmp_cutoff = tmp_cutoff
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._stopping = False
        self._watcher: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    async def start(self) -> None:
        """Start the child and wait until it runs jobs; raises if it cannot (the data dir
        is in use by another process, bad settings), as the server would itself."""
        lock = lock_for(self.settings)
        lock.acquire()  # the same clear Conflict as in one process, before any child
        lock.release()
        await self._spawn()
        self._watcher = asyncio.create_task(self._watch(), name="jobs-process-watch")

    async def _spawn(self) -> None:
        ready = self._context.Event()
        process = self._context.Process(
            target=run_child,
            args=(self.settings, self.tmp_cutoff, os.getpid(), ready),
            name="bananabatch-jobs",
        )
        process.start()
        self._process = process
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not await asyncio.to_thread(ready.wait, 0.2):
            if not process.is_alive() or time.monotonic() > deadline:
                process.kill()
                raise ServiceUnavailable(
                    "The jobs process did not start (exit code "
                    f"{process.exitcode}); see the log above."
                )
        log.info("jobs run in process %s", process.pid)

    async def _watch(self) -> None:
        while not self._stopping:
            process = self._process
            if process is None:
                return
            await asyncio.to_thread(process.join)
            if self._stopping:
                return
            log.error(
                "the jobs process stopped (exit code %s); starting it again", process.exitcode
            )
            await asyncio.sleep(RESTART_DELAY_SECONDS)
            try:
                await self._spawn()
            except ServiceUnavailable as exc:
                log.error("%s", exc.message)

    def wake(self) -> None:
        """New work: the child runs a round now instead of at its next poll."""
        pid = self.pid
        if pid is not None and self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)

    async def stop(self) -> None:
        """SIGTERM, and the shutdown grace for work in flight to be stored."""
        self._stopping = True
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            grace = self.settings.shutdown_grace_seconds + 15.0
            await asyncio.to_thread(process.join, grace)
            if process.is_alive():
                log.warning("the jobs process did not stop in %.0fs; killing it", grace)
                process.kill()
                await asyncio.to_thread(process.join, 5.0)
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def health(self, runtime: Runtime) -> dict[str, object]:
        """The orchestrator's own health, as the child last published it (every
        `HEALTH_EVERY_SECONDS`); the tasks in flight from the database when it has not."""
        alive = self.alive
        report = await asyncio.to_thread(_read_report, health_path(self.settings))
        if report is not None and alive and time.time() - report[0] <= HEALTH_STALE_SECONDS:
            return report[1]

        def in_flight() -> int:
            with runtime.session_factory() as session:
                count = session.scalar(
                    select(func.count()).where(Task.status == TaskStatus.dispatched)
                )
            return int(count or 0)

        error = "not running" if not alive else "has not reported its state lately"
        return {
            "running": alive,
            "in_flight": await asyncio.to_thread(in_flight),
            "limiter": None,
            "executor": {"kind": runtime.executor.name, "ok": False, "process": self.pid},
            "error": f"the jobs process {error}",
        }


def health_path(settings: Settings) -> Path:
    return settings.data_dir / "jobs-health.json"


def _read_report(path: Path) -> tuple[float, dict[str, object]] | None:
    try:
        raw = json.loads(path.read_text())
        return float(raw["at"]), dict(raw["health"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_report(path: Path, health: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"at": time.time(), "health": health}, default=str))
    os.replace(tmp, path)


# ---- the child ----------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """A killed server must not leave its jobs process running (and holding the lock)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def run_child(settings: Settings, tmp_cutoff: float, parent: int, ready: Event) -> None:
    _die_with_parent(parent)
    # The API answers people and pollers; the jobs (and the worker processes they fork,
    # lower still) take the cores it leaves. Remote work barely needs them.
    with contextlib.suppress(OSError):
        os.nice(JOBS_NICENESS)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s [jobs] %(name)s: %(message)s",
    )
    asyncio.run(_serve_jobs(settings, tmp_cutoff, parent, ready))


async def _serve_jobs(settings: Settings, tmp_cutoff: float, parent: int, ready: Any) -> None:
    from bananabatch.runtime import build_runtime

    runtime = build_runtime(settings)
    runtime.built_at = tmp_cutoff  # temp files the API made since it started are in use
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, runtime.orchestrator.wake)
    await runtime.start()
    path = health_path(settings)
    await _publish(runtime, path)
    ready.set()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=HEALTH_EVERY_SECONDS)
            if os.getppid() != parent:  # without prctl (not Linux)
                log.error("the server process is gone; stopping")
                break
            await _publish(runtime, path)
    finally:
        await runtime.stop()
        with contextlib.suppress(OSError):
            path.unlink()


async def _publish(runtime: Runtime, path: Path) -> None:
    """The orchestrator's health where the API's process reads it."""
    try:
        health = await runtime.orchestrator.health()
        executor = health.get("executor")
        details = {**(executor if isinstance(executor, dict) else {}), "process": os.getpid()}
        await asyncio.to_thread(_write_report, path, {**health, "executor": details})
    except Exception:  # a health report must never stop the jobs
        log.exception("could not publish the jobs process's health")
