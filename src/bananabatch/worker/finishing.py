"""A paid image's way from the provider's answer to its slot's key: finished
(`quality.finish`: fitted, labels carried, measured), stamped with its metadata,
delivered.

In the server, with a local store and worker processes, the whole way runs in a worker
process. The server spills the provider's bytes to a temp file (page cache, no fsync);
the worker process reads it, finishes and stamps the image, and writes it durably to the
slot's key itself; only the measurements come back. Before, each 2 MB image crossed to
the worker process through a pipe for finishing, and this process then stamped it and
wrote it with an fsync: about 3 ms of the server's CPU per image, on the path every
result of a job takes. Everywhere else (a RunPod worker, an S3 store, threads) the image
is finished where the offload runs and stamped and delivered here. A paid image is never
sent back to the model: whatever fails on the way to a worker process sends it the
plain way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bananabatch.contracts import ErrorKind, ImageRef, OutputSlot, TaskPayload
from bananabatch.image_metadata import embed_metadata
from bananabatch.providers.base import (
    GeneratedImage,
    GenerationRequest,
    ReferenceImage,
    TransientError,
)
from bananabatch.quality.finish import finish, finished
from bananabatch.storage.base import Storage
from bananabatch.storage.local import LocalStorage
from bananabatch.worker.cpu import Offload, ProcessOffload
from bananabatch.worker.delivery import DeliveryError, deliver, metadata_of

log = logging.getLogger(__name__)
T = TypeVar("T")

SPILL_PREFIX = "spill-"
"""Temp files of images on their way to a worker process (removed at start if left)."""
SPILL_MIN_BYTES = 256 * 1024
"""Smaller images go to the worker process inside the call: below this, pickling them
through the pipe costs less than a file's create, write, read and unlink."""


@dataclass(frozen=True)
class Kept:
    """A finished image (without its bytes once stored) and where it went."""

    image: GeneratedImage
    inline: ImageRef | None
    storage_key: str | None


@dataclass(frozen=True)
class _Keep:
    """What a worker process needs to store a finished image itself: the store (a local
    folder: picklable, shared), the slot's key, the metadata, and the source image by
    key (read there from the store instead of pickled into every slot's call)."""

    store: LocalStorage
    key: str
    meta: dict[str, str]
    source: ImageRef | None


async def finish_and_deliver(
    payload: TaskPayload,
    slot: OutputSlot,
    request: GenerationRequest,
    image: GeneratedImage,
    *,
    offload: Offload | None,
    store: Storage | None,
    spill_dir: Path | None,
    http: httpx.AsyncClient | None,
) -> Kept:
    """Finish, stamp and deliver one paid image; DeliveryError when it could not be
    delivered. The image is paid for: whatever fails on the way to a worker process
    (the spill, the source read there, the process itself) sends it the plain way
    instead, never back to the model."""
    keep = _local_keep(payload, slot, offload, store, spill_dir)
    if keep is not None and spill_dir is not None and isinstance(offload, ProcessOffload):
        kept = await _kept_elsewhere(request, image, keep, offload, spill_dir)
        if kept is not None:
            return kept
    done = await _finished_anyway(request, image, offload)
    data = await asyncio.to_thread(embed_metadata, done.data, done.mime_type,
                                   metadata_of(payload, slot))  # fmt: skip
    inline, key = await deliver(payload, slot, data, done.mime_type, http, store)
    return Kept(replace(done, data=b"") if key is not None else done, inline, key)


async def _finished_anyway(
    request: GenerationRequest, image: GeneratedImage, offload: Offload | None
) -> GeneratedImage:
    """`finished`; when a worker process dies on it, once more in a fresh one (the pool
    restarts), and in this process when that one dies too or the pool cannot run it at
    all (a worker process that cannot be forked): the image is paid for."""
    if offload is not None:
        for _ in range(2):
            try:
                return await finished(request, image, offload)
            except TransientError:  # a worker process died; the pool starts afresh
                log.warning("a worker process stopped while finishing a paid image")
            except Exception as exc:  # whatever the pool's trouble, the image is kept
                log.warning("worker processes cannot finish a paid image (%r)", exc)
                break
        log.warning("finishing a paid image in the server process instead")
    return await finished(request, image)


