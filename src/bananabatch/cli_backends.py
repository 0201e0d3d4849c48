"""Where the CLI's commands run: the embedded engine in this process, or a running
`bananabatch serve` reached over its REST API (`--server URL`). Both answer with
the API's own read models, so the CLI renders one shape either way."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from bananabatch.api.schemas import IngestReportOut
from bananabatch.client import ApiClient
from bananabatch.datasets.schemas import DatasetLabelsOut
from bananabatch.datasets.service import label_summary
from bananabatch.db.models import TERMINAL_JOB_STATUSES, JobStatus
from bananabatch.errors import BadUpload
from bananabatch.export.archive import stream_job_zip
from bananabatch.export.entries import ExportSelection
from bananabatch.ingest.paths import is_ignored_path
from bananabatch.ingest.service import IngestReport, create_dataset, ingest_files, ingest_zip
from bananabatch.orchestrator.lock import OrchestratorLock
from bananabatch.runtime import Runtime
from bananabatch.services import jobs as job_service
from bananabatch.services import queries
from bananabatch.services import review as review_service
from bananabatch.services.job_requests import EstimateOut, JobCreate
from bananabatch.services.queries import JobDetail, JobList
from bananabatch.services.review import RegenerateEstimateOut, ReviewIn, ReviewOut
from bananabatch.services.spend import GroupBy, SpendOut, spend_summary

INGEST_CHUNK = 100
Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class IngestSummary:
    accepted: int = 0
    duplicates: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, message)
    asset_ids: list[str] = field(default_factory=list)

    def merge(self, other: IngestSummary) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.errors.extend(other.errors)
        self.asset_ids.extend(other.asset_ids)


class _Accepted(Protocol):
    @property
    def asset_id(self) -> str: ...

    @property
    def duplicate(self) -> bool: ...


class _Rejected(Protocol):
    @property
    def rel_path(self) -> str: ...

    @property
    def message(self) -> str: ...


def summarize(accepted: Sequence[_Accepted], errors: Sequence[_Rejected]) -> IngestSummary:
    """One summary for an ingest report, local (IngestReport) or remote (IngestReportOut)."""
    return IngestSummary(
        accepted=len(accepted),
        duplicates=sum(1 for f in accepted if f.duplicate),
        errors=[(e.rel_path, e.message) for e in errors],
        asset_ids=[f.asset_id for f in accepted],
    )


def dataset_files(root: Path) -> list[tuple[str, Path]]:
    """(relative path, file) for every candidate image below `root`, sorted."""
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not path.is_symlink() and not is_ignored_path(rel):
            files.append((rel, path))
    return files


def unpack(archive: Path, dest: Path) -> int:
    """Unpack an export archive into a folder; returns the number of files."""
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)  # names come from our own export, never from user paths
        return len(zf.namelist())


def write_archive(to_zip: Callable[[Path], object], dest: Path) -> int:
    """Write the export to DEST.zip, or unpack it into the folder DEST."""
    if dest.suffix.lower() == ".zip":
        dest.parent.mkdir(parents=True, exist_ok=True)
        to_zip(dest)
        with zipfile.ZipFile(dest) as zf:
            return len(zf.namelist())
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "export.zip"
        to_zip(archive)
        return unpack(archive, dest)


def _summary_of(report: IngestReport | IngestReportOut) -> IngestSummary:
    return summarize(report.accepted, report.errors)


class Backend(Protocol):
    def ingest_dataset(self, source: Path, progress: Progress) -> tuple[str, IngestSummary]: ...

    def store_references(self, refs: list[Path]) -> IngestSummary: ...

    def dataset_labels(self, dataset_id: str) -> DatasetLabelsOut | None:
        """What was found in the dataset: format, classes, splits, problems."""
        ...

    def estimate(self, req: JobCreate) -> EstimateOut: ...

    def create(self, req: JobCreate) -> str: ...

    def wait(self, job_id: str, progress: Progress) -> JobDetail:
        """Until the job is terminal; the embedded engine runs it, a server is polled."""
        ...

    def detail(self, job_id: str) -> JobDetail: ...

    def list_jobs(self, status: str | None, limit: int) -> JobList: ...

    def act(self, job_id: str, action: str) -> int:
        """cancel | pause | resume | retry; returns outputs re-queued for retry."""
        ...

    def export(self, job_id: str, dest: Path, selection: ExportSelection | None = None) -> int: ...

    def review(self, job_id: str, body: ReviewIn) -> ReviewOut: ...

    def regenerate_estimate(self, job_id: str) -> RegenerateEstimateOut: ...

    def regenerate(self, job_id: str, expected_outputs: int) -> int:
        """Queue the rejected outputs again; refused when their count is not the priced one."""
        ...

    def status(self) -> dict[str, Any]:
        """Executor (RunPod endpoint workers and queue), storage and provider state."""
        ...

    def set_budget(self, job_id: str, max_cost: float | None) -> JobDetail: ...

    def spend(self, group_by: str, since: str | None) -> SpendOut: ...

    def close(self) -> None: ...

    def ensure_can_run(self) -> None:
        """Raise (a Conflict) before anything is created when jobs cannot run here."""
        ...

    @property
    def runs_in_process(self) -> bool: ...


def held(detail: JobDetail) -> bool:
    """Paused by the orchestrator at a budget cap (not by the user)."""
    return detail.status == JobStatus.paused and bool(detail.hold_reason)


class LocalBackend:
    """The embedded engine: DB and storage in the data dir, orchestrator in this process."""

    runs_in_process = True

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def status(self) -> dict[str, Any]:
        settings = self.rt.settings

        async def executor_health() -> dict[str, object]:
            try:
                return await self.rt.executor.health()
            finally:
                await self.rt.executor.aclose()

        return {
            "executor": asyncio.run(executor_health()),
            "storage": dict(self.rt.storage.health()),
            "provider": settings.resolved_provider,
            "default_model": settings.resolved_default_model,
            "gemini_key_configured": settings.gemini_configured,
        }

    def ensure_can_run(self) -> None:
        """Another process (a `serve`) scheduling this data dir would otherwise be found only
        once the job is created, and it would then run the job behind the CLI's back."""
        probe = OrchestratorLock(self.rt.settings.data_dir / "orchestrator.lock")
        probe.acquire()
        probe.release()

    def ingest_dataset(self, source: Path, progress: Progress) -> tuple[str, IngestSummary]:
        summary = IngestSummary()
        with self.rt.session_factory() as session:
            dataset_id = create_dataset(session, source.stem).id
            if source.is_file() and source.suffix.lower() == ".zip":
                progress(0, 1)
                summary.merge(
                    _summary_of(
                        ingest_zip(session, self.rt.storage, self.rt.settings, dataset_id, source)
                    )
                )
                progress(1, 1)
                return dataset_id, summary
            if not source.is_dir():
                raise BadUpload(f"{source} is neither a folder nor a .zip file.")
            files = dataset_files(source)
            for i in range(0, len(files), INGEST_CHUNK):
                chunk = files[i : i + INGEST_CHUNK]
                handles: list[tuple[str, BinaryIO]] = [(rel, p.open("rb")) for rel, p in chunk]
                try:
                    report = ingest_files(
                        session, self.rt.storage, self.rt.settings, dataset_id, handles
                    )
                    summary.merge(_summary_of(report))
                finally:
                    for _, fh in handles:
                        fh.close()
                progress(i + len(chunk), len(files))
        return dataset_id, summary

    def dataset_labels(self, dataset_id: str) -> DatasetLabelsOut | None:
        with self.rt.session_factory() as session:
            summary = label_summary(session, self.rt.storage, dataset_id)
        return DatasetLabelsOut.from_summary(summary)

    def store_references(self, refs: list[Path]) -> IngestSummary:
        handles: list[tuple[str, BinaryIO]] = [(p.name, p.open("rb")) for p in refs]
        try:
            with self.rt.session_factory() as session:
                report = ingest_files(session, self.rt.storage, self.rt.settings, None, handles)
        finally:
            for _, fh in handles:
                fh.close()
        return _summary_of(report)

    def estimate(self, req: JobCreate) -> EstimateOut:
        with self.rt.session_factory() as session:
            return job_service.estimate_job(
                session,
                self.rt.settings,
                self.rt.catalog,
                req,
                preflight=self.rt.preflight,
                storage=self.rt.storage,
            )

    def create(self, req: JobCreate) -> str:
        with self.rt.session_factory() as session:
            created = job_service.create_job(
                session,
                self.rt.settings,
                self.rt.catalog,
                req,
                preflight=self.rt.preflight,
                storage=self.rt.storage,
            )
            return created.job.id

    def wait(self, job_id: str, progress: Progress) -> JobDetail:
        asyncio.run(self._drive(job_id, progress))
        return self.detail(job_id)

    async def _drive(self, job_id: str, progress: Progress) -> None:
        await self.rt.start()
        try:
            waiter = asyncio.create_task(self.rt.orchestrator.wait_for_jobs([job_id]))
            while not waiter.done():
                await asyncio.wait({waiter}, timeout=0.5)
                detail = await asyncio.to_thread(self.detail, job_id)
                progress(detail.counts.total - detail.counts.pending, detail.counts.total)
                if held(detail) and not waiter.done():
                    waiter.cancel()  # held at a budget cap: the run ends here, resumable
                    break
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
        finally:
            await self.rt.orchestrator.stop()
            await self.rt.providers.aclose()  # their HTTP clients belong to this event loop

    def detail(self, job_id: str) -> JobDetail:
        with self.rt.session_factory() as session:
            return queries.job_detail(session, job_id)

    def set_budget(self, job_id: str, max_cost: float | None) -> JobDetail:
        with self.rt.session_factory() as session:
            job_service.set_budget(session, job_id, max_cost)
            return queries.job_detail(session, job_id)

    def spend(self, group_by: str, since: str | None) -> SpendOut:
        with self.rt.session_factory() as session:
            return spend_summary(
                session,
                cast(GroupBy, group_by),
                date.fromisoformat(since) if since else None,
            )

    def list_jobs(self, status: str | None, limit: int) -> JobList:
        with self.rt.session_factory() as session:
            return queries.list_jobs(session, status=[status] if status else None, limit=limit)

    def act(self, job_id: str, action: str) -> int:
        with self.rt.session_factory() as session:
            if action == "retry":
                return job_service.retry_failed(session, job_id)
            {
                "cancel": job_service.cancel_job,
                "pause": job_service.pause_job,
                "resume": job_service.resume_job,
            }[action](session, job_id)
        return 0

    def export(self, job_id: str, dest: Path, selection: ExportSelection | None = None) -> int:
        self.detail(job_id)  # NotFound before anything is written

        def to_zip(path: Path) -> None:
            _, chunks, _ = stream_job_zip(
                self.rt.session_factory,
                self.rt.storage,
                job_id,
                selection or ExportSelection(),
                part_bytes=self.rt.settings.export_part_bytes,
            )
            with path.open("wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)

        return write_archive(to_zip, dest)

    def review(self, job_id: str, body: ReviewIn) -> ReviewOut:
        with self.rt.session_factory() as session:
            return review_service.review_outputs(session, job_id, body)

    def regenerate_estimate(self, job_id: str) -> RegenerateEstimateOut:
        with self.rt.session_factory() as session:
            return review_service.regenerate_estimate(session, self.rt.catalog, job_id)

    def regenerate(self, job_id: str, expected_outputs: int) -> int:
        with self.rt.session_factory() as session:
            done = review_service.regenerate_rejected(
                session, self.rt.storage, self.rt.catalog, job_id, expected_outputs
            )
        return done.outputs

    def close(self) -> None:
        asyncio.run(self.rt.stop())


class RemoteBackend:
    """A running `bananabatch serve`, through its REST API."""

    runs_in_process = False

    def __init__(self, client: ApiClient, poll_seconds: float = 1.0) -> None:
        self.client = client
        self.poll_seconds = poll_seconds

    def ensure_can_run(self) -> None:
        """The server runs its jobs itself; nothing to check from here."""

    def ingest_dataset(self, source: Path, progress: Progress) -> tuple[str, IngestSummary]:
        dataset = self.client.create_dataset(source.stem)
        if source.is_file() and source.suffix.lower() == ".zip":
            progress(0, 1)
            report = self.client.upload_zip(dataset.id, source)
            progress(1, 1)
            return dataset.id, _summary_of(report)
        if not source.is_dir():
            raise BadUpload(f"{source} is neither a folder nor a .zip file.")
        files = dataset_files(source)
        summary = IngestSummary()
        for i in range(0, len(files), INGEST_CHUNK):
            chunk = files[i : i + INGEST_CHUNK]
            summary.merge(_summary_of(self.client.upload_files(dataset.id, chunk)))
            progress(i + len(chunk), len(files))
        return dataset.id, summary

    def dataset_labels(self, dataset_id: str) -> DatasetLabelsOut | None:
        return self.client.get_dataset(dataset_id).labels

    def store_references(self, refs: list[Path]) -> IngestSummary:
        return _summary_of(self.client.upload_files(None, [(p.name, p) for p in refs]))

    def status(self) -> dict[str, Any]:
        health = self.client.health()
        return {
            "executor": {"kind": health.executor.name, **health.executor.details},
            "storage": health.storage,
            "provider": health.provider.name,
            "default_model": health.provider.default_model,
            "gemini_key_configured": health.provider.gemini_key_configured,
        }

    def estimate(self, req: JobCreate) -> EstimateOut:
        return self.client.estimate_job(req)

    def create(self, req: JobCreate) -> str:
        return self.client.create_job(req).id

    def wait(self, job_id: str, progress: Progress) -> JobDetail:
        while True:
            detail = self.client.get_job(job_id)
            progress(detail.counts.total - detail.counts.pending, detail.counts.total)
            if detail.status in TERMINAL_JOB_STATUSES or held(detail):
                return detail
            time.sleep(self.poll_seconds)

    def detail(self, job_id: str) -> JobDetail:
        return self.client.get_job(job_id)

    def set_budget(self, job_id: str, max_cost: float | None) -> JobDetail:
        return self.client.set_budget(job_id, max_cost)

    def spend(self, group_by: str, since: str | None) -> SpendOut:
        return self.client.spend(group_by, since)

    def list_jobs(self, status: str | None, limit: int) -> JobList:
        return self.client.list_jobs(status=[status] if status else None, limit=limit)

    def act(self, job_id: str, action: str) -> int:
        if action == "retry":
            return self.client.retry_failed(job_id).requeued
        {
            "cancel": self.client.cancel_job,
            "pause": self.client.pause_job,
            "resume": self.client.resume_job,
        }[action](job_id)
        return 0

    def export(self, job_id: str, dest: Path, selection: ExportSelection | None = None) -> int:
        chosen = selection or ExportSelection()
        return write_archive(
            lambda path: self.client.download_export(
                job_id,
                path,
                accepted_only=chosen.accepted_only,
                include_flagged=chosen.include_flagged,
            ),
            dest,
        )

    def review(self, job_id: str, body: ReviewIn) -> ReviewOut:
        return self.client.review(job_id, body)

    def regenerate_estimate(self, job_id: str) -> RegenerateEstimateOut:
        return self.client.regenerate_estimate(job_id)

    def regenerate(self, job_id: str, expected_outputs: int) -> int:
        return self.client.regenerate_rejected(job_id, expected_outputs).requeued

    def close(self) -> None:
        self.client.close()
