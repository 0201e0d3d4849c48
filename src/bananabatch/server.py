"""`bananabatch serve`: API, orchestrator and web UI in one uvicorn process.

Shutdown (Ctrl-C, SIGTERM) runs the app's lifespan exit, which stops the
orchestrator; tasks that were in flight are re-queued on the next start, so
every job stays resumable.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp

from bananabatch import __version__
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


def banner(settings: Settings, host: str, port: int) -> str:
    """What `serve` says once it listens: where, on which data, with what, and who may in."""
    shown = f"[{host}]" if ":" in host else host
    password = settings.password is not None and bool(settings.password.get_secret_value())
    tokens = len([t for t in settings.api_tokens.split(",") if t.strip()])
    if password:
        auth = "on (password" + (f", {tokens} API token(s))" if tokens else ")")
    elif is_loopback_host(host):
        auth = "off (this machine only; set BANANABATCH_PASSWORD to listen further)"
    else:
        auth = "OFF (--insecure-no-auth: anyone who reaches this address can use it)"
    executor: str = settings.resolved_executor
    if executor == "runpod":
        executor += f" (endpoint {settings.runpod_endpoint_id})"
    return "\n".join(
        [
            f"BananaBatch {__version__} ready: http://{shown}:{port}",
            f"  data dir  {settings.data_dir.resolve()}",
            f"  provider  {settings.resolved_provider} (default model "
            f"{settings.resolved_default_model})",
            f"  executor  {executor}",
            f"  auth      {auth}",
            f"  log level {settings.log_level} (BANANABATCH_LOG_LEVEL, --log-level; "
            "debug adds the access log)",
        ]
    )


class _AnnouncingServer(uvicorn.Server):
    """Announces itself once it listens (a port in use never gets a banner)."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self._announce()


def uvicorn_config(app: ASGIApp, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """How `serve` runs the app (also used by tests, so they exercise the same setup).
    A line per request (the web UI polls every second) only at debug."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        # Off: uvicorn would trust X-Forwarded-For from every local connection. The app's
        # ForwardedHeadersMiddleware trusts BANANABATCH_TRUSTED_PROXIES only.
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        log_level=log_level,
        access_log=log_level == "debug",
    )


def serve(
    settings: Settings,
    host: str,
    port: int,
    insecure_no_auth: bool = False,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Run until interrupted. Raises UnsafeBind before anything starts when `host` is unsafe."""
    check_bind(settings, host, insecure_no_auth)
    from bananabatch.api.app import create_app
    from bananabatch.runtime import build_runtime

    runtime = build_runtime(settings)  # migrates the DB; bad settings fail here, clearly
    if settings.jobs_process:
        from bananabatch.jobs_process import JobsProcess

        runtime.jobs = JobsProcess(settings, runtime.built_at)
    app = create_app(runtime, settings)
    if not is_loopback_host(host):
        # Reached by LAN names/addresses: with a password, auth protects it; without
        # one the operator chose --insecure-no-auth.
        app.state.authenticator.allow_any_host = True
    text = banner(settings, host, port)
    server = _AnnouncingServer(
        uvicorn_config(app, host, port, settings.log_level),
        lambda: (announce or log.warning)(text),
    )
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
