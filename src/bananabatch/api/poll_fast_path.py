"""The pollers' fast path: a job page or an outputs page asked again with the ETag it
already has is answered 304 here, after authentication and before FastAPI's routing,
validation and dependency injection, with the same ETag functions the routes use (so
the two can never disagree). The job's poll state comes from `PollCache`: while the
database is unchanged that is a dictionary lookup, no thread and no query. A full
answer is built once per ETag and shared by every poller asking for it meanwhile; a
`since` poll's answer is joined from the kept JSON of the changed rows (on the event
loop when another poller's read has them already). Anything else, and any doubt, goes
on to the app."""

from __future__ import annotations

import re
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bananabatch.api.poll_cache import CachedAnswer, ChangeWatch, PollCache, poll_cache_for
from bananabatch.api.routes._files import etag_in
from bananabatch.errors import BananaBatchError
from bananabatch.services import queries
from bananabatch.services.queries import changes

POLLED = re.compile(r"^/api/v1/jobs/(?P<job>[0-9a-f]{32})(?P<outputs>/outputs)?$")
CACHE_CONTROL = b"no-cache"
SINCE = re.compile(
    r"^since=(?P<since>[A-Za-z0-9_-]{1,4096})(?:&limit=(?P<limit>[1-9][0-9]{0,2}))?$"
)
"""A `since` poll as the web UI sends it (cursors are unpadded URL-safe base64)."""
MAX_LIMIT = 500


class PollFastPathMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = POLLED.match(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("if-none-match")
        runtime = getattr(scope["app"].state, "runtime", None) if "app" in scope else None
        query = scope.get("query_string", b"").decode("latin-1")
        if runtime is None or (not match.group("outputs") and query):
            await self.app(scope, receive, send)  # the detail route takes no query
            return
        cache = poll_cache_for(scope["app"].state, lambda: _new_cache(runtime))
        try:
            state = await cache.state(match.group("job"))
        except BananaBatchError:  # unknown job and the like: the route answers in full
            await self.app(scope, receive, send)
            return
        if match.group("outputs"):
            etag = queries.outputs_etag_of(state, query)
        else:
            etag = queries.job_etag_of(state)
        if header and etag_in(header, etag):
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": [(b"etag", etag.encode()), (b"cache-control", CACHE_CONTROL)],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        since = SINCE.match(query) if match.group("outputs") else None
        limit = int(since.group("limit") or 100) if since is not None else 0
        if since is not None and limit <= MAX_LIMIT:
            try:
                body = await _changes(runtime, state, since.group("since"), limit)
            except BananaBatchError:  # a forged cursor: the route says what is wrong
                await self.app(scope, receive, send)
                return
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"etag", etag.encode()),
                (b"cache-control", CACHE_CONTROL),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self._answer(scope, receive, send, cache, etag)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, cache: PollCache, etag: str
    ) -> None:
        """A full answer: the same page with the same ETag is built once and sent to every
        poller that asks for it until the database changes (50 pollers starting together
        cost one page, not 50)."""
        key = f"{scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
        answer = await cache.answer(key, etag, lambda: self._capture(scope, receive, send, etag))
        # Built for another poller (ours was sent while it was captured):
        if answer is not None and not answer.sent_to(send):
            await answer.send(send)

    async def _capture(
        self, scope: Scope, receive: Receive, send: Send, etag: str
    ) -> CachedAnswer | None:
        """Runs the route, passing its answer through, and keeps it when it is a 200
        carrying exactly this ETag (anything else is sent and forgotten)."""
        start: Message | None = None
        chunks: list[bytes] = []
        keep = True

        async def capture(message: Message) -> None:
            nonlocal start, keep
            if message["type"] == "http.response.start":
                start = message
                tag = Headers(raw=message.get("headers", [])).get("etag")
                keep = message["status"] == 200 and tag == etag
            elif message["type"] == "http.response.body" and keep:
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if start is None or not keep:
            return None
        return CachedAnswer(start["headers"], b"".join(chunks), first=send)


async def _changes(runtime: Any, state: queries.PollState, since: str, limit: int) -> bytes:
    """The `since` answer as the route gives it, for the state the ETag was made from."""
    body = changes.cached_changes_json(state.job_id, since, limit, state.change_seq)
    if body is not None:
        return body
    factory: sessionmaker[Session] = runtime.session_factory

    def read() -> bytes:
        with factory() as session:
            return changes.changed_outputs_json(
                session, state.job_id, since, limit, state.change_seq
            )

    return await to_thread.run_sync(read)


def _new_cache(runtime: Any) -> PollCache:
    return PollCache(runtime.session_factory, ChangeWatch.for_engine(runtime.engine))
