"""Path traversal on every path parameter, and the static web UI with route fallback."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.db.models import OutputStatus
from bananabatch.runtime import Runtime, build_runtime
from tests.api.helpers import API, BASE_URL, error_of, insert_job

SECRET = "TOP-SECRET-CONTENT-42"
ATTACKS = [
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..",
    "%2E%2E",
    "%2Fetc%2Fpasswd",
    "..%5C..%5Cwindows%5Cwin.ini",
    "....%2F%2F....%2F%2Fetc%2Fpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "C:%5Cwindows",
    "secret.txt%00.png",
    "..%2Fsecret.txt",
]


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    root = tmp_path / "web" / "out"
    (root / "jobs" / "view").mkdir(parents=True)
    (root / "_next" / "static" / "chunks").mkdir(parents=True)
    (root / "index.html").write_text("<html>home</html>")
    (root / "404.html").write_text("<html>not found page</html>")
    (root / "jobs" / "view" / "index.html").write_text("<html>job view</html>")
    (root / "settings.html").write_text("<html>settings</html>")
    (root / "_next" / "static" / "chunks" / "app.js").write_text("console.log(1)")
    (tmp_path / "web" / "secret.txt").write_text(SECRET)
    (tmp_path / "secret.txt").write_text(SECRET)
    os.symlink(tmp_path / "web", root / "escape")
    return root


@pytest.fixture
def web_app(settings: Settings, web_dir: Path) -> tuple[FastAPI, Runtime]:
    rt = build_runtime(settings.model_copy(update={"web_dir": web_dir}))
    return create_app(rt), rt


@pytest.fixture
async def web(web_app: tuple[FastAPI, Runtime]) -> AsyncIterator[httpx.AsyncClient]:
    app, rt = web_app
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as client:
        yield client
    rt.engine.dispose()


async def test_every_path_parameter_refuses_traversal(
    web_app: tuple[FastAPI, Runtime],
) -> None:
    app, rt = web_app
    insert_job(rt, statuses=[OutputStatus.succeeded])
    templated = [
        (path, method.upper())
        for path, ops in app.openapi()["paths"].items()
        for method in ops
        if "{" in path and method == "get"
    ]
    assert len(templated) >= 9
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        for path, method in templated:
            for attack in ATTACKS:
                url = re.sub(r"\{[^}]+\}", attack, path)
                r = await c.request(method, url)
                # signed worker URLs refuse a token that is not theirs before any lookup
                allowed = (403, 404) if "/transport/" in path else (404, 422)
                assert r.status_code in allowed, (url, r.status_code)
                assert r.headers["content-type"].startswith("application/json"), url
                assert SECRET not in r.text and "root:" not in r.text
                error_of(r)


async def test_static_files_never_escape_the_web_dir(web: httpx.AsyncClient) -> None:
    for attack in [*ATTACKS, "escape/secret.txt", "escape%2Fsecret.txt", "%2e%2e/secret.txt"]:
        r = await web.get(f"/{attack}")
        assert SECRET not in r.text, attack
        assert r.status_code in (200, 404), attack


async def test_static_routes_and_fallbacks(web: httpx.AsyncClient) -> None:
    home = await web.get("/")
    assert home.status_code == 200 and "home" in home.text
    assert home.headers["cache-control"] == "no-cache"
    for path in ("/jobs/view/", "/jobs/view", "/jobs/view/?id=abc"):
        r = await web.get(path)
        assert r.status_code == 200 and "job view" in r.text, path
    assert "settings" in (await web.get("/settings")).text
    r = await web.get("/no/such/page/")
    assert r.status_code == 404 and "not found page" in r.text
    r = await web.get("/_next/static/chunks/app.js")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = r.headers["etag"]
    r = await web.get("/_next/static/chunks/app.js", headers={"If-None-Match": etag})
    assert r.status_code == 304
    r = await web.post("/")
    assert r.status_code == 405


async def test_api_paths_never_fall_back_to_html(web: httpx.AsyncClient) -> None:
    for path in (f"{API}/nope", f"{API}/jobs/x/nope", "/api", "/api/v2/jobs"):
        r = await web.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/json")
        assert error_of(r)["code"] == "not_found"
    assert (await web.get(f"{API}/health")).status_code == 200


async def test_static_ui_is_public_when_a_password_is_set(
    settings: Settings, web_dir: Path
) -> None:
    from pydantic import SecretStr

    rt = build_runtime(
        settings.model_copy(update={"web_dir": web_dir, "password": SecretStr("pw")})
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(rt)), base_url=BASE_URL
        ) as c:
            assert (await c.get("/")).status_code == 200
            assert (await c.get("/jobs/view/")).status_code == 200
            assert (await c.get(f"{API}/jobs")).status_code == 401
    finally:
        rt.engine.dispose()


async def test_without_a_web_build_the_root_explains(runtime: Runtime, tmp_path: Path) -> None:
    settings = runtime.settings.model_copy(update={"web_dir": tmp_path / "missing"})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime, settings)), base_url=BASE_URL
    ) as c:
        r = await c.get("/")
        assert r.status_code == 404
        assert error_of(r)["code"] == "web_ui_not_built"
        r = await c.get("/jobs/view/")
        assert r.status_code == 404
        error_of(r)
