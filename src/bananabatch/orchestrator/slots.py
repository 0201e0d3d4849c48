"""Where an output's image lives, and whether an image a worker reported can be trusted.

A remote worker uploads to a key fixed by the output's slot, so after a lost result
the image is found there and adopted instead of being generated (and paid) again.
"""

from __future__ import annotations

import logging

from PIL import Image

from bananabatch.contracts import SlotResult
from bananabatch.db.models import Job, Output, OutputStatus, utcnow
from bananabatch.storage.base import Storage
from bananabatch.storage.keys import EXT_FOR_MIME, MIME_FOR_EXT, output_key, output_slot_key

log = logging.getLogger(__name__)


def slot_key(job: Job, output_id: str) -> str:
    """The key a remote worker uploads this output to (fixed by the slot)."""
    fmt = (job.options or {}).get("output_format")
    return output_slot_key(job.id, output_id, str(fmt) if fmt else None)


def mime_of_key(key: str) -> str:
    return MIME_FOR_EXT.get(key.rsplit(".", 1)[-1], "image/png")


def succeed(output: Output) -> None:
    output.status = OutputStatus.succeeded
    output.error = output.error_kind = None
    output.finished_at = utcnow()


def accept_image(storage: Storage, job: Job, output: Output, slot: SlotResult) -> str | None:
    """Record an image the worker (or the settler's prewrite) put in storage; a reason
    when it cannot be trusted (then the output runs again). Thumbnails are made on
    demand."""
    key = slot.storage_key
    allowed = {output_key(job.id, output.id, ext) for ext in EXT_FOR_MIME.values()}
    if key is None or key not in allowed:
        return f"the worker delivered to an unexpected key {key!r}"
    if not storage.exists(key):
        return "the worker reported an upload that is not in storage"
    output.storage_key = key
    output.mime_type = slot.mime_type or MIME_FOR_EXT.get(key.rsplit(".", 1)[-1])
    output.width = slot.width
    output.height = slot.height
    return None


def stored_size(storage: Storage, key: str) -> tuple[int | None, int | None]:
    """The pixel size of an image found in storage (an adopted upload reports none)."""
    try:
        with storage.open(key) as fh, Image.open(fh) as im:
            return im.size
    except Exception:  # the image is stored either way; its size is cosmetic
        log.warning("could not read the size of %s", key)
        return None, None
