"""Login, logout and session status (the cookie half of authentication)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from bananabatch.api.auth import (
    SESSION_COOKIE,
    SESSION_MAX_AGE_SECONDS,
    Authenticator,
    AuthState,
    retry_after_seconds,
)
from bananabatch.api.deps import RuntimeDep
from bananabatch.api.ratelimit import LoginRateLimiter
from bananabatch.api.schemas import LoginIn, SessionOut
from bananabatch.errors import TooManyRequests, Unauthorized
from bananabatch.services.sessions import create_session, revoke_session

log = logging.getLogger(__name__)
router = APIRouter(prefix="/auth", tags=["auth"])


def _authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.authenticator
    return auth


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login", response_model=SessionOut, summary="Log in with the server password")
async def login(
    body: LoginIn, request: Request, response: Response, runtime: RuntimeDep
) -> SessionOut:
    """Sets the HttpOnly session cookie. 10 wrong passwords within 15 minutes lock the
    client address out for 15 minutes (fewer while many addresses guess at once)."""
    auth = _authenticator(request)
    if not auth.required:
        return SessionOut(authenticated=True, auth_required=False)
    limiter: LoginRateLimiter = request.app.state.login_limiter
    client = _client(request)
    wait = limiter.check(client)
    if wait is not None:
        seconds = retry_after_seconds(wait)
        log.warning("login refused: %s is locked out", client)
        raise TooManyRequests(
            f"Too many wrong passwords from this address; try again in {seconds} seconds.",
            details={"retry_after": seconds},
        )
    if not auth.check_password(body.password):
        limiter.failure(client)
        log.warning("failed login from %s", client)
        raise Unauthorized("Wrong password.")
    limiter.success(client)
    token = await run_in_threadpool(
        create_session, runtime.session_factory, SESSION_MAX_AGE_SECONDS
    )
    response.set_cookie(
        SESSION_COOKIE,
        auth.issue_session(token),
        max_age=SESSION_MAX_AGE_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    log.info("login from %s", client)
    return SessionOut(authenticated=True, auth_required=True)


@router.post("/logout", response_model=SessionOut, summary="Log out (ends the session)")
async def logout(request: Request, response: Response, runtime: RuntimeDep) -> SessionOut:
    """Revokes this cookie's session on the server (a copy of the cookie stops working
    too) and clears the cookie. Other sessions stay logged in."""
    auth = _authenticator(request)
    state: AuthState | None = getattr(request.state, "auth", None)
    if state is not None and state.session_token is not None:
        await run_in_threadpool(revoke_session, runtime.session_factory, state.session_token)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return SessionOut(authenticated=not auth.required, auth_required=auth.required)


@router.get("/session", response_model=SessionOut, summary="Am I logged in?")
async def get_session(request: Request) -> SessionOut:
    auth = _authenticator(request)
    state: AuthState | None = getattr(request.state, "auth", None)
    via = state.via if state is not None else None
    return SessionOut(authenticated=via is not None, auth_required=auth.required)
