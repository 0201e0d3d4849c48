"""The FastAPI application: `/api/v1` routes, middleware, error mapping, web UI.

`create_app(runtime)` wires an existing runtime (tests, `serve`); with none, the
lifespan builds one from the settings. Either way the lifespan starts the
runtime's orchestrator on startup and stops it on shutdown, leaving every job
resumable.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

import bananabatch
from bananabatch.api.auth import API_PREFIX, Authenticator, AuthMiddleware
from bananabatch.api.errors import install_error_handlers
from bananabatch.api.middleware import BodyLimitMiddleware
from bananabatch.api.openapi import install_openapi
from bananabatch.api.poll_fast_path import PollFastPathMiddleware
from bananabatch.api.proxies import ForwardedHeadersMiddleware, TrustedProxies
from bananabatch.api.ratelimit import LoginRateLimiter
from bananabatch.api.routes import (
    assets,
    dataset_library,
    datasets,
    export,
    health,
    job_housekeeping,
    jobs,
    models,
    outputs,
    spend,
    transport,
)
from bananabatch.api.routes import auth as auth_routes
from bananabatch.api.schemas import ErrorResponse
from bananabatch.api.static import StaticUI, resolve_web_dir
from bananabatch.api.thumb_fast_path import ThumbnailFastPathMiddleware
from bananabatch.config import Settings, get_settings
from bananabatch.runtime import Runtime, build_runtime

log = logging.getLogger(__name__)


def operation_id(route: APIRoute) -> str:
    """`<tag>-<function name>`: stable ids the web UI's generated client is keyed by."""
    tag = route.tags[0] if route.tags else "api"
    return f"{tag}-{route.name}"


def api_router() -> APIRouter:
    router = APIRouter(
        prefix=API_PREFIX,
        responses={"default": {"model": ErrorResponse, "description": "Error (JSON body)."}},
    )
    for module in (
        health,
        auth_routes,
        models,
        datasets,
        dataset_library,
        assets,
        jobs,
        job_housekeeping,
        outputs,
        export,
        transport,
        spend,
    ):
        router.include_router(module.router)
    return router


def create_app(runtime: Runtime | None = None, settings: Settings | None = None) -> FastAPI:
    if settings is None:
        settings = runtime.settings if runtime is not None else get_settings()
    resolved_settings = settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt: Runtime | None = app.state.runtime
        if rt is None:
            rt = await run_in_threadpool(build_runtime, resolved_settings)
            app.state.runtime = rt
        try:
            await rt.start()
        except Exception as exc:
            app.state.startup_error = exc  # `serve` reports it in words
            raise
        log.info("BananaBatch %s ready", bananabatch.__version__)
        try:
            yield
        finally:
            cache = getattr(app.state, "poll_cache", None)
            if cache is not None:
                cache.close()
            await rt.stop()

    app = FastAPI(
        title="BananaBatch",
        version=bananabatch.__version__,
        summary="Batch image generation with Nano Banana (Gemini image models).",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    authenticator = Authenticator(settings)
    app.state.authenticator = authenticator
    app.state.login_limiter = LoginRateLimiter()

    install_error_handlers(app)
    app.include_router(api_router())
    install_openapi(app)

    # Added first = innermost: after authentication, before routing (see the module).
    app.add_middleware(PollFastPathMiddleware)
    app.add_middleware(ThumbnailFastPathMiddleware)
    # Added last = outermost: authentication answers before any body is read.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(AuthMiddleware, authenticator=authenticator)
    # Outermost: the client address and scheme are settled before anything uses them.
    app.add_middleware(
        ForwardedHeadersMiddleware, proxies=TrustedProxies.parse(settings.trusted_proxies)
    )

    # Not a mount: as the router's fallback, /api paths keep their 405s and JSON 404s.
    web_dir = resolve_web_dir(settings)
    if web_dir is not None:
        log.info("serving the web UI from %s", web_dir)
    app.router.default = StaticUI(web_dir)

    return app
