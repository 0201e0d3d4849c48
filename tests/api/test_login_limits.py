"""The login rate limit: per client (by the address a trusted proxy reports, never by a
header anyone can send), with a lockout window, and tighter per client while the account
is under attack from many addresses."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError

from bananabatch.api.app import create_app
from bananabatch.api.proxies import TrustedProxies
from bananabatch.api.ratelimit import LoginRateLimiter
from bananabatch.config import Settings, parse_networks
from bananabatch.runtime import build_runtime
from bananabatch.server import uvicorn_config
from tests.api.conftest import PASSWORD
from tests.api.helpers import API, BASE_URL, error_of


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn configured exactly as `serve` configures it."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn_config(app, "127.0.0.1", port)
    config.log_level = "warning"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


def _secured(settings: Settings, **extra: object) -> FastAPI:
    rt = build_runtime(settings.model_copy(update={"password": SecretStr(PASSWORD), **extra}))
    return create_app(rt)


def test_rotating_x_forwarded_for_does_not_bypass_the_limit(settings: Settings) -> None:
    """From a local connection with no trusted proxy configured, X-Forwarded-For is ignored."""
    with served(_secured(settings)) as url, httpx.Client(base_url=url) as c:
        codes = []
        for i in range(12):
            r = c.post(
                f"{API}/auth/login",
                json={"password": "wrong"},
                headers={"Origin": url, "X-Forwarded-For": f"10.1.{i}.{i}"},
            )
            codes.append(r.status_code)
        assert codes[:10] == [401] * 10
        assert codes[10:] == [429, 429]
        assert error_of(r)["code"] == "too_many_requests"


async def _login(client: httpx.AsyncClient, password: str, **headers: str) -> httpx.Response:
    return await client.post(
        f"{API}/auth/login", json={"password": password}, headers={"Origin": BASE_URL, **headers}
    )


def _client(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 1234)), base_url=BASE_URL
    )


async def test_the_right_password_works_below_the_limit_and_clears_failures(
    settings: Settings,
) -> None:
    app = _secured(settings)
    async with _client(app) as c:
        for _ in range(2):
            for _ in range(9):
                assert (await _login(c, "wrong")).status_code == 401
            assert (await _login(c, PASSWORD)).status_code == 200


async def test_a_lockout_ends_and_then_the_right_password_works(settings: Settings) -> None:
    app = _secured(settings)
    now = [1000.0]
    app.state.login_limiter = LoginRateLimiter(clock=lambda: now[0])
    async with _client(app) as c:
        for _ in range(10):
            assert (await _login(c, "wrong")).status_code == 401
        r = await _login(c, PASSWORD)  # locked out: not even checked
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) == 15 * 60
        async with _client(app, "192.0.2.7") as other:
            assert (await _login(other, PASSWORD)).status_code == 200  # per client
        now[0] += 15 * 60 + 1
        assert (await _login(c, PASSWORD)).status_code == 200


async def test_a_trusted_proxy_reports_the_client_and_spoofed_hops_do_not_help(
    settings: Settings,
) -> None:
    app = _secured(settings, trusted_proxies="127.0.0.1, 10.0.0.0/8")
    async with _client(app) as proxy:
        for i in range(10):
            # The client wrote the first hop; our proxies appended the rest.
            xff = f"198.51.100.{i}, 203.0.113.9, 10.1.2.3"
            assert (await _login(proxy, "wrong", **{"X-Forwarded-For": xff})).status_code == 401
        r = await _login(proxy, PASSWORD, **{"X-Forwarded-For": "1.1.1.1, 203.0.113.9"})
        assert r.status_code == 429  # 203.0.113.9 is locked out, whatever it claims
        r = await _login(proxy, PASSWORD, **{"X-Forwarded-For": "203.0.113.10"})
        assert r.status_code == 200  # another client behind the same proxy


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(settings: Settings) -> None:
    app = _secured(settings, trusted_proxies="10.0.0.1")
    async with _client(app, "192.0.2.50") as c:
        for i in range(10):
            r = await _login(c, "wrong", **{"X-Forwarded-For": f"198.51.100.{i}"})
            assert r.status_code == 401
        assert (await _login(c, "wrong", **{"X-Forwarded-For": "1.2.3.4"})).status_code == 429


async def test_guessing_from_many_addresses_tightens_every_client(settings: Settings) -> None:
    app = _secured(settings)
    app.state.login_limiter = LoginRateLimiter(account_max_failures=5)
    for i in range(6):
        async with _client(app, f"198.51.100.{i}") as c:
            assert (await _login(c, "wrong")).status_code == 401
    async with _client(app, "198.51.100.99") as c:
        assert (await _login(c, "wrong")).status_code == 401
        assert (await _login(c, PASSWORD)).status_code == 429  # one failure is the budget now
    async with _client(app, "192.0.2.1") as user:
        assert (await _login(user, PASSWORD)).status_code == 200  # a clean client gets in


def test_trusted_proxies_setting_is_checked(settings: Settings) -> None:
    assert [str(n) for n in parse_networks(" 127.0.0.1, 10.0.0.0/8 ,::1,")] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]
    with pytest.raises(ValidationError, match="not an IP address"):
        Settings(data_dir=settings.data_dir, trusted_proxies="127.0.0.1, proxy.lan")


def test_client_from_forwarded_for() -> None:
    proxies = TrustedProxies.parse("127.0.0.1,10.0.0.0/8")
    assert proxies.client_from("127.0.0.1", "1.2.3.4, 10.0.0.5") == "1.2.3.4"
    assert proxies.client_from("127.0.0.1", "10.0.0.6, 10.0.0.5") == "10.0.0.6"
    assert proxies.client_from("127.0.0.1", "not-an-ip") == "127.0.0.1"
    assert proxies.client_from("192.0.2.1", "1.2.3.4") == "192.0.2.1"
    assert proxies.client_from("127.0.0.1", None) == "127.0.0.1"
