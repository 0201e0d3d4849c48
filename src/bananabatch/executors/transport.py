"""Payload builders: how a task's images travel to the worker and back.

The scheduler hands over a draft payload (prompts, seeds, options) and the stored
images the task needs; a builder fills in the references and the output route.

- `LocalPayloadBuilder` (in-process executor): references and outputs by storage key.
- `RemotePayloadBuilder` (RunPod): references downscaled to what the model can use
  (re-encoded only when that makes them smaller), inline while the exact request
  body fits the budget, else by URL (presigned S3, or this server's signed URL);
  outputs uploaded to a key fixed by the output slot (always with S3, past the
  inline limit with server URLs).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from PIL import Image

from bananabatch.contracts import ImageRef, OutputSlot, TaskPayload, UploadTarget
from bananabatch.domain.payload_budget import (
    REFERENCE_MAX_SIDE,
    RUN_BODY_BUDGET_BYTES,
    b64_size,
    inline_output_limit,
)
from bananabatch.errors import TransportUnavailable
from bananabatch.executors.signing import TransportSigner
from bananabatch.storage.base import Storage
from bananabatch.storage.keys import MIME_FOR_FORMAT, output_slot_key

log = logging.getLogger(__name__)

_PIL_SAVE: dict[str, tuple[str, dict[str, Any]]] = {
    "image/png": ("PNG", {"optimize": False}),
    "image/jpeg": ("JPEG", {"quality": 92}),
}
_BODY_SLACK_BYTES = 4096  # policy, webhook URL and JSON punctuation around `input`


@dataclass(frozen=True)
class StoredImage:
    """A stored image a task needs (a source or a reference)."""

    asset_id: str
    key: str
    mime_type: str
    name: str


class PayloadBuilder(Protocol):
    def build(self, draft: TaskPayload, images: list[StoredImage]) -> TaskPayload: ...


class _BytesCache:
    """A small LRU of image bytes, bounded by total size, shared by claims."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._max = max_bytes
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            if key in self._items or len(data) > self._max:
                return
            self._items[key] = data
            self._size += len(data)
            while self._size > self._max:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)


def slot_key(draft: TaskPayload, slot: OutputSlot) -> str:
    return output_slot_key(draft.job_id, slot.output_id, draft.options.output_format)


class LocalPayloadBuilder:
    """In-process: the worker shares the store, so nothing is copied into the payload.
    References travel as keys and each output is written to its slot's key as soon as
    it is generated (durable before the task settles; adopted after a crash)."""

    def build(self, draft: TaskPayload, images: list[StoredImage]) -> TaskPayload:
        refs = [
            ImageRef(mime_type=img.mime_type, storage_key=img.key, name=img.name) for img in images
        ]
        slots = [
            s.model_copy(update={"upload": UploadTarget(url=None, storage_key=slot_key(draft, s))})
            for s in draft.slots
        ]
        return draft.model_copy(
            update={"references": refs, "slots": slots, "inline_output_limit_bytes": 0}
        )


@dataclass(frozen=True)
class _Prepared:
    key: str
    mime_type: str
    size: int


def downscale(data: bytes, mime_type: str, max_side: int) -> tuple[bytes, str] | None:
    """The image fitted into max_side x max_side, when that makes it smaller."""
    with Image.open(io.BytesIO(data)) as im:
        if max(im.size) <= max_side:
            return None
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        mime = mime_type if mime_type in _PIL_SAVE else "image/png"
        fmt, options = _PIL_SAVE[mime]
        img = im.convert("RGB") if fmt == "JPEG" and im.mode not in ("RGB", "L") else im
        buf = io.BytesIO()
        img.save(buf, fmt, **options)
    out = buf.getvalue()
    return (out, mime) if len(out) < len(data) else None


