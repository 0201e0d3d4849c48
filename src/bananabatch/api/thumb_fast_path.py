"""Thumbnails served before FastAPI: a gallery scroll asks for hundreds of small files a
second, and the route's routing, dependency injection, session and two thread hops cost
far more than reading a few kilobytes from the page cache.

An asset's thumbnail key comes from its id (content-addressed). An output's comes from
its job, found once by a lookup and kept: an output never changes job, and whenever its
image changes its thumbnail file is deleted first (regeneration, job deletion), so a
file present at the key is the thumbnail of the current image. A missing file, an
unknown id, a store that is not local disk, or any doubt: the route answers (it makes
missing thumbnails, falls back to the image and says 404). Runs after authentication;
the ids are checked by shape before any key is built, so no request names a file.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import anyio
from sqlalchemy import select
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from bananabatch.api.routes._files import IMMUTABLE, etag_in
from bananabatch.db.models import Output, OutputStatus
from bananabatch.services.queries.paging import output_etag, output_version
from bananabatch.storage.keys import output_thumb_key, thumb_key
from bananabatch.storage.local import LocalStorage

THUMBNAIL = re.compile(
    r"^/api/v1/(?:outputs/(?P<output>[0-9a-f]{32})|assets/(?P<asset>[0-9a-f]{64}))/thumbnail$"
)
MAX_REMEMBERED = 200_000
"""Outputs whose job and version are kept (about 200 bytes each)."""
MAX_INLINE_BYTES = 1024 * 1024
"""Larger files (never a thumbnail we made) are left to the route's sendfile."""


class ThumbnailFastPathMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._outputs: OrderedDict[str, tuple[str, str]] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = THUMBNAIL.match(scope["path"]) if scope["type"] == "http" else None
        runtime = getattr(scope["app"].state, "runtime", None) if match else None
        storage = getattr(runtime, "storage", None)
        if match is None or scope["method"] != "GET" or not isinstance(storage, LocalStorage):
            await self.app(scope, receive, send)
            return
        output_id = match.group("output")
        if output_id is None:
            asset_id = match.group("asset")
            key, etag = thumb_key(asset_id), f'"t-{asset_id}"'
        else:
            known = self._outputs.get(output_id) or await self._look_up(runtime, output_id)
            if known is None:
                await self.app(scope, receive, send)
                return
            job_id, version = known
            key, etag = output_thumb_key(job_id, output_id), output_etag("ot", output_id, version)
        data = _read_small(storage, key)
        if data is None:  # not made yet, or deleted with its image: the route decides
            if output_id is not None:
                self._outputs.pop(output_id, None)
            await self.app(scope, receive, send)
            return
        headers = [(b"etag", etag.encode()), (b"cache-control", IMMUTABLE.encode())]
        if etag_in(Headers(scope=scope).get("if-none-match"), etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [(b"content-type", b"image/webp"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def _look_up(self, runtime: Any, output_id: str) -> tuple[str, str] | None:
        """The output's job and image version, if it has an image; kept for next time."""

        def query() -> tuple[str, str] | None:
            with runtime.session_factory() as session:
                row = session.execute(
                    select(Output.job_id, Output.finished_at, Output.regenerations).where(
                        Output.id == output_id,
                        Output.status == OutputStatus.succeeded,
                        Output.storage_key.is_not(None),
                    )
                ).first()
            return None if row is None else (row[0], output_version(row[1], row[2]))

        known = await anyio.to_thread.run_sync(query)
        if known is not None:
            self._outputs[output_id] = known
            if len(self._outputs) > MAX_REMEMBERED:
                self._outputs.popitem(last=False)
        return known


def _read_small(storage: LocalStorage, key: str) -> bytes | None:
    """The file's bytes, read on the event loop: a thumbnail is a few kilobytes, which
    the page cache hands over in microseconds (a thread hop costs more)."""
    try:
        with storage.path(key).open("rb") as fh:
            data = fh.read(MAX_INLINE_BYTES + 1)
    except OSError:
        return None
    return data if 0 < len(data) <= MAX_INLINE_BYTES else None
