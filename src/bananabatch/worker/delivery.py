"""Getting one generated image back to the orchestrator: inline (base64 in the result)
when small, else uploaded to the slot's target.

Metadata (`metadata_of`) is embedded before, in the worker (`worker/finishing.py`), so
it is in every output whichever way it travels. An upload goes to a key fixed by the output slot: if the result is
lost afterwards, recovery finds the object and adopts it instead of paying again.
"""

from __future__ import annotations

import asyncio
import base64
import logging

import httpx

from bananabatch.contracts import ErrorKind, ImageRef, OutputSlot, TaskPayload, UploadTarget
from bananabatch.domain.payload_budget import inline_output_limit
from bananabatch.storage.base import Storage

log = logging.getLogger(__name__)

UPLOAD_TRIES = 4
UPLOAD_TIMEOUT_SECONDS = 120.0


class DeliveryError(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def metadata_of(payload: TaskPayload, slot: OutputSlot) -> dict[str, str]:
    """What every output carries inside its file (`image_metadata.embed_metadata`)."""
    return {
        "prompt": slot.prompt,
        "model": payload.model,
        "seed": str(slot.seed),
        "bananabatch:job": payload.job_id,
        "bananabatch:output": slot.output_id,
    }


async def deliver(
    payload: TaskPayload,
    slot: OutputSlot,
    data: bytes,
    mime_type: str,
    http: httpx.AsyncClient | None,
    store: Storage | None = None,
) -> tuple[ImageRef | None, str | None]:
    """(inline image, None) or (None, storage key it was uploaded to).

    `inline_output_limit_bytes` None (the in-process executor) always returns inline;
    0 (S3: the bucket is the durable copy) always uploads."""
    limit = payload.inline_output_limit_bytes
    if limit is None or len(data) <= limit:
        return _inline(data, mime_type), None
    if slot.upload is None:
        raise DeliveryError(
            ErrorKind.invalid,
            f"the image ({len(data) / 1e6:.1f} MB) is too large to return inline and the task "
            "carries no upload URL; configure S3 or BANANABATCH_PUBLIC_URL",
        )
    if slot.upload.url is None:  # in-process: the shared store, written as it completes
        if store is None:
            raise DeliveryError(ErrorKind.internal, "an in-process upload needs a store")
        await asyncio.to_thread(store.put_bytes, slot.upload.storage_key, data)
        return None, slot.upload.storage_key
    try:
        await _upload(slot.upload, data, mime_type, http)
    except DeliveryError:
        if len(data) <= inline_output_limit(len(payload.slots)):
            log.warning("upload of %s failed; returning it inline", slot.output_id)
            return _inline(data, mime_type), None  # it is paid for: bring it back anyway
        raise
    return None, slot.upload.storage_key


def _inline(data: bytes, mime_type: str) -> ImageRef:
    return ImageRef(mime_type=mime_type, data_b64=base64.b64encode(data).decode())


async def _upload(
    target: UploadTarget, data: bytes, mime_type: str, http: httpx.AsyncClient | None
) -> None:
    assert target.url is not None
    headers = {"Content-Type": mime_type, **target.headers}
    client = http or httpx.AsyncClient(timeout=UPLOAD_TIMEOUT_SECONDS)
    last = ""
    try:
        for attempt in range(1, UPLOAD_TRIES + 1):
            try:
                resp = await client.put(target.url, content=data, headers=headers)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code < 300:
                    return
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                if resp.status_code < 500 and resp.status_code not in (408, 429):
                    break  # a refused signature or size: trying again cannot help
            if attempt < UPLOAD_TRIES:
                await asyncio.sleep(0.5 * 2 ** (attempt - 1))
    finally:
        if http is None:
            await client.aclose()
    raise DeliveryError(ErrorKind.transient, f"uploading the image failed ({last})")
