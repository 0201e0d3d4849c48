"""Where the CPU-bound steps of generation run: the classic provider's augmentation and
the finishing measurements decode, transform and encode whole images in Python and
numpy. In the server's own threads they hold the GIL, and the API's event loop waits
behind them (p95 of a poll went from milliseconds to a second while a classic job ran).
`ProcessOffload` runs them in worker processes at a lower priority than the server, so
the API answers first; `in_thread` keeps them in this process (the RunPod worker, which
serves no API, and tests of one provider).

Processes come from a fork server that has imported the generation modules once: a new
worker is a fork of it (milliseconds), never of the server with its threads.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import select
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from bananabatch.providers.base import TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")

PRELOAD = ["bananabatch.providers.classic", "bananabatch.quality.finish"]
NICENESS = 5
"""How much lower than the server the worker processes run (Unix nice increment)."""


class Offload(Protocol):
    def __call__(self, fn: Callable[..., T], /, *args: Any) -> Awaitable[T]: ...


async def in_thread(fn: Callable[..., T], /, *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


def _exit_with(owner: int) -> None:
    """Wait for the process that owns the pool to end, then end too. A pool's workers
    otherwise outlive an owner killed with SIGKILL (they hold both ends of their own
    queues, so they never see it go), and keep the fork server alive with them."""
    try:
        fd = os.pidfd_open(owner)
    except (AttributeError, OSError):
        while True:  # no pidfd (old kernel): ask every second
            time.sleep(1.0)
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                os._exit(0)
    select.select([fd], [], [])
    os._exit(0)


def _start_worker(owner: int) -> None:
    threading.Thread(target=_exit_with, args=(owner,), name="owner-watch", daemon=True).start()
    try:
        os.nice(NICENESS)
    except OSError as exc:  # not allowed here: same priority, still off the GIL
        log.debug("worker process keeps its priority: %s", exc)


def _ready() -> int:
    """A no-op run by each worker when the pool is warmed: proof it has started."""
    return os.getpid()


@dataclass(frozen=True)
class Submitted(Generic[T]):
    """A call sent to a worker process, and the pool that runs it."""

    pool: ProcessPoolExecutor
    future: Future[T]


class ProcessOffload:
    """A lazily started pool of `processes` worker processes (`__call__` is an `Offload`)."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("a process pool needs at least one process")
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        self._pool = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        return self._pool

    async def __call__(self, fn: Callable[..., T], /, *args: Any) -> T:
        call = self.submit(fn, *args)
        try:  # cancelled, a call not yet started is withdrawn
            return await asyncio.wrap_future(call.future)
        except BrokenProcessPool as exc:
            raise self._lost(call.pool) from exc

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Submitted[T]:
        """`fn(*args)` sent to a worker process; its future cannot stop it once it runs,
        so a caller that must outlive a cancellation waits on it (`worker/finishing.py`)."""
        pool = self._pool or self._start()
        try:
            return Submitted(pool, pool.submit(fn, *args))
        except BrokenProcessPool as exc:
            raise self._lost(pool) from exc

    def outcome(self, call: Submitted[T]) -> T:
        """The result of a finished `submit`, a dead worker process as TransientError."""
        try:
            return call.future.result(timeout=0)
        except BrokenProcessPool as exc:
            raise self._lost(call.pool) from exc

    def _lost(self, pool: ProcessPoolExecutor) -> TransientError:
        # A worker process died (killed, out of memory): start afresh next time; this
        # call is retried like any transient failure.
        if self._pool is pool:
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
        return TransientError(
            "a generation process stopped unexpectedly (out of memory?); "
            "the image is generated again"
        )

    async def warm(self) -> None:
        """Start the fork server and every worker now. Started lazily, they cost the first
        job seconds (the fork server imports the imaging libraries) before its first image
        is finished; the server warms them when it starts."""
        await asyncio.gather(*(self(_ready) for _ in range(self.processes)))

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _main_importable() -> bool:
    """Whether a worker process can import this program's main module, as
    multiprocessing makes it do (a script piped to `python -` cannot)."""
    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", None):
        return True
    path = getattr(main, "__file__", None)
    return path is None or os.path.exists(path)


def offload_for(processes: int) -> Offload:
    """Processes when asked for (and possible), else this process's threads."""
    if processes > 0 and _main_importable():
        return ProcessOffload(processes)
    if processes > 0:
        log.warning("this program cannot start worker processes; CPU work runs in threads")
    return in_thread
