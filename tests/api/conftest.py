"""API test fixtures: a real runtime (migrated SQLite, local storage, classic provider)
behind the ASGI app, and an httpx client talking to it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.runtime import Runtime, build_runtime
from tests.api.helpers import BASE_URL

PASSWORD = "correct horse battery staple"
TOKEN = "tok-" + "a" * 40


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        yield c


@pytest.fixture
def secured_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"password": SecretStr(PASSWORD), "api_tokens": f"other-token, {TOKEN}"}
    )


@pytest.fixture
def secured_runtime(secured_settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(secured_settings)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def secured_app(secured_runtime: Runtime) -> FastAPI:
    return create_app(secured_runtime)


@pytest.fixture
async def anon(secured_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the password-protected app with no credentials."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=secured_app), base_url=BASE_URL
    ) as c:
        yield c


@pytest.fixture
def make_client() -> Callable[..., httpx.AsyncClient]:
    def factory(app: FastAPI, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, **kwargs), base_url=BASE_URL
        )

    return factory


@pytest.fixture
def data_dir(settings: Settings) -> Path:
    return settings.data_dir
