"""Run one TaskPayload: its output slots concurrently (bounded), each through
the provider with short in-worker retries for 429/5xx, never letting one slot's
failure fail its siblings. Returns a TaskResult with per-slot outcomes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from bananabatch.contracts import (
    ErrorKind,
    ImageRef,
    Mode,
    OutputSlot,
    PaidCall,
    SlotError,
    SlotResult,
    TaskPayload,
    TaskResult,
    Usage,
)
from bananabatch.errors import BananaBatchError
from bananabatch.providers.base import (
    GenerationRequest,
    ImageProvider,
    ProviderError,
    ReferenceImage,
)
from bananabatch.quality.finish import prepare
from bananabatch.storage.base import Storage
from bananabatch.worker.cpu import Offload
from bananabatch.worker.delivery import DeliveryError
from bananabatch.worker.finishing import finish_and_deliver

log = logging.getLogger(__name__)

ProviderLookup = Callable[[str], ImageProvider]
SlotSink = Callable[[SlotResult], None]  # told of each slot as it finishes
MAX_REFERENCE_URL_BYTES = 50 * 1024 * 1024
REFERENCE_FETCH_TIMEOUT = httpx.Timeout(60.0, connect=15.0)


@dataclass(frozen=True)
class WorkerOptions:
    """Short, bounded retries inside the worker; the orchestrator does the long ones."""

    concurrency: int = 4
    retries: int = 2
    retry_base_seconds: float = 1.0
    max_inline_wait_seconds: float = 10.0
    worker_name: str = "local"
    # In-process only: the store shared with the orchestrator. References named by key
    # are read from it and outputs written straight to their slot's key (no base64).
    store: Storage | None = None
    # Where CPU-bound steps run (worker processes in the server); None: a thread.
    offload: Offload | None = None
    # In-process with worker processes: where an image waits for the worker process
    # that finishes and stores it (`worker/finishing.py`); None: it goes by pipe.
    spill_dir: Path | None = None


class PayloadError(Exception):
    """The payload itself is unusable (bad reference data): every slot fails permanently."""


async def _load_reference(
    ref: ImageRef, client: httpx.AsyncClient | None, store: Storage | None
) -> ReferenceImage:
    if ref.storage_key is not None:
        if store is None:
            raise PayloadError("a reference names a storage key but this worker has no store")
        data = await asyncio.to_thread(store.get_bytes, ref.storage_key)
        return ReferenceImage(data=data, mime_type=ref.mime_type, name=ref.name)
    if ref.data_b64 is not None:
        try:
            data = base64.b64decode(ref.data_b64, validate=True)
        except ValueError as exc:
            raise PayloadError(f"reference {ref.name or ''} is not valid base64") from exc
        return ReferenceImage(data=data, mime_type=ref.mime_type, name=ref.name)
    assert ref.url is not None
    own = client is None
    http = client or httpx.AsyncClient(timeout=REFERENCE_FETCH_TIMEOUT)
    try:
        async with http.stream("GET", ref.url) as resp:
            if resp.status_code >= 400:
                raise PayloadError(
                    f"fetching reference {ref.name or ''} failed: HTTP {resp.status_code}"
                    + (" (the signed URL expired or is wrong)" if resp.status_code == 403 else "")
                )
            declared = int(resp.headers.get("content-length") or 0)
            if declared > MAX_REFERENCE_URL_BYTES:
                raise PayloadError(f"reference {ref.name or ''} is larger than 50 MB")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > MAX_REFERENCE_URL_BYTES:
                    raise PayloadError(f"reference {ref.name or ''} is larger than 50 MB")
                chunks.append(chunk)
        return ReferenceImage(data=b"".join(chunks), mime_type=ref.mime_type, name=ref.name)
    finally:
        if own:
            await http.aclose()


async def _generate_slot(
    provider: ImageProvider,
    payload: TaskPayload,
    slot: OutputSlot,
    references: list[ReferenceImage],
    options: WorkerOptions,
    rng: random.Random,
    http: httpx.AsyncClient | None,
) -> SlotResult:
    started = time.perf_counter()
    request = GenerationRequest(
        model=payload.model,
        prompt=slot.prompt,
        seed=slot.seed,
        references=references,
        options=payload.options,
        labels=payload.labels,
    )
    asked = prepare(request)
    attempt = 0
    calls: list[PaidCall] = []
    while True:
        attempt += 1
        try:
            image = await provider.generate(asked)
        except ProviderError as exc:
            if exc.kind in (ErrorKind.blocked, ErrorKind.no_image):
                outcome: Literal["blocked", "no_image"] = (
                    "blocked" if exc.kind is ErrorKind.blocked else "no_image"
                )
                calls.append(PaidCall(outcome=outcome, usage=exc.usage or Usage()))
            retryable = exc.kind in (ErrorKind.rate_limited, ErrorKind.transient)
            wait = exc.retry_after or options.retry_base_seconds * 2 ** (attempt - 1)
            wait *= rng.uniform(0.8, 1.2)
            if retryable and attempt <= options.retries and wait <= options.max_inline_wait_seconds:
                log.info("slot %s: %s, retrying in %.1fs", slot.output_id, exc.kind, wait)
                await asyncio.sleep(wait)
                continue
            failed = _failed(slot, exc.kind, exc.message, exc.retry_after, attempt, started)
            return failed.model_copy(update={"calls": calls})
        except Exception as exc:  # a provider bug must not take down the siblings
            log.exception("slot %s: unexpected provider error", slot.output_id)
            return _failed(
                slot, ErrorKind.transient, f"worker error: {exc!r}", None, attempt, started
            )
        break
    calls.append(PaidCall(outcome="image", usage=image.usage))
    try:
        kept = await finish_and_deliver(
            payload,
            slot,
            asked,
            image,
            offload=options.offload,
            store=options.store,
            spill_dir=options.spill_dir,
            http=http,
        )
    except DeliveryError as exc:  # generated and paid for, then lost on the way back
        failed = _failed(slot, exc.kind, exc.message, None, attempt, started)
        return failed.model_copy(update={"calls": calls})
    except Exception as exc:  # a finishing bug must not take down the siblings either
        log.exception("slot %s: finishing the image failed", slot.output_id)
        failed = _failed(
            slot, ErrorKind.transient, f"worker error: {exc!r}", None, attempt, started
        )
        return failed.model_copy(update={"calls": calls})
    done = kept.image
    return SlotResult(
        output_id=slot.output_id,
        status="succeeded",
        image=kept.inline,
        storage_key=kept.storage_key,
        mime_type=done.mime_type,
        width=done.width,
        height=done.height,
        usage=done.usage,
        attempts=attempt,
        duration_ms=int((time.perf_counter() - started) * 1000),
        calls=calls,
        labels=done.labels,
        transform=done.transform,
        checks=done.checks,
    )


def _failed(
    slot: OutputSlot,
    kind: ErrorKind,
    message: str,
    retry_after: float | None,
    attempts: int,
    started: float,
) -> SlotResult:
    return SlotResult(
        output_id=slot.output_id,
        status="failed",
        error=SlotError(kind=kind, message=message, retry_after=retry_after),
        attempts=attempts,
        duration_ms=int((time.perf_counter() - started) * 1000),
    )


async def _run_slots(
    payload: TaskPayload,
    provider: ImageProvider,
    options: WorkerOptions,
    on_slot: SlotSink | None = None,
) -> TaskResult:
    started = time.perf_counter()
    # A client costs ~40 ms of CPU (TLS trust store); in-process work never needs one.
    needs_http = any(r.url for r in payload.references) or any(
        s.upload and s.upload.url for s in payload.slots
    )
    async with contextlib.AsyncExitStack() as stack:
        http = (
            await stack.enter_async_context(httpx.AsyncClient(timeout=REFERENCE_FETCH_TIMEOUT))
            if needs_http
            else None
        )
        try:
            references = list(
                await asyncio.gather(
                    *(_load_reference(r, http, options.store) for r in payload.references)
                )
            )
        except (PayloadError, httpx.HTTPError) as exc:
            # A reference we cannot fetch now (expired URL, server down) may work on the
            # next dispatch, which signs fresh URLs: transient. Undecodable data: permanent.
            transient = isinstance(exc, httpx.HTTPError) or "HTTP" in str(exc)
            kind = ErrorKind.transient if transient else ErrorKind.internal
            slots = [_failed(s, kind, str(exc), None, 1, started) for s in payload.slots]
            return TaskResult(task_id=payload.task_id, slots=slots, worker=options.worker_name)
        gate = asyncio.Semaphore(options.concurrency)
        rng = random.Random(payload.task_id)

        async def one(slot: OutputSlot) -> SlotResult:
            async with gate:
                done = await _generate_slot(provider, payload, slot, references, options, rng, http)
            if on_slot is not None:
                on_slot(done)
            return done

        results = await asyncio.gather(*(one(s) for s in payload.slots))
    return TaskResult(
        task_id=payload.task_id,
        slots=list(results),
        worker=options.worker_name,
        duration_ms=int((time.perf_counter() - started) * 1000),
    )


async def automatic_generation(
    task: TaskPayload,
    provider: ImageProvider,
    options: WorkerOptions | None = None,
    on_slot: SlotSink | None = None,
) -> TaskResult:
    """Dataset augmentation: the single reference is the source image being varied."""
    if len(task.references) != 1:
        raise PayloadError("an automatic task carries exactly one source image")
    return await _run_slots(task, provider, options or WorkerOptions(), on_slot)


async def semi_auto_generation(
    task: TaskPayload,
    provider: ImageProvider,
    options: WorkerOptions | None = None,
    on_slot: SlotSink | None = None,
) -> TaskResult:
    """Creative generation: every slot shares the job's reference images."""
    return await _run_slots(task, provider, options or WorkerOptions(), on_slot)


async def run_task(
    payload: TaskPayload,
    providers: ProviderLookup,
    options: WorkerOptions | None = None,
    on_slot: SlotSink | None = None,
) -> TaskResult:
    """Entry point for every executor: route by mode, never raise for slot failures.

    A worker that cannot serve the task at all (no provider key in its environment, a
    malformed payload) fails every slot as `invalid`: retrying cannot help, and a
    raised error would look like a crash that the orchestrator retries."""
    started = time.perf_counter()
    worker = (options or WorkerOptions()).worker_name
    try:
        provider = providers(payload.provider)
        if payload.mode is Mode.automatic:
            return await automatic_generation(payload, provider, options, on_slot)
        return await semi_auto_generation(payload, provider, options, on_slot)
    except (PayloadError, BananaBatchError) as exc:
        message = f"the worker cannot run this task: {exc}"
        log.error("task %s: %s", payload.task_id, message)
        slots = [_failed(s, ErrorKind.invalid, message, None, 0, started) for s in payload.slots]
        return TaskResult(task_id=payload.task_id, slots=slots, worker=worker)
