"""Sessions are revocable: logout ends the session on the server, and a password change
ends every session, even with a fixed BANANABATCH_SECRET_KEY."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from bananabatch.api.app import create_app
from bananabatch.api.auth import SESSION_COOKIE
from bananabatch.config import Settings
from bananabatch.runtime import Runtime, build_runtime
from tests.api.conftest import PASSWORD
from tests.api.helpers import API, BASE_URL, error_of

ORIGIN = {"Origin": BASE_URL}


@pytest.fixture
def keyed_runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(
        settings.model_copy(
            update={"password": SecretStr(PASSWORD), "secret_key": SecretStr("fixed-key")}
        )
    )
    yield rt
    rt.engine.dispose()


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


async def _login(c: httpx.AsyncClient, password: str = PASSWORD) -> str:
    r = await c.post(f"{API}/auth/login", json={"password": password}, headers=ORIGIN)
    assert r.status_code == 200, r.text
    return c.cookies[SESSION_COOKIE]


async def test_logout_revokes_the_session_server_side(keyed_runtime: Runtime) -> None:
    app = create_app(keyed_runtime)
    async with _client(app) as c, _client(app) as other:
        cookie = await _login(c)
        await _login(other)
        assert (await c.post(f"{API}/auth/logout", headers=ORIGIN)).status_code == 200
        c.cookies.set(SESSION_COOKIE, cookie)  # the old cookie, replayed
        r = await c.get(f"{API}/jobs")
        assert r.status_code == 401
        assert "log in again" in error_of(r)["message"]
        assert (await c.get(f"{API}/auth/session")).json()["authenticated"] is False
        assert (await other.get(f"{API}/jobs")).status_code == 200  # only that session ended


async def test_a_password_change_ends_every_session(keyed_runtime: Runtime) -> None:
    async with _client(create_app(keyed_runtime)) as c:
        cookie = await _login(c)
    changed = keyed_runtime.settings.model_copy(update={"password": SecretStr("new password")})
    async with _client(create_app(keyed_runtime, changed)) as c:
        c.cookies.set(SESSION_COOKIE, cookie)
        assert (await c.get(f"{API}/jobs")).status_code == 401
        c.cookies.clear()
        await _login(c, "new password")
        assert (await c.get(f"{API}/jobs")).status_code == 200


async def test_a_session_survives_a_restart_with_the_same_settings(
    keyed_runtime: Runtime,
) -> None:
    async with _client(create_app(keyed_runtime)) as c:
        cookie = await _login(c)
    async with _client(create_app(keyed_runtime)) as c:
        c.cookies.set(SESSION_COOKIE, cookie)
        assert (await c.get(f"{API}/jobs")).status_code == 200
