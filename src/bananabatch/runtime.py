"""Wiring: one place that turns Settings into a running engine (DB, storage,
catalog, provider lookup, executor, orchestrator). Used by `serve` and the CLI."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.catalog import Catalog, load_catalog
from bananabatch.config import Settings
from bananabatch.contracts import TaskPayload, TaskResult
from bananabatch.db.migrate import upgrade
from bananabatch.db.session import make_engine, make_session_factory
from bananabatch.errors import ServiceUnavailable, ValidationFailed
from bananabatch.executors.base import Executor
from bananabatch.executors.local import LocalExecutor
from bananabatch.orchestrator.scheduler import Orchestrator
from bananabatch.providers.gemini_preflight import GeminiPreflight
from bananabatch.providers.pool import ProviderPool
from bananabatch.storage.base import Storage
from bananabatch.storage.local import LocalStorage
from bananabatch.worker.pipeline import WorkerOptions, run_task

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    storage: Storage
    catalog: Catalog
    providers: ProviderPool
    executor: Executor
    orchestrator: Orchestrator
    preflight: GeminiPreflight

    async def start(self) -> None:
        await self.orchestrator.start()

    async def stop(self) -> None:
        if self.orchestrator.running:
            await self.orchestrator.stop()
        await self.providers.aclose()
        self.preflight.close()
        self.engine.dispose()


def build_executor(settings: Settings, providers: ProviderPool) -> Executor:
    if settings.executor == "runpod":
        raise ValidationFailed(
            "BANANABATCH_EXECUTOR=runpod is not available in this version; use 'local' (the default)."
        )
    options = WorkerOptions(concurrency=settings.worker_concurrency, worker_name="local")

    async def runner(payload: TaskPayload) -> TaskResult:
        return await run_task(payload, providers, options)

    return LocalExecutor(runner, max_in_flight=settings.resolved_concurrency)


def _open_database(url: str) -> Engine:
    """Migrate and connect, or say in words which setting is wrong (never a traceback,
    never the password)."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError as exc:
        raise ServiceUnavailable(
            "BANANABATCH_DATABASE_URL is not a database URL (e.g. postgresql+psycopg://"
            "user:password@host/db); leave it unset for SQLite in the data dir."
        ) from exc
    try:
        upgrade(url)
        return make_engine(url)
    except ImportError as exc:
        raise ServiceUnavailable(
            f"The database driver for {shown} is not installed ({exc.name or exc}); install it "
            "into the virtualenv or leave BANANABATCH_DATABASE_URL unset for SQLite."
        ) from exc
    except (SQLAlchemyError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        first_line = str(reason).strip().splitlines()[0] if str(reason).strip() else ""
        raise ServiceUnavailable(
            f"Cannot open the database {shown}: {type(reason).__name__}"
            + (f" ({first_line})" if first_line else "")
        ) from exc


def build_runtime(settings: Settings) -> Runtime:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ServiceUnavailable(
            f"Cannot create the data directory {settings.data_dir} (BANANABATCH_DATA_DIR): "
            f"{exc.strerror or exc}."
        ) from exc
    engine = _open_database(settings.resolved_database_url)
    session_factory = make_session_factory(engine)
    storage = LocalStorage(settings.data_dir / "store")
    catalog = load_catalog()
    providers = ProviderPool(settings)
    executor = build_executor(settings, providers)
    orchestrator = Orchestrator(
        session_factory=session_factory,
        storage=storage,
        executor=executor,
        settings=settings,
        catalog=catalog,
    )
    return Runtime(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        storage=storage,
        catalog=catalog,
        providers=providers,
        executor=executor,
        orchestrator=orchestrator,
        preflight=GeminiPreflight.from_settings(settings),
    )
