"""Wiring: one place that turns Settings into a running engine (DB, storage,
catalog, provider lookup, executor, orchestrator). Used by `serve` and the CLI."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass, field

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
from bananabatch.executors.gemini_batch import GeminiBatchExecutor
from bananabatch.executors.gemini_batch_create import BatchTuning
from bananabatch.executors.gemini_batch_records import BatchRecords
from bananabatch.executors.local import LocalExecutor
from bananabatch.executors.routing import RoutingExecutor
from bananabatch.executors.runpod import RunPodExecutor
from bananabatch.executors.signing import TransportSigner
from bananabatch.executors.transport import (
    LocalPayloadBuilder,
    PayloadBuilder,
    RemotePayloadBuilder,
)
from bananabatch.jobs_process import JobsProcess
from bananabatch.notify import outbox
from bananabatch.notify.sender import WebhookSender
from bananabatch.orchestrator.scheduler import Orchestrator
from bananabatch.providers.gemini_preflight import GeminiPreflight
from bananabatch.providers.pool import ProviderPool
from bananabatch.storage.base import Storage
from bananabatch.storage.factory import build_storage
from bananabatch.tmpfiles import remove_stale_tmp, tmp_root
from bananabatch.worker.cpu import ProcessOffload, offload_for
from bananabatch.worker.pipeline import SlotSink, WorkerOptions, run_task

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
    signer: TransportSigner
    preflight: GeminiPreflight
    webhooks: WebhookSender
    built_at: float = field(default_factory=time.time)
    # Set by `serve`: the jobs run in this child process, not in this one.
    jobs: JobsProcess | None = None
    _warming: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def start(self) -> None:
        if self.jobs is not None:
            await self.jobs.start()
            return
        await self.orchestrator.start()
        if self.orchestrator.running:  # deliveries go from the process that runs the jobs
            self.webhooks.start()
            self._warm_offload()
        # Holding the orchestrator lock: no other process uses this data dir's temp folder.
        await asyncio.to_thread(remove_stale_tmp, self.settings.data_dir, self.built_at)

    def _warm_offload(self) -> None:
        """Start the worker processes in the background (not awaited: serving does not
        wait for them; the first image does not wait for the imports either)."""
        offload = self.providers.offload
        if isinstance(offload, ProcessOffload) and self._warming is None:
            self._warming = asyncio.create_task(offload.warm(), name="warm-worker-processes")
            self._warming.add_done_callback(_log_warm_failure)

    def wake(self) -> None:
        """New work for the scheduler, wherever it runs."""
        if self.jobs is not None:
            self.jobs.wake()
        else:
            self.orchestrator.wake()

    async def jobs_health(self) -> dict[str, object]:
        if self.jobs is not None:
            return await self.jobs.health(self)
        return await self.orchestrator.health()

    async def stop(self) -> None:
        if self.jobs is not None:
            await self.jobs.stop()
        if self.orchestrator.running:
            await self.orchestrator.stop()
        await self.webhooks.stop()
        await self.providers.aclose()
        warming, self._warming = self._warming, None
        # the CLI starts and stops in two event loops: a task of a closed one is over
        if warming is not None and warming.get_loop() is asyncio.get_running_loop():
            await asyncio.gather(warming, return_exceptions=True)
        if isinstance(self.providers.offload, ProcessOffload):
            await asyncio.to_thread(self.providers.offload.close)
        self.preflight.close()
        self.engine.dispose()


def _log_warm_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:  # the first image retries
        log.warning("worker processes did not start: %r", task.exception())


def transport_secret(settings: Settings) -> str:
    """The key that signs worker URLs: the configured secret, else a random one kept in
    the data dir, so URLs in tasks queued at RunPod survive a restart."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / "transport.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def build_signer(settings: Settings) -> TransportSigner:
    return TransportSigner(
        transport_secret(settings), settings.public_url, settings.transport_url_ttl_seconds
    )


def build_executor(
    settings: Settings,
    providers: ProviderPool,
    storage: Storage,
    signer: TransportSigner | None = None,
) -> Executor:
    if settings.resolved_executor == "runpod":
        if not settings.runpod_configured:
            raise ValidationFailed(
                "BANANABATCH_EXECUTOR=runpod needs RUNPOD_API_KEY and RUNPOD_ENDPOINT_ID; "
                "set both, or use BANANABATCH_EXECUTOR=local."
            )
        assert settings.runpod_api_key is not None and settings.runpod_endpoint_id is not None
        return RunPodExecutor(
            api_url=settings.runpod_api_url,
            endpoint_id=settings.runpod_endpoint_id.strip(),
            api_key=settings.runpod_api_key.get_secret_value().strip(),
            max_in_flight=settings.resolved_concurrency,
            poll_concurrency=settings.runpod_poll_concurrency,
            execution_timeout_seconds=settings.runpod_execution_timeout_seconds,
            ttl_seconds=settings.runpod_ttl_seconds,
            first_poll_seconds=settings.runpod_first_poll_seconds,
            signer=signer,
        )
    options = WorkerOptions(
        concurrency=settings.worker_concurrency,
        worker_name="local",
        store=storage,
        offload=providers.offload,
        spill_dir=tmp_root(settings.data_dir),
    )

    async def runner(payload: TaskPayload, on_slot: SlotSink) -> TaskResult:
        return await run_task(payload, providers, options, on_slot)

    return LocalExecutor(runner, max_in_flight=settings.resolved_concurrency)


def build_batch_executor(
    settings: Settings, session_factory: sessionmaker[Session], storage: Storage
) -> GeminiBatchExecutor | None:
    """The Gemini Batch API route, when this server has a Gemini key."""
    if not settings.gemini_configured or settings.gemini_api_key is None:
        return None
    tmp = tmp_root(settings.data_dir)
    tmp.mkdir(parents=True, exist_ok=True)
    return GeminiBatchExecutor(
        records=BatchRecords(session_factory),
        store=storage,
        api_key=settings.gemini_api_key.get_secret_value(),
        base_url=settings.gemini_base_url,
        api_version=settings.gemini_api_version,
        tuning=BatchTuning(
            max_lines=settings.batch_max_lines,
            max_bytes=settings.batch_max_bytes,
            gather_seconds=settings.batch_gather_seconds,
            poll_seconds=settings.batch_poll_seconds,
            download_retry_seconds=settings.batch_download_retry_seconds,
            download_attempts=settings.batch_download_attempts,
            download_timeout_seconds=settings.batch_download_timeout_seconds,
        ),
        tmp_dir=tmp,
    )


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
    storage = build_storage(settings)
    engine = _open_database(settings.resolved_database_url)
    session_factory = make_session_factory(engine)
    outbox.install()  # job status changes write their webhook events in the same commit
    catalog = load_catalog()
    providers = ProviderPool(settings, offload=offload_for(settings.cpu_processes))
    signer = build_signer(settings)
    standard = build_executor(settings, providers, storage, signer)
    executor = RoutingExecutor(standard, build_batch_executor(settings, session_factory, storage))
    builder: PayloadBuilder = (
        LocalPayloadBuilder()
        if executor.name == "local"
        else RemotePayloadBuilder(
            storage, signer, url_ttl_seconds=settings.transport_url_ttl_seconds
        )
    )
    orchestrator = Orchestrator(
        session_factory=session_factory,
        storage=storage,
        executor=executor,
        settings=settings,
        catalog=catalog,
        builder=builder,
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
        signer=signer,
        preflight=GeminiPreflight.from_settings(settings),
        webhooks=WebhookSender(session_factory, settings),
    )
