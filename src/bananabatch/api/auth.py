"""Authentication: optional password login (signed session cookie) and bearer API tokens.

With `BANANABATCH_PASSWORD` unset everything is open: the server binds to loopback
by default and `serve` refuses a public address without a password. With it set,
every `/api/` route except the public ones below needs either

- the HttpOnly, SameSite=Lax session cookie issued by `POST /auth/login`
  (itsdangerous-signed with `BANANABATCH_SECRET_KEY`, or a key derived from the
  password with scrypt). It names a server-side session row, so logout revokes
  it, and carries a fingerprint of the password, so changing the password logs
  every session out even with a fixed secret key; or
- `Authorization: Bearer <token>` with a token from `BANANABATCH_API_TOKENS`.

State-changing requests that do not carry a bearer token are CSRF-checked: the
`Origin` (or `Referer`) must name this server. Browsers cannot forge those headers
cross-site, and scripts use tokens, which are exempt.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from bananabatch.api.errors import error_response
from bananabatch.api.proxies import FORWARDED_HOST_KEY
from bananabatch.config import Settings
from bananabatch.services.sessions import session_active

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
SESSION_COOKIE = "bananabatch_session"
SESSION_MAX_AGE_SECONDS = 14 * 24 * 3600
PUBLIC_PATHS = frozenset(
    {f"{API_PREFIX}/health", f"{API_PREFIX}/auth/login", f"{API_PREFIX}/auth/session"}
)
# Called by remote workers and RunPod: the signature in the path is the permission.
SIGNED_PREFIXES = (f"{API_PREFIX}/transport/", f"{API_PREFIX}/runpod/webhook/")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SESSION_SALT = "bananabatch.session.v1"
_KDF_SALT = b"bananabatch-session-key-v1"

AuthVia = Literal["open", "cookie", "token"]


def _digest(value: str) -> bytes:
    """Compare fixed-length digests so a compare leaks neither content nor length."""
    return hashlib.sha256(value.encode("utf-8")).digest()


def derive_session_key(settings: Settings) -> str:
    """The cookie signing key: the configured secret, else scrypt(password).

    Deriving from the password keeps sessions valid across restarts without a
    stored secret, and changing the password invalidates every session at once.
    """
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    password = settings.password.get_secret_value() if settings.password else ""
    key = hashlib.scrypt(password.encode("utf-8"), salt=_KDF_SALT, n=2**14, r=8, p=1, dklen=32)
    return key.hex()


class Authenticator:
    """Checks passwords, tokens and session cookies for one server configuration."""

    def __init__(self, settings: Settings) -> None:
        password = settings.password.get_secret_value() if settings.password else ""
        self.required = bool(password)
        self._password_digest = _digest(password) if password else None
        self._token_digests = [
            _digest(t.strip()) for t in settings.api_tokens.split(",") if t.strip()
        ]
        self._serializer: URLSafeTimedSerializer | None = None
        self._password_fingerprint = ""
        if self.required:
            key = derive_session_key(settings)
            self._serializer = URLSafeTimedSerializer(key, salt=_SESSION_SALT)
            # Keyed, so the cookie (readable by its holder) reveals nothing about the password.
            self._password_fingerprint = hmac.new(
                key.encode("utf-8"), b"password:" + password.encode("utf-8"), hashlib.sha256
            ).hexdigest()[:32]
        # Without a password, only requests addressed to a loopback name are answered, so
        # a web page cannot reach the API through DNS rebinding. `serve --insecure-no-auth`
        # on a public address turns this off.
        self.allow_any_host = False

    def check_password(self, candidate: str) -> bool:
        if self._password_digest is None:
            return False
        return hmac.compare_digest(_digest(candidate), self._password_digest)

    def check_token(self, candidate: str) -> bool:
        """Constant-time against every configured token (no early exit on a match)."""
        probe = _digest(candidate)
        found = False
        for digest in self._token_digests:
            found |= hmac.compare_digest(probe, digest)
        return found

    def issue_session(self, token: str) -> str:
        """The cookie value for the server-side session `token`."""
        if self._serializer is None:
            raise RuntimeError("sessions exist only when a password is set")
        return self._serializer.dumps({"v": 2, "sid": token, "pw": self._password_fingerprint})

    def session_token(self, value: str | None) -> str | None:
        """The session token of a validly signed, unexpired cookie issued under the
        current password; None otherwise. Whether the session was revoked is the
        session store's answer (`services/sessions.py`)."""
        if not value or self._serializer is None:
            return None
        try:
            data = self._serializer.loads(value, max_age=SESSION_MAX_AGE_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("v") != 2:
            return None
        token, fingerprint = data.get("sid"), data.get("pw")
        if not isinstance(token, str) or not isinstance(fingerprint, str):
            return None
        if not hmac.compare_digest(fingerprint, self._password_fingerprint):
            return None
        return token


def _is_loopback(hostname: str) -> bool:
    host = hostname.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_host(value: str, default_scheme: str | None = None) -> tuple[str, int | None]:
    """`Example.com:443` -> (`example.com`, 443). Without a port: the default port of
    `default_scheme`, or None (unknown) when no scheme is given."""
    parts = urlsplit(f"//{value}")
    try:
        port = parts.port
    except ValueError:
        return ("", None)
    if port is None and default_scheme is not None:
        port = {"http": 80, "https": 443}.get(default_scheme)
    return ((parts.hostname or "").lower(), port)


def origin_allowed(
    headers: Headers, *, loopback_equivalent: bool, forwarded_host: str | None = None
) -> bool | None:
    """Does the request's Origin (or Referer) name this server?

    This server is the `Host` header, or `forwarded_host`: the X-Forwarded-Host
    of a trusted proxy (`api/proxies.py`), never the raw header, which anyone
    can set to match a foreign Origin. None when the request carries neither
    Origin nor Referer. With `loopback_equivalent`, a loopback page talking to a
    loopback server (a dev server proxying the API) counts as same-origin;
    session cookies get the strict check.
    """
    source = headers.get("origin") or headers.get("referer")
    if not source or source == "null":
        return None if not source else False
    parsed = urlsplit(source)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return False
    src_host, src_port = _split_host(parsed.netloc, parsed.scheme)
    for candidate in (headers.get("host"), forwarded_host):
        if not candidate:
            continue
        # A Host without a port means the client's default port: behind a TLS proxy
        # our own view of the scheme may be wrong, so only an explicit port is compared.
        host, port = _split_host(candidate.strip())
        if host and host == src_host and (port is None or port == src_port):
            return True
        if loopback_equivalent and host and _is_loopback(host) and _is_loopback(src_host):
            return True
    return False


@dataclass
class AuthState:
    via: AuthVia | None
    session_token: str | None = None


class AuthMiddleware:
    """Guards `/api/`: authentication (when a password is set) and the CSRF origin check.

    A middleware rather than per-router dependencies so that no route (including
    FastAPI's own docs and schema routes) can be added without protection.
    """

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.auth = authenticator

    def identify(self, headers: Headers) -> tuple[AuthVia | None, str | None, str | None]:
        """Who is calling: (`via`, problem, session token). `problem` explains a rejected
        credential; a cookie's session still has to be found active (`_session_active`)."""
        if not self.auth.required:
            return "open", None, None
        authorization = headers.get("authorization")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                if self.auth.check_token(token.strip()):
                    return "token", None, None
                return None, "The API token is not valid.", None
            return (
                None,
                "Unsupported Authorization scheme; use 'Authorization: Bearer <token>'.",
                None,
            )
        cookie = _read_cookie(headers, SESSION_COOKIE)
        session = self.auth.session_token(cookie)
        if session is not None:
            return "cookie", None, session
        if cookie:
            return None, "The session has expired or the password changed; log in again.", None
        return None, None, None

    async def _session_active(self, scope: Scope, token: str) -> bool:
        runtime = getattr(scope["app"].state, "runtime", None)
        if runtime is None:
            return False
        active: bool = await run_in_threadpool(session_active, runtime.session_factory, token)
        return active

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith("/api/")
            or scope["path"].startswith(SIGNED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"].rstrip("/") or "/"
        method: str = scope["method"]
        via, problem, session = self.identify(headers)
        if session is not None and not await self._session_active(scope, session):
            via, problem, session = None, "The session has ended (logged out); log in again.", None
        scope.setdefault("state", {})["auth"] = AuthState(via=via, session_token=session)

        if via is None and path not in PUBLIC_PATHS:
            response = error_response(
                401,
                "unauthorized",
                problem or "Log in first, or send 'Authorization: Bearer <token>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return

        if via == "open" and not self.auth.allow_any_host:
            host, _ = _split_host(headers.get("host", ""))
            if not _is_loopback(host):
                response = error_response(
                    403,
                    "host_not_allowed",
                    f"This server has no password, so it only answers requests addressed to "
                    f"localhost or 127.0.0.1, not {host or 'an empty Host'!r} (DNS-rebinding "
                    "protection). Set BANANABATCH_PASSWORD to serve other host names.",
                )
                await response(scope, receive, send)
                return

        if method in UNSAFE_METHODS and via != "token":
            allowed = origin_allowed(
                headers,
                loopback_equivalent=via == "open",
                forwarded_host=scope["state"].get(FORWARDED_HOST_KEY),
            )
            # A session cookie is sent by the browser on its own: demand proof the
            # request comes from our pages. Otherwise refuse only a foreign origin.
            if allowed is False or (allowed is None and via == "cookie"):
                log.warning(
                    "CSRF check refused %s %s (origin=%r)", method, path, headers.get("origin")
                )
                response = error_response(
                    403,
                    "csrf_rejected",
                    "Cross-site request refused: the Origin/Referer header must name this "
                    "server. Scripts should use 'Authorization: Bearer <token>'.",
                )
                await response(scope, receive, send)
                return

        await self.app(scope, receive, send)


def _read_cookie(headers: Headers, name: str) -> str | None:
    for header in headers.getlist("cookie"):
        for item in header.split(";"):
            key, sep, value = item.strip().partition("=")
            if sep and key == name:
                return value.strip('"')
    return None


def retry_after_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))
