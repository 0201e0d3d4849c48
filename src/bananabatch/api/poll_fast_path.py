"""The pollers' fast path: a job page or an outputs page asked again with the ETag it
already has is answered 304 here, after authentication and before FastAPI's routing,
validation and dependency injection, with the same ETag functions the routes use (so
the two can never disagree). Anything else, and any doubt, goes on to the app."""

from __future__ import annotations

import re
from typing import Any

from anyio import to_thread
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from bananabatch.errors import BananaBatchError
from bananabatch.services import queries

POLLED = re.compile(r"^/api/v1/jobs/(?P<job>[0-9a-f]{32})(?P<outputs>/outputs)?$")
CACHE_CONTROL = b"no-cache"


def _matches(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


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
        if not header or runtime is None:
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            etag = await to_thread.run_sync(self._etag, runtime, match, query)
        except BananaBatchError:  # unknown job and the like: the route answers in full
            await self.app(scope, receive, send)
            return
        if not _matches(header, etag):
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 304,
                "headers": [(b"etag", etag.encode()), (b"cache-control", CACHE_CONTROL)],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    def _etag(runtime: Any, match: re.Match[str], query: str) -> str:
        with runtime.session_factory() as session:
            if match.group("outputs"):
                return queries.outputs_etag(session, match.group("job"), query)
            if query:  # the detail route takes no query: let it judge
                raise BananaBatchError("not a plain detail poll")
            return queries.job_etag(session, match.group("job"))
