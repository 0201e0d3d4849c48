"""The queue and workers behind the fake RunPod API (`runpod_server.py`).

One endpoint: a FIFO queue, `workers` workers that each run up to `jobs_per_worker`
jobs at once on an asyncio loop in a daemon thread, and RunPod's job life cycle
(IN_QUEUE -> IN_PROGRESS -> COMPLETED / FAILED / CANCELLED / TIMED_OUT), execution
timeout, ttl, result retention and completion webhooks. Jobs run the real worker
handler (`worker/handler.py`) through the RunPod SDK's own `run_job`, so outputs and
error strings have exactly the shape a deployed worker reports.

Public methods are thread-safe (HTTP handler threads call them). Test infrastructure only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx

from tests.fakes.runpod_faults import FaultScript, JobFault
from tests.fakes.runpod_jobs import TERMINAL, FakeJob, Handler, Webhook, load_worker_handler

log = logging.getLogger("fake_runpod")


@dataclass
class _Worker:
    id: str
    running: set[str] = field(default_factory=set)


class FakeRunPodCloud:
    """The endpoint's queue, workers and job store."""

    def __init__(
        self,
        *,
        handler: Handler | None = None,
        workers: int = 2,
        jobs_per_worker: int = 4,
        result_ttl: float = 30 * 60.0,
        default_execution_timeout: float = 600.0,
        pickup_delay: float = 0.0,
        max_output_bytes: int = 20 * 1024 * 1024,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 10.0,
        script: FaultScript | None = None,
    ) -> None:
        self._handler_module: ModuleType | None = None
        if handler is None:
            self._handler_module = load_worker_handler()
            handler = self._handler_module.handler
        self.handler: Handler = handler
        self.workers = [
            _Worker(f"fake-worker-{i + 1}-{uuid.uuid4().hex[:6]}") for i in range(workers)
        ]
        self.jobs_per_worker = jobs_per_worker
        self.result_ttl = result_ttl
        self.default_execution_timeout = default_execution_timeout
        self.pickup_delay = pickup_delay
        self.max_output_bytes = max_output_bytes
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self.script = script or FaultScript()
        self.paused = False
        self.counters: Counter[str] = Counter()
        """runs_received, handler_invocations, completed, failed (+ TIMED_OUT), retried,
        outputs_dropped, max_concurrent_jobs."""
        self.webhooks: list[Webhook] = []
        self._jobs: dict[str, FakeJob] = {}
        self._queue: deque[str] = deque()
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._wake: asyncio.Event | None = None

    # ---------------------------------------------------------- lifecycle ----

    def start(self) -> None:
        from runpod.serverless.modules.rp_logger import RunPodLogger

        RunPodLogger().level = "WARN"  # the SDK prints every output at DEBUG otherwise
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._wake = asyncio.Event()
            self._loop.create_task(self._dispatch(), name="fake-runpod-dispatch")
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-runpod-cloud", daemon=True)
        self._thread.start()
        ready.wait(5)

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            future.result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()

    async def _shutdown(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        providers = getattr(self._handler_module, "PROVIDERS", None)
        if providers is not None:
            await providers.aclose()
        await asyncio.get_running_loop().shutdown_default_executor()

    def _kick(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    # --------------------------------------------------------- operations ----

    def submit(self, body: dict[str, Any], *, retention: float | None = None) -> FakeJob:
        """A new queued job from a /run or /runsync body (already validated)."""
        policy = body.get("policy") or {}
        timeout_ms = policy.get("executionTimeout")
        ttl_ms = policy.get("ttl")
        prefix = "sync-" if retention is not None else ""
        job = FakeJob(
            id=f"{prefix}{uuid.uuid4()}-u1",
            input=body["input"],
            webhook=body.get("webhook"),
            execution_timeout=timeout_ms / 1000 if timeout_ms else self.default_execution_timeout,
            ttl=ttl_ms / 1000 if ttl_ms else None,
            retention=self.result_ttl if retention is None else retention,
        )
        with self._lock:
            self._jobs[job.id] = job
            self._queue.append(job.id)
            self.counters["runs_received"] += 1
        self._kick()
        return job

    def get(self, job_id: str) -> FakeJob | None:
        with self._lock:
            self._sweep()
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> FakeJob | None:
        with self._lock:
            self._sweep()
            job = self._jobs.get(job_id)
            if job is None or job.status in TERMINAL:
                return job
            if job.status == "IN_QUEUE":
                self._queue.remove(job_id)
            self._finish(job, "CANCELLED")
            self._cancel_task(job)
            return job

    def retry(self, job_id: str) -> tuple[FakeJob | None, bool]:
        """FAILED / TIMED_OUT back to IN_QUEUE (same id, same input); others unchanged."""
        with self._lock:
            self._sweep()
            job = self._jobs.get(job_id)
            if job is None or job.status not in ("FAILED", "TIMED_OUT"):
                return job, False
            job.status, job.queued, job.done = "IN_QUEUE", time.monotonic(), threading.Event()
            job.started = job.finished = job.worker_id = job.error = job.output = None
            job.has_output = False
            self._queue.append(job_id)
            self.counters["retried"] += 1
        self._kick()
        return job, True

    def purge_queue(self) -> int:
        with self._lock:
            self._sweep()
            removed = len(self._queue)
            for job_id in self._queue:
                self._jobs.pop(job_id, None)
            self._queue.clear()
            return removed

    def health(self) -> dict[str, Any]:
        with self._lock:
            self._sweep()
            busy = sum(1 for w in self.workers if w.running)
            idle = len(self.workers) - busy
            in_progress = sum(1 for j in self._jobs.values() if j.status == "IN_PROGRESS")
            return {
                "jobs": {
                    "completed": self.counters["completed"],
                    "failed": self.counters["failed"],
                    "inProgress": in_progress,
                    "inQueue": len(self._queue),
                    "retried": self.counters["retried"],
                },
                "workers": {
                    "idle": idle,
                    "initializing": 0,
                    "ready": idle,
                    "running": busy,
                    "throttled": 0,
                    "unhealthy": 0,
                },
            }

    def jobs(self) -> list[FakeJob]:
        with self._lock:
            self._sweep()
            return list(self._jobs.values())

    # ---------------------------------------------------------- internals ----

    def _sweep(self) -> None:
        """Drop expired results, and jobs past their ttl (running or not)."""
        now = time.monotonic()
        for job in list(self._jobs.values()):
            expired_result = job.status in TERMINAL and now - (job.finished or now) > job.retention
            expired_ttl = (
                job.status not in TERMINAL and job.ttl is not None and now - job.created > job.ttl
            )
            if expired_result or expired_ttl:
                del self._jobs[job.id]
                if job.id in self._queue:
                    self._queue.remove(job.id)
                self._cancel_task(job)
                self._release(job)
                job.done.set()

    def _cancel_task(self, job: FakeJob) -> None:
        task, loop = job.task, self._loop
        if task is not None and loop is not None:
            loop.call_soon_threadsafe(task.cancel)

    def _release(self, job: FakeJob) -> None:
        for worker in self.workers:
            worker.running.discard(job.id)

    def _finish(self, job: FakeJob, status: str) -> None:
        job.status, job.finished = status, time.monotonic()
        if status == "COMPLETED":
            self.counters["completed"] += 1
        elif status in ("FAILED", "TIMED_OUT"):
            self.counters["failed"] += 1
        self._release(job)
        job.done.set()
        self._kick()

    async def _dispatch(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.05)
            self._wake.clear()
            with self._lock:
                self._sweep()
                self._assign()

    def _assign(self) -> None:
        now = time.monotonic()
        while self._queue and not self.paused:
            job = self._jobs[self._queue[0]]
            if now - job.queued < self.pickup_delay:
                return
            free = [w for w in self.workers if len(w.running) < self.jobs_per_worker]
            if not free:
                return
            worker = min(free, key=lambda w: len(w.running))
            self._queue.popleft()
            worker.running.add(job.id)
            job.status, job.started, job.worker_id = "IN_PROGRESS", now, worker.id
            job.runs += 1
            running = sum(len(w.running) for w in self.workers)
            self.counters["max_concurrent_jobs"] = max(
                self.counters["max_concurrent_jobs"], running
            )
            task_id = job.input.get("task_id") if isinstance(job.input, dict) else None
            fault = self.script.take_job(task_id if isinstance(task_id, str) else None)
            job.task = asyncio.get_running_loop().create_task(self._execute(job, fault))

    async def _execute(self, job: FakeJob, fault: JobFault | None) -> None:
        try:
            async with asyncio.timeout(job.execution_timeout):
                status, result = await self._run(job, fault)
        except TimeoutError:
            status, result = "TIMED_OUT", {}
        except asyncio.CancelledError:
            return  # cancelled, or deleted by ttl: the state is already set
        with self._lock:
            if self._jobs.get(job.id) is not job or job.status != "IN_PROGRESS":
                return
            if status == "LOST":
                del self._jobs[job.id]
                self._release(job)
                job.done.set()
                return
            self._store(job, result)
            self._finish(job, status)
            body = job.status_body()
        if job.webhook and status != "CANCELLED":
            await self._send_webhook(job.webhook, body)

    async def _run(self, job: FakeJob, fault: JobFault | None) -> tuple[str, dict[str, Any]]:
        """(final status, the SDK's run_job result) for one pick-up."""
        from runpod.serverless.modules.rp_job import run_job

        handler = self.handler
        if fault is not None:
            if fault.kind == "timed_out":
                return "TIMED_OUT", {}
            if fault.kind == "lost":
                return "LOST", {}
            if fault.kind == "hang":
                await asyncio.Event().wait()
            if fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            if fault.kind == "returns":
                return "COMPLETED", {"output": fault.output}
            if fault.kind == "fail":
                handler = _raising(fault.message)
        with self._lock:
            self.counters["handler_invocations"] += 1
        result: dict[str, Any] = await run_job(handler, {"id": job.id, "input": job.input})
        if fault is not None and fault.kind == "no_output":
            result.pop("output", None)
        return ("FAILED" if "error" in result else "COMPLETED"), result

    def _store(self, job: FakeJob, result: dict[str, Any]) -> None:
        if "error" in result:
            job.error = str(result["error"])
        if "output" not in result:
            return
        try:
            size = len(json.dumps(result["output"]))
        except (TypeError, ValueError) as exc:
            job.error = f"output is not JSON serialisable: {exc}"
            return
        if (
            size > self.max_output_bytes
        ):  # RunPod drops it: COMPLETED, no output (runpod-python #309)
            log.warning("job %s: output of %d bytes dropped", job.id, size)
            self.counters["outputs_dropped"] += 1
            return
        job.output, job.has_output = result["output"], True

    async def _send_webhook(self, url: str, body: dict[str, Any]) -> None:
        """Best effort, like RunPod: up to `webhook_attempts` POSTs until one gets a 2xx."""
        attempts, delivered = 0, False
        async with httpx.AsyncClient(timeout=10.0) as client:
            while attempts < self.webhook_attempts and not delivered:
                if attempts:
                    await asyncio.sleep(self.webhook_retry_delay)
                attempts += 1
                try:
                    resp = await client.post(url, json=body)
                    delivered = resp.is_success
                except httpx.HTTPError as exc:
                    log.info("webhook %s failed: %r", url, exc)
        with self._lock:
            self.webhooks.append(Webhook(url, body, attempts, delivered))


def _raising(message: str) -> Handler:
    async def handler(job: dict[str, Any]) -> Any:
        raise RuntimeError(message)

    return handler