class RemotePayloadBuilder:
    def __init__(
        self,
        storage: Storage,
        signer: TransportSigner,
        *,
        url_ttl_seconds: int,
        max_side: int = REFERENCE_MAX_SIDE,
        body_budget: int = RUN_BODY_BUDGET_BYTES,
    ) -> None:
        self._storage = storage
        self._signer = signer
        self._ttl = url_ttl_seconds
        self._max_side = max_side
        self._budget = body_budget
        self._prepared: dict[str, _Prepared] = {}
        self._cache = _BytesCache()
        self._lock = threading.Lock()

    # ---- references --------------------------------------------------------------------

    def _prepare(self, img: StoredImage) -> _Prepared:
        """Downscale once per asset; the smaller copy is stored so URLs can point at it."""
        with self._lock:
            known = self._prepared.get(img.asset_id)
        if known is not None:
            return known
        data = self._storage.get_bytes(img.key)
        smaller = downscale(data, img.mime_type, self._max_side)
        if smaller is None:
            prepared = _Prepared(img.key, img.mime_type, len(data))
            self._cache.put(img.key, data)
        else:
            small, mime = smaller
            ext = "jpg" if mime == "image/jpeg" else "png"
            key = f"refs/{img.asset_id[:2]}/{img.asset_id}-{self._max_side}.{ext}"
            if not self._storage.exists(key):
                self._storage.put_bytes(key, small)
            prepared = _Prepared(key, mime, len(small))
            self._cache.put(key, small)
        with self._lock:
            self._prepared[img.asset_id] = prepared
        return prepared

    def _inline(self, p: _Prepared, name: str) -> ImageRef:
        data = self._cache.get(p.key)
        if data is None:
            data = self._storage.get_bytes(p.key)
            self._cache.put(p.key, data)
        return ImageRef(mime_type=p.mime_type, data_b64=base64.b64encode(data).decode(), name=name)

    def _by_url(self, p: _Prepared, name: str) -> ImageRef | None:
        url = self._storage.presign_get(p.key, self._ttl) or self._signer.url(p.key, "get")
        return ImageRef(mime_type=p.mime_type, url=url, name=name) if url else None

    # ---- outputs -----------------------------------------------------------------------

    def _slots(self, draft: TaskPayload) -> tuple[list[OutputSlot], int]:
        fmt = draft.options.output_format
        mime = MIME_FOR_FORMAT[fmt]
        slots: list[OutputSlot] = []
        presigned = False
        for slot in draft.slots:
            key = slot_key(draft, slot)
            url = self._storage.presign_put(key, mime, self._ttl)
            presigned = presigned or url is not None
            url = url or self._signer.url(key, "put")
            upload = UploadTarget(url=url, storage_key=key) if url else None
            slots.append(slot.model_copy(update={"upload": upload}))
        # With a bucket every image is uploaded: the bucket is durable and adoptable.
        limit = 0 if presigned else inline_output_limit(len(draft.slots))
        return slots, limit

    def build(self, draft: TaskPayload, images: list[StoredImage]) -> TaskPayload:
        slots, limit = self._slots(draft)
        prepared = [(self._prepare(img), img.name) for img in images]
        shell = draft.model_copy(update={"slots": slots, "inline_output_limit_bytes": limit})
        used = len(json.dumps(shell.model_dump(mode="json"))) + _BODY_SLACK_BYTES
        refs: list[ImageRef | None] = [None] * len(prepared)
        # Smallest first: the most references travel inline, the big ones by URL.
        for i in sorted(range(len(prepared)), key=lambda i: prepared[i][0].size):
            p, name = prepared[i]
            cost = b64_size(p.size) + len(name) + 96
            if used + cost <= self._budget:
                refs[i] = self._inline(p, name)
                used += cost
            else:
                by_url = self._by_url(p, name)
                if by_url is None:
                    raise TransportUnavailable(
                        "The task's reference images do not fit RunPod's 10 MB request and no "
                        "URL route is configured (BANANABATCH_S3_BUCKET or "
                        "BANANABATCH_PUBLIC_URL)."
                    )
                refs[i] = by_url
                used += len(by_url.model_dump_json()) + 16
        return shell.model_copy(update={"references": [r for r in refs if r is not None]})
