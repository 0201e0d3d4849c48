"""Creating a recorded Gemini batch at Google, exactly once: look its display name up
with `batches.list` first (a crash may have come after `create` reached Google), else
write its JSONL (the same request building as a standard call), upload it through
the Files API and create the batch; the remote name is recorded at once."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from bananabatch.contracts import PERMANENT_KINDS, OutputSlot, TaskPayload
from bananabatch.db.models import utcnow
from bananabatch.executors.gemini_batch_lines import request_json
from bananabatch.executors.gemini_batch_records import BatchRecords, BatchView
from bananabatch.providers.base import GenerationRequest, ReferenceImage
from bananabatch.providers.gemini_errors import classify_api_error
from bananabatch.quality.finish import prepare
from bananabatch.storage.base import Storage

log = logging.getLogger(__name__)
REMOTE_STATES = {
    types.JobState.JOB_STATE_PENDING: "pending",
    types.JobState.JOB_STATE_RUNNING: "running",
    types.JobState.JOB_STATE_SUCCEEDED: "succeeded",
    types.JobState.JOB_STATE_FAILED: "failed",
    types.JobState.JOB_STATE_CANCELLED: "cancelled",
    types.JobState.JOB_STATE_EXPIRED: "expired",
}


@dataclass(frozen=True)
class BatchTuning:
    max_lines: int = 200  # a few hundred requests: a lost batch costs little, files stay small
    max_bytes: int = 1 << 30  # JSONL per batch: half the Files API's 2 GB limit
    gather_seconds: float = 2.0  # tasks claimed within this window share a batch
    poll_seconds: float = 60.0  # batches take minutes to hours: ask rarely
    download_retry_seconds: float = 30.0  # doubles per failed download...
    download_retry_max_seconds: float = 1800.0  # ...up to this
    download_attempts: int = 14  # about 6 hours of retries before the results count as lost
    download_timeout_seconds: float = 300.0  # a stalled download is given up and retried


@dataclass
class BatchCreator:
    client: genai.Client
    records: BatchRecords
    store: Storage
    tuning: BatchTuning
    tmp_dir: Path | None
    payload: Callable[[str], TaskPayload | None]  # a task's payload, while it is in memory
    fresh: set[str] = field(default_factory=set)
    """Batches recorded by this process and never sent: no earlier `create` can have
    reached Google, so `batches.list` (every batch of the project) is not needed."""

    async def create(self, view: BatchView) -> None:
        """Create the recorded batch at Google, unless it already exists there."""
        poll = timedelta(seconds=self.tuning.poll_seconds)
        try:
            unsent = view.id in self.fresh
            self.fresh.discard(view.id)
            found = None if unsent else await self._find(view.display_name)
            if found is not None:
                state = REMOTE_STATES.get(found.state or types.JobState.JOB_STATE_PENDING)
                await asyncio.to_thread(
                    self.records.created, view.id, found.name or "", state or "pending", poll
                )
                log.info("batch %s existed already: adopted %s", view.display_name, found.name)
                return
            path = await asyncio.to_thread(self._write_jsonl, view)
            if path is None:
                return  # a task of this batch is not back yet (restart): created later
            try:
                uploaded = await self.client.aio.files.upload(
                    file=path,
                    config={"mime_type": "application/jsonl", "display_name": view.display_name},
                )
            finally:
                path.unlink(missing_ok=True)
            made = await self.client.aio.batches.create(
                model=view.model,
                src=uploaded.name or "",
                config={"display_name": view.display_name},
            )
            await asyncio.to_thread(self.records.created, view.id, made.name or "", "pending", poll)
            log.info("batch %s created as %s (%s)", view.display_name, made.name, view.model)
        except genai_errors.APIError as exc:
            error = classify_api_error(exc)
            if error.kind in PERMANENT_KINDS:
                await asyncio.to_thread(
                    self.records.update,
                    view.id,
                    state="failed",
                    error=f"Gemini refused the batch: {error.message}",
                    finished_at=utcnow(),
                )
                return
            await self.retry_later(view, f"creating the batch failed: {error.message}")
        except (httpx.HTTPError, OSError) as exc:
            await self.retry_later(view, f"creating the batch failed: {exc!r}")

    async def _find(self, display: str) -> types.BatchJob | None:
        pager = await self.client.aio.batches.list(config={"page_size": 100})
        async for job in pager:
            if job.display_name == display:
                return job
        return None

    async def retry_later(self, view: BatchView, message: str) -> None:
        log.warning("batch %s: %s", view.display_name, message)
        await asyncio.to_thread(
            self.records.update,
            view.id,
            error=message,
            next_check_at=utcnow() + timedelta(seconds=self.tuning.download_retry_seconds),
        )

    def _write_jsonl(self, view: BatchView) -> Path | None:
        lines = self.records.lines_of(view.id)
        refs: dict[str, bytes] = {}
        with tempfile.NamedTemporaryFile(
            "wb", suffix=".jsonl", dir=self.tmp_dir, delete=False
        ) as out:
            for line in lines:
                payload = self.payload(line.task_id)
                slot = _slot(payload, line.output_id) if payload else None
                if payload is None or slot is None:
                    Path(out.name).unlink(missing_ok=True)
                    return None
                request = prepare(self._request(payload, slot, refs))
                out.write(json.dumps({"key": line.key, "request": request_json(request)}).encode())
                out.write(b"\n")
            return Path(out.name)

    def _request(
        self, payload: TaskPayload, slot: OutputSlot, cache: dict[str, bytes]
    ) -> GenerationRequest:
        references = []
        for ref in payload.references:
            if ref.storage_key is None:
                raise ValueError("the Batch API route reads references from the store")
            if ref.storage_key not in cache:
                cache[ref.storage_key] = self.store.get_bytes(ref.storage_key)
            references.append(
                ReferenceImage(cache[ref.storage_key], mime_type=ref.mime_type, name=ref.name)
            )
        return GenerationRequest(
            model=payload.model,
            prompt=slot.prompt,
            seed=slot.seed,
            references=references,
            options=payload.options,
            labels=payload.labels,
        )


def _slot(payload: TaskPayload, output_id: str) -> OutputSlot | None:
    return next((s for s in payload.slots if s.output_id == output_id), None)