def _local_keep(
    payload: TaskPayload,
    slot: OutputSlot,
    offload: Offload | None,
    store: Storage | None,
    spill_dir: Path | None,
) -> _Keep | None:
    """A keep for a worker process, when the slot's image goes to a local store that
    process can write (in-process delivery, worker processes, a spill folder)."""
    if not isinstance(offload, ProcessOffload) or spill_dir is None:
        return None
    if not isinstance(store, LocalStorage) or slot.upload is None or slot.upload.url:
        return None
    if payload.inline_output_limit_bytes != 0:
        return None
    first = payload.references[0] if payload.references else None
    source = first if first is not None and first.storage_key is not None else None
    if first is not None and source is None:
        return None  # a source travelling by value: the plain way sends it along
    return _Keep(store, slot.upload.storage_key, metadata_of(payload, slot), source)


class StoreRefused(Exception):
    """Raised in a worker process when the slot's key could not be written: the one
    failure there that the plain way would meet too (picklable: a message only)."""


async def _kept_elsewhere(
    request: GenerationRequest,
    image: GeneratedImage,
    keep: _Keep,
    offload: ProcessOffload,
    spill_dir: Path,
) -> Kept | None:
    """The whole way in a worker process; None when the image should go the plain way
    instead (it could not be handed over, or the process could not finish it)."""
    light = replace(request, references=[])  # the worker reads the source by key
    spill: str | None = None
    try:
        if len(image.data) < SPILL_MIN_BYTES:
            done = await _to_its_end(offload, keep_finished, light, image, keep)
        else:
            # named here, before anything is awaited, so `finally` always removes it
            fd, spill = _reserve(spill_dir)
            await asyncio.to_thread(_write, fd, image.data)
            shell = replace(image, data=b"")
            done = await _to_its_end(offload, keep_spilled, light, shell, spill, keep)
    except StoreRefused as exc:
        raise DeliveryError(ErrorKind.transient, f"storing the image failed: {exc}") from exc
    except TransientError:  # its message is about generating, which is done
        log.warning("a worker process stopped while finishing a paid image; trying again")
        return None
    except Exception as exc:  # a spill, a source or a pool that failed
        log.warning(
            "a paid image could not be finished in a worker process (%r); finishing it "
            "the plain way",
            exc,
        )
        return None
    finally:
        if spill is not None:
            _discard(spill)  # the worker process may have stopped before it removed it
    return Kept(done, None, keep.key)


async def _to_its_end(offload: ProcessOffload, fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a worker process, waited for to its end even when this task is
    cancelled meanwhile, however often (then the cancellation goes on): a worker
    process cannot be stopped mid-write, and a slot must not end while its key may
    still be written behind it. The wait is on the pool's own future, which nothing
    else cancels (a task would be, when every task is cancelled at once)."""
    call = offload.submit(fn, *args)
    waiter = asyncio.wrap_future(call.future)
    interrupted = False
    while not waiter.done():
        try:
            await asyncio.wait([waiter])
        except asyncio.CancelledError:
            interrupted = True
    if not waiter.cancelled():
        waiter.exception()  # marked retrieved: the outcome is read from the pool's future
    if interrupted:
        raise asyncio.CancelledError  # what this slot reports, whatever the call did
    return offload.outcome(call)


def _reserve(folder: Path) -> tuple[int, str]:
    """An open, empty temp file for a spill (a file create: no data written yet)."""
    folder.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix=SPILL_PREFIX, dir=folder)


def _write(fd: int, data: bytes) -> None:
    """Write and close; through the descriptor, so a spill removed meanwhile (its slot
    cancelled) is not created again."""
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _discard(path: str) -> None:
    Path(path).unlink(missing_ok=True)


def keep_spilled(
    request: GenerationRequest, shell: GeneratedImage, spill: str, keep: _Keep
) -> GeneratedImage:
    """In a worker process: read the spilled image, then `keep_finished`."""
    path = Path(spill)
    data = path.read_bytes()
    path.unlink(missing_ok=True)
    return keep_finished(request, replace(shell, data=data), keep)


def keep_finished(request: GenerationRequest, image: GeneratedImage, keep: _Keep) -> GeneratedImage:
    """In a worker process: finish and stamp the image, write it to the slot's key
    (durably); the finished image comes back without its bytes."""
    if keep.source is not None and keep.source.storage_key is not None:
        source = ReferenceImage(
            data=keep.store.get_bytes(keep.source.storage_key),
            mime_type=keep.source.mime_type,
            name=keep.source.name,
        )
        request = replace(request, references=[source])
    done = finish(request, image)
    data = embed_metadata(done.data, done.mime_type, keep.meta)
    try:
        keep.store.put_bytes(keep.key, data)
    except OSError as exc:
        raise StoreRefused(str(exc)) from None  # the cause does not cross processes
    return replace(done, data=b"")
