"""`bananabatch serve`: API, orchestrator and web UI in one uvicorn process.

Shutdown (Ctrl-C, SIGTERM) runs the app's lifespan exit, which stops the
orchestrator; tasks that were in flight are re-queued on the next start, so
every job stays resumable.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

import uvicorn
from starlette.types import ASGIApp

from bananabatch.config import Settings
from bananabatch.errors import BananaBatchError, ServiceUnavailable

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 10


class UnsafeBind(BananaBatchError):
    """Listening on a reachable address with no password would open the API to anyone."""

    status_code = 400
    code = "unsafe_bind"


def is_loopback_host(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str, insecure_no_auth: bool) -> None:
    """Refuse a non-loopback host without a password, unless explicitly overridden."""
    if is_loopback_host(host):
        return
    if settings.password is not None and settings.password.get_secret_value():
        return
    if insecure_no_auth:
        log.warning(
            "listening on %s WITHOUT authentication (--insecure-no-auth): anyone who can reach "
            "this address can use the API",
            host,
        )
        return
    raise UnsafeBind(
        f"Refusing to listen on {host} without a password: anyone who can reach that address "
        "could read your images and spend your Gemini/RunPod budget. Set BANANABATCH_PASSWORD "
        "(and BANANABATCH_API_TOKENS for scripts), or listen on 127.0.0.1, or pass "
        "--insecure-no-auth if the network is trusted."
    )


def uvicorn_config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    """How `serve` runs the app (also used by tests, so they exercise the same setup)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        # Off: uvicorn would trust X-Forwarded-For from every local connection. The app's
        # ForwardedHeadersMiddleware trusts BANANABATCH_TRUSTED_PROXIES only.
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        log_level="info",
    )


def serve(settings: Settings, host: str, port: int, insecure_no_auth: bool = False) -> None:
    """Run until interrupted. Raises UnsafeBind before anything starts when `host` is unsafe."""
    check_bind(settings, host, insecure_no_auth)
    from bananabatch.api.app import create_app
    from bananabatch.runtime import build_runtime

    runtime = build_runtime(settings)  # migrates the DB; bad settings fail here, clearly
    app = create_app(runtime, settings)
    if not is_loopback_host(host):
        # Reached by LAN names/addresses: with a password, auth protects it; without
        # one the operator chose --insecure-no-auth.
        app.state.authenticator.allow_any_host = True
    server = uvicorn.Server(uvicorn_config(app, host, port))
    log.info("serving on http://%s:%d", host, port)
    try:
        server.run()
    except SystemExit:
        if server.started:
            raise
    if not server.started:
        asyncio.run(runtime.stop())  # the lifespan never took it over
        cause = getattr(app.state, "startup_error", None)
        reason = (
            cause.message
            if isinstance(cause, BananaBatchError)
            else "see the log above (port in use, or a bad setting)"
        )
        raise ServiceUnavailable(f"The server did not start on {host}:{port}: {reason}")
