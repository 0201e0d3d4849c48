"""The Gemini Batch API executor: half price, results within 24 h.

Tasks submitted within `gather_seconds` are packed into batches of at most
`max_lines` output slots, written as JSONL (one `key` per slot and round), uploaded
through the Files API and created with `batches.create`. Every batch is recorded
durably before it is created and its name right after (`gemini_batch_records`), so a
crash never creates a second batch for the same work: a recorded batch without a
name is looked up by its display name with `batches.list` first.

The work with Google (packing, creating, slow polling, downloading) runs in the
executor's own background loop, never inside the orchestrator's `poll`: a download of
hundreds of images must not hold up the jobs on the standard route. A finished
batch's result file is read as a stream; each line goes through the worker pipeline
(`ReplayProvider`), so the image is fitted, checked, stamped and written to its
slot's key as it is read, and the orchestrator is woken to store it at once (a
`running` report with the finished slot). A line is marked done only at the next
`poll`, once the orchestrator has stored what the previous one reported, so a crash
at any point reads the file again (free) instead of buying the line again. EXPIRED,
FAILED and results that stay unreachable after every retry fail their slots as
transient, so the orchestrator queues them again (in a new batch); lost results were
billed and are recorded so (the re-run shows as paid twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from bananabatch.contracts import (
    ErrorKind,
    OutputSlot,
    PaidCall,
    SlotError,
    SlotResult,
    TaskPayload,
)
from bananabatch.db.models import utcnow
from bananabatch.executors.base import SubmitFailure, TaskStatusReport
from bananabatch.executors.gemini_batch_create import REMOTE_STATES, BatchCreator, BatchTuning
from bananabatch.executors.gemini_batch_lines import (
    BATCH_HANDLE_PREFIX,
    ReplayProvider,
    line_bytes,
    pack,
    task_handle,
)
from bananabatch.executors.gemini_batch_records import DEAD_STATES, BatchRecords, BatchView
from bananabatch.executors.gemini_batch_slots import WORKER, SlotBook
from bananabatch.storage.base import Storage
from bananabatch.worker.pipeline import WorkerOptions, run_task

log = logging.getLogger(__name__)
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"


class GeminiBatchExecutor:
    name = WORKER
    max_in_flight = 100_000  # waiting at Google costs nothing here

    def __init__(
        self,
        *,
        records: BatchRecords,
        store: Storage,
        api_key: str,
        base_url: str | None = None,
        api_version: str = "v1beta",
        tuning: BatchTuning | None = None,
        tmp_dir: Path | None = None,
    ) -> None:
        self._records = records
        self._store = store
        self._tuning = tuning or BatchTuning()
        self._tmp_dir = tmp_dir
        self._api_key = api_key
        self._files_url = f"{(base_url or DEFAULT_BASE_URL).rstrip('/')}/{api_version}"
        self._client = genai.Client(
            vertexai=False,
            api_key=api_key,
            http_options=types.HttpOptions(
                base_url=base_url,
                api_version=api_version,
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )
        self._slots = SlotBook()
        self._creator = BatchCreator(
            self._client, records, store, self._tuning, tmp_dir, lambda t: self._slots.tasks.get(t)
        )
        self._forming: list[tuple[float, TaskPayload]] = []
        self._ref_sizes: dict[str, int] = {}  # store key -> bytes (references repeat)
        self._wake: Callable[[], None] = lambda: None
        self._nudge = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        wait = self._tuning.download_timeout_seconds
        self._download_timeout = httpx.Timeout(wait, connect=min(wait, 30.0))
        self._tick = min(1.0, self._tuning.poll_seconds, max(self._tuning.gather_seconds, 0.01))

    def set_waker(self, wake: Callable[[], None]) -> None:
        """Results are read in the background: each one wakes the orchestrator."""
        self._wake = wake

    # ---- port --------------------------------------------------------------------------

    async def submit(self, payloads: list[TaskPayload]) -> list[str | SubmitFailure]:
        await self._ack()  # a retried slot's used-up line must not count as live
        ids = [s.output_id for p in payloads for s in p.slots]
        live = await asyncio.to_thread(self._records.live_lines, ids)
        now = time.monotonic()
        handles: list[str | SubmitFailure] = []
        for p in payloads:
            if p.provider != "gemini":
                handles.append(SubmitFailure("The Batch API route needs a Gemini model.", True))
                continue
            fresh = self._slots.track(p, live)
            if fresh:
                self._forming.append((now, p.model_copy(update={"slots": fresh})))
            handles.append(task_handle(p.task_id))
        self._start()
        self._nudge.set()
        return handles

    async def poll(self, handles: list[str]) -> list[TaskStatusReport]:
        """Answer from memory (the background loop does the work with Google). Lines the
        previous poll reported are marked done first (here or in `submit`): the
        orchestrator stored them before calling again, so a crash before this point
        reads them again for free."""
        self._start()
        await self._ack()
        return [self._slots.report(h) for h in handles]

    async def cancel(self, handle: str) -> bool:
        """Withdraw a task still waiting to be packed; once in a batch it runs (and is
        paid for), so its outputs are kept."""
        task_id = handle.removeprefix(BATCH_HANDLE_PREFIX)
        if not self._slots.withdraw(task_id):
            return False
        self._forming = [(t, p) for t, p in self._forming if p.task_id != task_id]
        return True

    async def health(self) -> dict[str, object]:
        counts = await asyncio.to_thread(self._records.counts)
        return {"kind": "gemini-batch", "ok": True, "batches": counts}

    async def aclose(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        await self._ack()
        await self._client.aio.aclose()

    # ---- the background loop -----------------------------------------------------------

    def _start(self) -> None:
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run(), name=WORKER)

    async def _run(self) -> None:
        while True:
            self._nudge.clear()
            try:
                await self._form_batches()
                await self._advance()
            except Exception:  # a bug or an outage must not stop every batch for good
                log.exception("the Gemini batch loop failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudge.wait(), timeout=self._tick)

    async def _ack(self) -> None:
        keys = self._slots.take_unacked()
        if keys:
            await asyncio.to_thread(self._records.mark_done, keys)

    def _finish(self, task_id: str, result: SlotResult) -> None:
        if self._slots.finish(task_id, result):
            self._wake()

    # ---- packing and creating ----------------------------------------------------------

    async def _form_batches(self) -> None:
        if not self._forming:
            return
        waiting = sum(len(p.slots) for _, p in self._forming)
        young = time.monotonic() - self._forming[0][0] < self._tuning.gather_seconds
        if waiting < self._tuning.max_lines and young:
            return
        forming, self._forming = self._forming, []
        groups: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
        sizes = await asyncio.to_thread(lambda: [self._reference_bytes(p) for _, p in forming])
        for (_, p), refs in zip(forming, sizes, strict=True):
            groups.setdefault((p.job_id, p.model), []).extend(
                (s.output_id, p.task_id, line_bytes(refs, s.prompt)) for s in p.slots
            )
        tuning = self._tuning
        for (job_id, model), slots in groups.items():
            for chunk in pack(slots, tuning.max_lines, tuning.max_bytes):
                view = await asyncio.to_thread(self._records.record, job_id, model, chunk)
                for output_id, _ in chunk:
                    self._slots.batch_of[output_id] = view.id
                self._creator.fresh.add(view.id)
                await self._creator.create(view)

    def _reference_bytes(self, payload: TaskPayload) -> int:
        total = 0
        for ref in payload.references:
            if ref.storage_key is not None:
                if ref.storage_key not in self._ref_sizes:
                    self._ref_sizes[ref.storage_key] = self._store.size(ref.storage_key)
                total += self._ref_sizes[ref.storage_key]
            elif ref.data_b64 is not None:
                total += len(ref.data_b64) * 3 // 4
        return total

    # ---- following batches -------------------------------------------------------------

    async def _advance(self) -> None:
        wanted = self._slots.wanted_batches()
        if not wanted:
            return
        now = utcnow()
        for view in await asyncio.to_thread(self._records.get, wanted):
            if view.state in DEAD_STATES:
                self._fail_dead(view)
            elif view.next_check_at > now:
                continue
            elif view.state == "creating":
                await self._creator.create(view)
            elif view.state in ("pending", "running"):
                await self._check(view)
            elif view.state == "succeeded":
                await self._download(view)

    async def _check(self, view: BatchView) -> None:
        try:
            job = await self._client.aio.batches.get(name=view.remote_name or "")
        except (genai_errors.APIError, httpx.HTTPError) as exc:
            await self._creator.retry_later(view, f"asking for the batch failed: {exc}")
            return
        state = REMOTE_STATES.get(job.state or types.JobState.JOB_STATE_PENDING, "pending")
        poll = timedelta(seconds=self._tuning.poll_seconds)
        if state == "succeeded":
            result_file = job.dest.file_name if job.dest else None
            await asyncio.to_thread(
                self._records.update,
                view.id,
                state="succeeded",
                result_file=result_file,
                finished_at=utcnow(),
                error=None,
            )
            await self._download(_replace(view, state="succeeded", result_file=result_file))
            return
        values: dict[str, Any] = {"state": state, "next_check_at": utcnow() + poll}
        if state in DEAD_STATES:
            values |= {"finished_at": utcnow(), "error": f"the batch ended {state.upper()}"}
        await asyncio.to_thread(self._records.update, view.id, **values)
        if state in DEAD_STATES:
            self._fail_dead(_replace(view, state=state))

    def _fail_dead(self, view: BatchView, *, paid: bool = False) -> None:
        """Slots of a batch that ended without results fail as transient (queued again);
        a batch Google refused at creation fails them as invalid."""
        refused = view.remote_name is None and view.state == "failed"
        kind = ErrorKind.invalid if refused else ErrorKind.transient
        message = {
            "expired": "the Batch API expired the batch (not run within 48 h); queued again",
            "failed": "the Batch API batch failed; queued again",
            "cancelled": "the batch was cancelled at Google; queued again",
            "lost": "the batch's results could not be downloaded after every retry; queued "
            "again (the lost images were billed)",
        }.get(view.state, f"the batch ended {view.state}")
        if refused:
            message = "Gemini refused the batch"
        calls = [PaidCall(outcome="image", route="batch")] if paid else []
        for output_id, (p, _) in self._slots.waiting_slots(view.id).items():
            error = SlotError(kind=kind, message=message)
            self._finish(
                p.task_id,
                SlotResult(output_id=output_id, status="failed", error=error, calls=calls),
            )
            self._slots.batch_of.pop(output_id, None)

    async def _download(self, view: BatchView) -> None:
        waiting = self._slots.waiting_slots(view.id)
        if not waiting or not view.result_file:
            return
        keys = {line.key: line.output_id for line in self._records.lines_of(view.id)}
        url = f"{self._files_url}/{view.result_file}:download"
        try:
            async with (
                httpx.AsyncClient(timeout=self._download_timeout) as http,
                http.stream(
                    "GET", url, params={"alt": "media"}, headers={"x-goog-api-key": self._api_key}
                ) as resp,
            ):
                if resp.status_code >= 400:
                    raise httpx.HTTPStatusError(
                        f"HTTP {resp.status_code}", request=resp.request, response=resp
                    )
                async for raw in resp.aiter_lines():
                    if not raw.strip():
                        continue
                    line = json.loads(raw)
                    key = str(line.get("key"))
                    output_id = keys.get(key)
                    if output_id in waiting:
                        payload, slot = waiting.pop(output_id)
                        self._slots.key_of[output_id] = key
                        self._finish(payload.task_id, await self._replay(payload, slot, line))
        except (httpx.HTTPError, ValueError) as exc:
            await self._download_failed(view, exc)
            return
        by_output = {output_id: key for key, output_id in keys.items()}
        for output_id, (payload, _) in waiting.items():  # the file had no line for it
            self._slots.key_of[output_id] = by_output[output_id]
            error = SlotError(kind=ErrorKind.transient, message="no result line in the batch")
            self._finish(
                payload.task_id, SlotResult(output_id=output_id, status="failed", error=error)
            )
        await asyncio.to_thread(self._records.update, view.id, download_attempts=0, error=None)

    async def _download_failed(self, view: BatchView, exc: Exception) -> None:
        attempts = view.download_attempts + 1
        if attempts >= self._tuning.download_attempts:
            await asyncio.to_thread(
                self._records.update,
                view.id,
                state="lost",
                download_attempts=attempts,
                error=f"results unreachable after {attempts} downloads: {exc}",
            )
            self._fail_dead(_replace(view, state="lost"), paid=True)
            return
        wait = min(
            self._tuning.download_retry_seconds * 2 ** (attempts - 1),
            self._tuning.download_retry_max_seconds,
        )
        log.warning("batch %s: download %d failed (%s)", view.display_name, attempts, exc)
        await asyncio.to_thread(
            self._records.update,
            view.id,
            download_attempts=attempts,
            next_check_at=utcnow() + timedelta(seconds=wait),
            error=f"downloading the results failed ({exc}); retry {attempts}",
        )

    async def _replay(
        self, payload: TaskPayload, slot: OutputSlot, line: dict[str, Any]
    ) -> SlotResult:
        one = payload.model_copy(update={"slots": [slot]})
        options = WorkerOptions(retries=0, worker_name=WORKER, store=self._store)
        provider = ReplayProvider(line)
        result = await run_task(one, lambda _: provider, options)
        done = result.slots[0]
        calls = [c.model_copy(update={"route": "batch"}) for c in done.calls]
        return done.model_copy(update={"calls": calls})


def _replace(view: BatchView, **changes: Any) -> BatchView:
    return replace(view, **changes)
