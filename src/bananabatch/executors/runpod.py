"""The RunPod Serverless executor: the cloud API over plain HTTP (httpx).

The `runpod` SDK's client drops the error of failed jobs, does not retry, and
cannot pass `policy` or `webhook`, so this speaks the documented REST API itself:
`POST /run`, `GET /status/{id}`, `POST /cancel/{id}`, `GET /health`.

The database stays the system of record: RunPod keeps results 30 minutes and
deletes a job when its `ttl` runs out, so every answer is mapped to a task state
the orchestrator persists at once, and a 404 means "lost: run it again" (outputs
a worker already uploaded are adopted by the orchestrator, not paid for again).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import ValidationError

from bananabatch.contracts import TaskPayload, TaskResult
from bananabatch.domain.payload_budget import RUN_BODY_LIMIT_BYTES
from bananabatch.executors.base import RemoteState, SubmitFailure, TaskStatusReport
from bananabatch.executors.runpod_cadence import TokenBucket, Track, after_answer, after_error
from bananabatch.executors.signing import TransportSigner

log = logging.getLogger(__name__)

SUBMIT_TRIES = 5
SUBMIT_CONCURRENCY = 8
STATUS_RATE_PER_SECOND = 40.0
HEALTH_CACHE_SECONDS = 5.0
_STATES = {
    "IN_QUEUE": RemoteState.queued,
    "IN_PROGRESS": RemoteState.running,
    "COMPLETED": RemoteState.completed,
    "FAILED": RemoteState.failed,
    "TIMED_OUT": RemoteState.failed,
    "CANCELLED": RemoteState.cancelled,
}


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return float(resp.headers["retry-after"])
    except (KeyError, ValueError):
        return None


class RunPodExecutor:
    name = "runpod"

    def __init__(
        self,
        *,
        api_url: str,
        endpoint_id: str,
        api_key: str,
        max_in_flight: int,
        poll_concurrency: int = 8,
        execution_timeout_seconds: float = 600.0,
        ttl_seconds: float = 24 * 3600.0,
        signer: TransportSigner | None = None,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        status_rate: float = STATUS_RATE_PER_SECOND,
        retry_base_seconds: float = 0.5,
        first_poll_seconds: float = 1.0,
    ) -> None:
        self.max_in_flight = max_in_flight
        self.endpoint_id = endpoint_id
        self._base = f"{api_url.rstrip('/')}/{endpoint_id}"
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=10.0),
            limits=httpx.Limits(max_connections=max(poll_concurrency, SUBMIT_CONCURRENCY) + 4),
        )
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._poll_gate = asyncio.Semaphore(poll_concurrency)
        self._submit_gate = asyncio.Semaphore(SUBMIT_CONCURRENCY)
        self._exec_timeout = execution_timeout_seconds
        self._ttl = ttl_seconds
        self._signer = signer
        self._clock = clock
        self._bucket = TokenBucket(rate=status_rate, burst=status_rate, clock=clock)
        self._retry_base = retry_base_seconds
        self._first_poll = first_poll_seconds
        self._tracks: dict[str, Track] = {}
        self._health: tuple[float, dict[str, object]] | None = None
        self.largest_body_bytes = 0
        self.last_error: str | None = None
        self._wake: Callable[[], None] | None = None

    def set_waker(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    # ---- submit ------------------------------------------------------------------------

    def _policy(self, payload: TaskPayload) -> dict[str, int]:
        """Execution time sized to the task (a few minutes per image at most), and a
        ttl that covers waiting in the queue plus that execution."""
        execution = min(self._exec_timeout, 120.0 + 90.0 * len(payload.slots))
        return {
            "executionTimeout": int(execution * 1000),
            "ttl": int(max(self._ttl, execution + 60.0) * 1000),
        }

    def body(self, payload: TaskPayload) -> bytes:
        """The exact bytes of the `/run` request: what the 10 MB limit is measured on."""
        doc: dict[str, Any] = {"input": payload.model_dump(mode="json")}
        doc["policy"] = self._policy(payload)
        webhook = self._signer.webhook_url(payload.task_id) if self._signer else None
        if webhook:
            doc["webhook"] = webhook
        return json.dumps(doc, separators=(",", ":")).encode()

    async def submit(self, payloads: list[TaskPayload]) -> list[str | SubmitFailure]:
        return list(await asyncio.gather(*(self._submit_one(p) for p in payloads)))

    async def _submit_one(self, payload: TaskPayload) -> str | SubmitFailure:
        body = self.body(payload)
        if len(body) > RUN_BODY_LIMIT_BYTES:
            return SubmitFailure(
                f"the request for this task is {len(body) / 1e6:.1f} MB, over RunPod's "
                "10 MB limit; configure S3 or BANANABATCH_PUBLIC_URL",
                permanent=True,
            )
        self.largest_body_bytes = max(self.largest_body_bytes, len(body))
        headers = {**self._headers, "Content-Type": "application/json"}
        last = ""
        async with self._submit_gate:
            for attempt in range(1, SUBMIT_TRIES + 1):
                try:
                    resp = await self._http.post(f"{self._base}/run", content=body, headers=headers)
                    if resp.status_code == 429 or resp.status_code >= 500:
                        raise _Retryable(f"HTTP {resp.status_code}", _retry_after(resp))
                    if resp.status_code >= 400:
                        return SubmitFailure(
                            f"RunPod refused the task: HTTP {resp.status_code} {resp.text[:300]}",
                            permanent=resp.status_code in (400, 413),
                        )
                    job_id = str(resp.json()["id"])
                except (_Retryable, httpx.TransportError, KeyError, ValueError) as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    wait = getattr(exc, "retry_after", None) or self._retry_base * 2 ** (
                        attempt - 1
                    )
                    log.warning(
                        "RunPod /run failed (%s); try %d of %d", last, attempt, SUBMIT_TRIES
                    )
                    if attempt < SUBMIT_TRIES:
                        await asyncio.sleep(min(wait, 30.0))
                    continue
                now = self._clock()
                self._tracks[job_id] = Track(
                    submitted_at=now,
                    next_at=now + self._first_poll,
                    interval=self._first_poll,
                    first=self._first_poll,
                )
                self.last_error = None
                return job_id
        self.last_error = f"/run: {last}"
        return SubmitFailure(f"RunPod did not accept the task after {SUBMIT_TRIES} tries ({last})")

    # ---- poll --------------------------------------------------------------------------

    def notify(self, handle: str) -> None:
        """A webhook said this job finished: ask about it on the next poll."""
        track = self._tracks.get(handle)
        if track is not None:
            track.next_at = 0.0
            if self._wake is not None:
                self._wake()

    async def poll(self, handles: list[str]) -> list[TaskStatusReport]:
        now = self._clock()
        for h in handles:
            self._tracks.setdefault(
                h,
                Track(
                    state="UNKNOWN",
                    submitted_at=now,
                    interval=self._first_poll,
                    first=self._first_poll,
                ),
            )
        due = sorted((h for h in handles if self._tracks[h].next_at <= now), key=self._due_key)
        due = due[: self._bucket.take(len(due))]
        answers = dict(zip(due, await asyncio.gather(*(self._status(h) for h in due)), strict=True))
        reports = []
        for h in handles:
            report = answers.get(h) or self._last_known(h)
            if report.state not in (RemoteState.queued, RemoteState.running):
                self._tracks.pop(h, None)
            reports.append(report)
        return reports

    def _due_key(self, handle: str) -> float:
        return self._tracks[handle].next_at

    def _last_known(self, handle: str) -> TaskStatusReport:
        track = self._tracks[handle]
        state = RemoteState.running if track.state == "IN_PROGRESS" else RemoteState.queued
        return TaskStatusReport(handle, state)

    async def _status(self, handle: str) -> TaskStatusReport | None:
        track = self._tracks[handle]
        try:
            async with self._poll_gate:
                resp = await self._http.get(f"{self._base}/status/{handle}", headers=self._headers)
        except httpx.TransportError as exc:
            after_error(track, self._clock())
            self.last_error = f"/status: {type(exc).__name__}"
            return None
        if resp.status_code == 404:
            return TaskStatusReport(
                handle,
                RemoteState.lost,
                error="RunPod no longer knows this task (its result expired or its ttl ran "
                "out); it will run again, keeping any image a worker already uploaded",
            )
        if resp.status_code >= 400:
            after_error(
                track, self._clock(), _retry_after(resp) if resp.status_code == 429 else None
            )
            self.last_error = f"/status: HTTP {resp.status_code}"
            return None
        try:
            doc = resp.json()
            status = str(doc["status"])
        except (ValueError, KeyError, TypeError):
            after_error(track, self._clock())
            return None
        after_answer(track, status, self._clock())
        return self._report(handle, doc, status)

    def _report(self, handle: str, doc: dict[str, Any], status: str) -> TaskStatusReport:
        worker = doc.get("workerId")
        return dataclasses.replace(
            self._interpret(handle, doc, status),
            delay_ms=_int(doc.get("delayTime")),
            execution_ms=_int(doc.get("executionTime")),
            worker=worker if isinstance(worker, str) else None,
        )

    def _interpret(self, handle: str, doc: dict[str, Any], status: str) -> TaskStatusReport:
        state = _STATES.get(status)
        if state is None:
            return TaskStatusReport(handle, RemoteState.queued)
        if state is RemoteState.completed:
            output = doc.get("output")
            if not output:
                return TaskStatusReport(
                    handle,
                    RemoteState.failed,
                    error="RunPod reported the task COMPLETED without its output (a result "
                    "too large to return); it will run again, keeping uploaded images",
                )
            try:
                result = TaskResult.model_validate(output)
            except ValidationError as exc:
                return TaskStatusReport(
                    handle,
                    RemoteState.failed,
                    error=f"the worker returned an unreadable result ({exc.error_count()} "
                    "problem(s)); is the worker image the same version as this server?",
                )
            return TaskStatusReport(handle, state, result=result)
        if state is RemoteState.failed:
            reason = doc.get("error") or ("timed out" if status == "TIMED_OUT" else "failed")
            what = "ran past its execution timeout" if status == "TIMED_OUT" else "failed"
            return TaskStatusReport(
                handle, state, error=f"the RunPod job {what}: {str(reason)[:500]}"
            )
        return TaskStatusReport(handle, state)

    # ---- cancel, health ----------------------------------------------------------------

    async def cancel(self, handle: str) -> bool:
        track = self._tracks.get(handle)
        if track is None or track.state != "IN_QUEUE":
            return False  # running (or unknown): let it finish, its images are paid for
        try:
            resp = await self._http.post(f"{self._base}/cancel/{handle}", headers=self._headers)
        except httpx.TransportError as exc:
            log.warning("RunPod /cancel %s failed: %s", handle, exc)
            return False
        if resp.status_code >= 400:
            return False
        track.next_at = 0.0
        return True

    def queue_summary(self) -> dict[str, object]:
        now = self._clock()
        queued = [t for t in self._tracks.values() if t.state == "IN_QUEUE"]
        return {
            "queued": len(queued),
            "running": sum(1 for t in self._tracks.values() if t.state == "IN_PROGRESS"),
            "oldest_queued_seconds": round(max((now - t.submitted_at for t in queued), default=0)),
        }

    async def health(self) -> dict[str, object]:
        now = self._clock()
        if self._health is not None and now - self._health[0] < HEALTH_CACHE_SECONDS:
            return self._health[1]
        info: dict[str, object] = {
            "kind": self.name,
            "endpoint_id": self.endpoint_id,
            "in_flight": len(self._tracks),
            "max": self.max_in_flight,
            "largest_run_body_bytes": self.largest_body_bytes,
            **self.queue_summary(),
        }
        try:
            resp = await self._http.get(f"{self._base}/health", headers=self._headers)
            if resp.status_code in (401, 403):
                info.update(ok=False, error="RunPod refused the API key (RUNPOD_API_KEY)")
            elif resp.status_code == 404:
                info.update(ok=False, error="no such RunPod endpoint (RUNPOD_ENDPOINT_ID)")
            elif resp.status_code >= 400:
                info.update(ok=False, error=f"RunPod /health answered HTTP {resp.status_code}")
            else:
                doc = resp.json()
                info.update(ok=True, jobs=doc.get("jobs", {}), workers=doc.get("workers", {}))
        except (httpx.HTTPError, ValueError) as exc:
            info.update(ok=False, error=f"RunPod is unreachable ({type(exc).__name__})")
        if self.last_error:
            info["last_error"] = self.last_error
        self._health = (now, info)
        return info

    async def aclose(self) -> None:
        """Remote jobs keep running: their handles are in the database, and the next
        start polls them again."""
        self._tracks.clear()
        await self._http.aclose()


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None
