"""Image downloads from storage with validators and long-lived caching.

Objects are looked up by id in the DB; the storage key comes from that row,
never from the request, so no request can name a file outside the store.

Local storage is served with sendfile (Starlette's FileResponse: Range,
If-Range). Any other store (S3) goes through the port: one `open`, the size from
seeking to the end, chunks streamed as the client takes them, and a single
byte range answered with 206 by seeking (a ranged GET on S3); several ranges
in one request get the whole image, which HTTP allows.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from bananabatch.api.errors import error_response
from bananabatch.errors import NotFound
from bananabatch.storage.base import Storage
from bananabatch.storage.local import LocalStorage

log = logging.getLogger(__name__)

# `private`: with a password set these answers need credentials, and `public` would let
# a shared cache (a reverse proxy, a CDN) store them and hand them to anyone.
IMMUTABLE = "private, max-age=31536000, immutable"
CHUNK = 256 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def etag_in(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak or strong) or is `*`."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def etag_matches(request: Request, etag: str) -> bool:
    return etag_in(request.headers.get("if-none-match"), etag)


def not_modified(etag: str, cache_control: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": cache_control})


def _missing() -> NotFound:
    return NotFound("The image is missing from storage.", details={"key_exists": False})


class RangeNotSatisfiable(Exception):
    """The requested range starts at or past the end of the object (HTTP 416)."""


def requested_range(request: Request, etag: str, size: int) -> tuple[int, int] | None:
    """The one byte range asked for, as (start, end exclusive); None for the whole
    object (no Range, a stale If-Range, several ranges, an empty object, or a header
    we do not parse, which HTTP lets a server ignore). Raises RangeNotSatisfiable."""
    header = request.headers.get("range")
    if header is None or request.method != "GET" or size == 0:
        return None
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        return None
    match = _RANGE.match(header)
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:  # a suffix: the last N bytes
        if int(last) == 0:
            raise RangeNotSatisfiable
        return (max(0, size - int(last)), size)
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return (start, min(int(last) + 1, size) if last else size)


def _chunks(fh: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """Bytes [start, end) of an open object, closed when done or abandoned."""
    with fh:
        if start:
            fh.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:  # shorter than its announced size: fail, never pad
                raise OSError(f"stored object ended {remaining} bytes early")
            remaining -= len(chunk)
            yield chunk


def _open_sized(storage: Storage, key: str) -> tuple[BinaryIO, int]:
    try:
        fh = storage.open(key)
    except NotFound:
        raise _missing() from None
    try:
        if fh.seekable():
            size = fh.seek(0, io.SEEK_END)
            fh.seek(0)
        else:
            size = storage.size(key)
    except BaseException:
        fh.close()
        raise
    return fh, size


def stored_file_response(
    request: Request,
    storage: Storage,
    key: str,
    *,
    media_type: str,
    etag: str,
    filename: str | None = None,
) -> Response:
    """Stream one stored object: sendfile for local storage, the port otherwise."""
    if etag_matches(request, etag):
        return not_modified(etag, IMMUTABLE)
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if isinstance(storage, LocalStorage):
        if not storage.exists(key):
            raise _missing()
        return FileResponse(
            storage.path(key),
            media_type=media_type,
            headers=headers,
            filename=filename,
            content_disposition_type="inline",
        )
    fh, size = _open_sized(storage, key)
    try:
        span = requested_range(request, etag, size) if fh.seekable() else None
    except RangeNotSatisfiable:
        fh.close()
        return error_response(
            416,
            "range_not_satisfiable",
            f"The range starts past the end of the image ({size} bytes).",
            headers={"Content-Range": f"bytes */{size}"},
        )
    headers["Accept-Ranges"] = "bytes" if fh.seekable() else "none"
    if filename:
        headers["Content-Disposition"] = f"inline; filename*=utf-8''{quote(filename)}"
    start, end = span or (0, size)
    headers["Content-Length"] = str(end - start)
    status = 200
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        status = 206
    return StreamingResponse(
        _chunks(fh, start, end), status_code=status, media_type=media_type, headers=headers
    )
