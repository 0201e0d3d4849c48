"""Authentication, CSRF and the login rate limit, with BANANABATCH_PASSWORD set."""

from __future__ import annotations

import re
from collections.abc import Callable
from http.cookies import SimpleCookie

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from bananabatch.api.app import create_app
from bananabatch.api.auth import PUBLIC_PATHS, SESSION_COOKIE, SIGNED_PREFIXES
from bananabatch.api.ratelimit import LoginRateLimiter
from tests.api.conftest import PASSWORD, TOKEN
from tests.api.helpers import API, BASE_URL, error_of

ORIGIN = {"Origin": BASE_URL}
EVIL = {"Origin": "https://evil.example"}


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, concrete path) in the OpenAPI schema, path parameters filled in."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "0123456789abcdef0123456789abcdef", path)
        for method in operations:
            out.append((method.upper(), concrete))
    return out


async def _login(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    return await client.post(f"{API}/auth/login", json={"password": password}, headers=ORIGIN)


async def test_every_route_needs_credentials(anon: httpx.AsyncClient, secured_app: FastAPI) -> None:
    routes = _routes(secured_app)
    assert len(routes) >= 30
    checked = signed = 0
    for method, path in routes:
        r = await anon.request(method, path, json={}, headers=ORIGIN)
        if path in PUBLIC_PATHS:
            assert r.status_code != 401, (method, path)
            continue
        if path.startswith(SIGNED_PREFIXES):  # a worker's signed URL: nothing without it
            assert r.status_code == 403, (method, path, r.status_code)
            assert error_of(r)["code"] == "forbidden"
            signed += 1
            continue
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert error_of(r)["code"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"
        checked += 1
    assert signed == 3
    assert checked == len(routes) - 3 - signed
    for extra in (f"{API}/openapi.json", f"{API}/docs", f"{API}/no-such-route"):
        assert (await anon.get(extra)).status_code == 401


async def test_public_routes(anon: httpx.AsyncClient) -> None:
    health = await anon.get(f"{API}/health")
    assert health.status_code == 200 and health.json()["auth_required"] is True
    session = await anon.get(f"{API}/auth/session")
    assert session.json() == {"authenticated": False, "auth_required": True}


async def test_login_sets_a_safe_cookie_and_logout_clears_it(anon: httpx.AsyncClient) -> None:
    r = await _login(anon, "wrong")
    assert r.status_code == 401
    assert error_of(r)["message"] == "Wrong password."
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")

    r = await _login(anon)
    assert r.status_code == 200
    assert r.json() == {"authenticated": True, "auth_required": True}
    raw = r.headers["set-cookie"]
    cookie = SimpleCookie()
    cookie.load(raw)
    morsel = cookie[SESSION_COOKIE]
    assert "httponly" in raw.lower()
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) > 3600
    assert PASSWORD not in raw

    assert (await anon.get(f"{API}/jobs")).status_code == 200
    assert (await anon.get(f"{API}/auth/session")).json()["authenticated"] is True

    r = await anon.post(f"{API}/auth/logout", headers=ORIGIN)
    assert r.status_code == 200
    assert "max-age=0" in r.headers["set-cookie"].lower()
    anon.cookies.clear()
    assert (await anon.get(f"{API}/jobs")).status_code == 401


async def test_tampered_or_foreign_cookies_are_refused(anon: httpx.AsyncClient) -> None:
    await _login(anon)
    good = anon.cookies[SESSION_COOKIE]
    anon.cookies.clear()
    for value in (good[:-2] + "xx", "garbage", good.split(".")[0]):
        anon.cookies.set(SESSION_COOKIE, value)
        r = await anon.get(f"{API}/jobs")
        assert r.status_code == 401, value
        anon.cookies.clear()


async def test_bearer_tokens(anon: httpx.AsyncClient) -> None:
    ok = await anon.get(f"{API}/jobs", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    other = await anon.get(f"{API}/jobs", headers={"Authorization": "Bearer other-token"})
    assert other.status_code == 200
    for header in (f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN, f"Bearer {PASSWORD}"):
        r = await anon.get(f"{API}/jobs", headers={"Authorization": header})
        assert r.status_code == 401, header
        error_of(r)


async def test_csrf_origin_check_for_cookie_sessions(anon: httpx.AsyncClient) -> None:
    await _login(anon)
    body = {"name": "x"}
    r = await anon.post(f"{API}/datasets", json=body, headers=EVIL)
    assert r.status_code == 403
    assert error_of(r)["code"] == "csrf_rejected"
    r = await anon.post(f"{API}/datasets", json=body)  # neither Origin nor Referer
    assert r.status_code == 403
    r = await anon.post(
        f"{API}/datasets", json=body, headers={"Referer": "https://evil.example/page"}
    )
    assert r.status_code == 403
    r = await anon.post(f"{API}/datasets", json=body, headers={"Origin": "null"})
    assert r.status_code == 403
    r = await anon.post(f"{API}/datasets", json=body, headers=ORIGIN)
    assert r.status_code == 201
    r = await anon.post(f"{API}/datasets", json=body, headers={"Referer": f"{BASE_URL}/jobs/"})
    assert r.status_code == 201
    r = await anon.post(f"{API}/datasets", json=body, headers={"Origin": "http://127.0.0.1:8080"})
    assert r.status_code == 403  # another port is another origin
    # Reads are not state changes: no origin needed.
    assert (await anon.get(f"{API}/datasets", headers=EVIL)).status_code == 200


async def test_bearer_requests_are_exempt_from_csrf(anon: httpx.AsyncClient) -> None:
    r = await anon.post(
        f"{API}/datasets",
        json={"name": "x"},
        headers={**EVIL, "Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 201


async def test_login_from_a_foreign_origin_is_refused(anon: httpx.AsyncClient) -> None:
    r = await anon.post(f"{API}/auth/login", json={"password": PASSWORD}, headers=EVIL)
    assert r.status_code == 403


async def test_login_rate_limit(anon: httpx.AsyncClient) -> None:
    for _ in range(10):
        assert (await _login(anon, "nope")).status_code == 401
    r = await _login(anon)  # even the right password waits
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    err = error_of(r)
    assert err["code"] == "too_many_requests"
    assert err["details"]["retry_after"] == int(r.headers["retry-after"])


def test_rate_limiter_locks_out_and_lets_go() -> None:
    now = [0.0]
    limiter = LoginRateLimiter(
        max_failures=2, window_seconds=60, lockout_seconds=300, clock=lambda: now[0]
    )
    limiter.failure("a")
    assert limiter.check("a") is None
    now[0] = 61.0
    limiter.failure("a")  # the first failure left the window
    assert limiter.check("a") is None
    limiter.failure("a")
    assert limiter.check("a") == pytest.approx(300)
    assert limiter.check("b") is None  # per client
    now[0] = 361.0
    assert limiter.check("a") is None


def test_rate_limiter_bounds_memory() -> None:
    limiter = LoginRateLimiter(max_failures=1, max_clients=3)
    for i in range(10):
        limiter.failure(f"10.0.0.{i}")
    assert len(limiter._clients) == 3


def test_rate_limiter_groups_an_ipv6_host_by_its_64() -> None:
    assert LoginRateLimiter.client_key("2001:db8::1") == LoginRateLimiter.client_key(
        "2001:db8::ffff:1"
    )
    assert LoginRateLimiter.client_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert LoginRateLimiter.client_key("unknown") == "unknown"


async def test_without_a_password_everything_is_open_but_cross_site_writes_are_not(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get(f"{API}/jobs")).status_code == 200
    session = (await client.get(f"{API}/auth/session")).json()
    assert session == {"authenticated": True, "auth_required": False}
    login = await client.post(f"{API}/auth/login", json={"password": "anything"})
    assert login.json() == {"authenticated": True, "auth_required": False}
    assert "set-cookie" not in login.headers
    assert (await client.post(f"{API}/datasets", json={})).status_code == 201
    assert (await client.post(f"{API}/datasets", json={}, headers=ORIGIN)).status_code == 201
    r = await client.post(f"{API}/datasets", json={}, headers=EVIL)
    assert r.status_code == 403
    # A dev server on another loopback port may call a loopback API.
    r = await client.post(
        f"{API}/datasets",
        json={},
        headers={"Origin": "http://localhost:3000", "Host": "127.0.0.1:8000"},
    )
    assert r.status_code == 201


async def test_secret_key_setting_signs_cookies(
    secured_app: FastAPI, make_client: Callable[..., httpx.AsyncClient]
) -> None:
    """A cookie from one server is not valid on a server with another password/key."""
    async with make_client(secured_app) as c:
        await _login(c)
        cookie = c.cookies[SESSION_COOKIE]
    rt = secured_app.state.runtime
    other = create_app(rt, rt.settings.model_copy(update={"secret_key": SecretStr("k2")}))
    async with make_client(other) as c:
        c.cookies.set(SESSION_COOKIE, cookie)
        assert (await c.get(f"{API}/jobs")).status_code == 401
        c.cookies.clear()
        await _login(c)
        assert (await c.get(f"{API}/jobs")).status_code == 200


async def test_without_a_password_only_loopback_host_names_are_answered(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """DNS rebinding: evil.example resolving to 127.0.0.1 must not reach the open API."""
    rebound = {"Host": "evil.example:8000", "Origin": "http://evil.example:8000"}
    r = await client.get(f"{API}/jobs", headers={"Host": "evil.example:8000"})
    assert r.status_code == 403
    err = error_of(r)
    assert err["code"] == "host_not_allowed" and "BANANABATCH_PASSWORD" in err["message"]
    assert (await client.post(f"{API}/datasets", json={}, headers=rebound)).status_code == 403
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        assert (await client.get(f"{API}/jobs", headers={"Host": host})).status_code == 200
    app.state.authenticator.allow_any_host = True  # what `serve --insecure-no-auth` sets
    assert (await client.get(f"{API}/jobs", headers={"Host": "nas.lan:8000"})).status_code == 200
    r = await client.post(f"{API}/datasets", json={}, headers=rebound)
    assert r.status_code == 201  # same-origin for that name


async def test_with_a_password_any_host_name_may_log_in(anon: httpx.AsyncClient) -> None:
    headers = {"Host": "photos.example.com", "Origin": "https://photos.example.com"}
    r = await anon.post(f"{API}/auth/login", json={"password": PASSWORD}, headers=headers)
    assert r.status_code == 200
