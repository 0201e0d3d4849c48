"""Shared fixtures: an isolated data dir, settings, migrated DB and storage per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.config import Settings
from bananabatch.db.migrate import upgrade
from bananabatch.db.session import make_engine, make_session_factory
from bananabatch.storage.local import LocalStorage

pytest_plugins = [
    "tests.fakes.gemini_server",
    "tests.fakes.runpod_server",
    "tests.fakes.s3_server",
]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "RUNPOD_API_KEY", "RUNPOD_ENDPOINT_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return Settings(
        data_dir=tmp_path / "data",
        retry_base_seconds=0.01,
        retry_max_seconds=0.05,
        poll_interval_seconds=0.02,
    )


@pytest.fixture
def session_factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    url = settings.resolved_database_url
    upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def storage(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.data_dir / "store")
