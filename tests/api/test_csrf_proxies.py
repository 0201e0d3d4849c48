"""The CSRF origin check believes X-Forwarded-Host only from a trusted proxy."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.runtime import build_runtime
from tests.api.conftest import PASSWORD
from tests.api.helpers import API, BASE_URL, error_of

EVIL = "https://evil.example"
SITE = "https://photos.example.com"


def _app(settings: Settings, **extra: object) -> FastAPI:
    return create_app(build_runtime(settings.model_copy(update=extra)))


def _client(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 1234)), base_url=BASE_URL
    )


async def _logged_in(c: httpx.AsyncClient) -> None:
    r = await c.post(f"{API}/auth/login", json={"password": PASSWORD}, headers={"Origin": BASE_URL})
    assert r.status_code == 200


async def test_a_foreign_origin_matching_x_forwarded_host_is_refused(settings: Settings) -> None:
    app = _app(settings, password=SecretStr(PASSWORD))
    async with _client(app) as c:
        await _logged_in(c)
        forged = {"Origin": EVIL, "X-Forwarded-Host": "evil.example"}
        r = await c.post(f"{API}/datasets", json={"name": "x"}, headers=forged)
        assert r.status_code == 403
        assert error_of(r)["code"] == "csrf_rejected"


async def test_without_a_password_x_forwarded_host_cannot_vouch_either(
    settings: Settings,
) -> None:
    async with _client(_app(settings)) as c:
        forged = {"Origin": EVIL, "X-Forwarded-Host": "evil.example"}
        r = await c.post(f"{API}/datasets", json={"name": "x"}, headers=forged)
        assert r.status_code == 403


async def test_a_trusted_proxy_may_name_the_public_host(settings: Settings) -> None:
    app = _app(settings, password=SecretStr(PASSWORD), trusted_proxies="127.0.0.1")
    behind_proxy = {"Origin": SITE, "X-Forwarded-Host": "photos.example.com"}
    async with _client(app) as proxy:
        await _logged_in(proxy)
        r = await proxy.post(f"{API}/datasets", json={"name": "x"}, headers=behind_proxy)
        assert r.status_code == 201, r.text
        # A client in front of the proxy cannot prepend its own value.
        forged = {"Origin": EVIL, "X-Forwarded-Host": "evil.example, photos.example.com"}
        r = await proxy.post(f"{API}/datasets", json={"name": "x"}, headers=forged)
        assert r.status_code == 403
    async with _client(app, "192.0.2.9") as direct:
        await _logged_in(direct)
        r = await direct.post(f"{API}/datasets", json={"name": "x"}, headers=behind_proxy)
        assert r.status_code == 403
