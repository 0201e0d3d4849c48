"""Shared pieces of the read side: ETags, opaque cursors, page bounds, asset URLs."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime

from bananabatch.errors import ValidationFailed
from bananabatch.services.queries.views import (
    API_PREFIX,
    MAX_OFFSET,
    MAX_PAGE,
)


def etag_of(*parts: object) -> str:
    digest = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:32]
    return f'"{digest}"'


def encode_cursor(*values: object) -> str:
    raw = "\x1f".join(str(v) for v in values).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8").split("\x1f")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise ValidationFailed(
            "The cursor is not valid; start again without one.", details={"cursor": cursor}
        ) from exc
    if len(parts) != arity:
        raise ValidationFailed(
            "The cursor is not valid; start again without one.", details={"cursor": cursor}
        )
    return parts


def check_offset(offset: int) -> int:
    """SQLite (and most DBs) store 64-bit integers: a larger offset would be a 500."""
    if not 0 <= offset <= MAX_OFFSET:
        raise ValidationFailed(f"offset must be between 0 and {MAX_OFFSET}.")
    return offset


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}.")
    return limit


def asset_image_url(asset_id: str) -> str:
    return f"{API_PREFIX}/assets/{asset_id}/image"


def asset_thumbnail_url(asset_id: str) -> str:
    return f"{API_PREFIX}/assets/{asset_id}/thumbnail"


def output_version(finished_at: datetime | None, regenerations: int | None) -> str:
    """What changes whenever an output's image does: its image and thumbnail URLs carry
    it (so a browser may keep them for good) and their ETags are made from it."""
    stamp = int(finished_at.timestamp()) if finished_at else 0
    return f"{regenerations or 0}.{stamp}"


def output_etag(kind: str, output_id: str, version: str) -> str:
    """The ETag of an output's image ("o") or thumbnail ("ot"), one definition for the
    route and the thumbnail fast path."""
    return f'"{kind}-{output_id}-{version}"'
