"""The embedded engine: DB and storage in the data dir, orchestrator in this process."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, cast

from bananabatch.cli.backends.port import (
    INGEST_CHUNK,
    IngestSummary,
    Progress,
    dataset_files,
    held,
    summary_of,
    write_archive,
)
from bananabatch.datasets.schemas import DatasetLabelsOut
from bananabatch.datasets.service import label_summary
from bananabatch.errors import BadUpload
from bananabatch.export.archive import stream_job_zip
from bananabatch.export.entries import ExportSelection
from bananabatch.export.folder import write_job_folder
from bananabatch.ingest.dataset_items import create_dataset
from bananabatch.ingest.service import ingest_files, ingest_zip
from bananabatch.orchestrator.lock import OrchestratorLock
from bananabatch.runtime import Runtime
from bananabatch.services import datasets as dataset_library
from bananabatch.services import job_actions, job_delete, queries
from bananabatch.services import jobs as job_service
from bananabatch.services import review as review_service
from bananabatch.services import trials as trial_service
from bananabatch.services.datasets import DatasetDeleted, UploadFinished
from bananabatch.services.job_checks import check_job_request
from bananabatch.services.job_delete import JobDeleted, JobStorageOut
from bananabatch.services.job_refs import mark_interrupted, resolve_job_id
from bananabatch.services.job_requests import EstimateOut, JobCheckOut, JobCreate
from bananabatch.services.queries import (
    DatasetItemPage,
    DatasetList,
    DatasetOut,
    DatasetUsage,
    JobDetail,
    JobList,
)
from bananabatch.services.review import RegenerateEstimateOut, ReviewIn, ReviewOut
from bananabatch.services.spend import GroupBy, SpendOut, spend_summary


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
                    summary_of(
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
                    summary.merge(summary_of(report))
                finally:
                    for _, fh in handles:
                        fh.close()
                progress(i + len(chunk), len(files))
        return dataset_id, summary

    def finish_upload(self, dataset_id: str) -> UploadFinished:
        with self.rt.session_factory() as session:
            return dataset_library.finish_upload(session, self.rt.storage, dataset_id)

    def resolve_dataset(self, ref: str) -> str:
        with self.rt.session_factory() as session:
            return queries.resolve_dataset_id(session, ref)

    def list_datasets(self, limit: int) -> DatasetList:
        with self.rt.session_factory() as session:
            return queries.list_datasets(session, limit=limit)

    def dataset_usage(self, dataset_id: str) -> DatasetUsage:
        with self.rt.session_factory() as session:
            return queries.dataset_usage(session, dataset_id)

    def dataset_items(self, dataset_id: str, limit: int) -> DatasetItemPage:
        with self.rt.session_factory() as session:
            return queries.list_dataset_items(session, dataset_id, limit=limit)

    def rename_dataset(self, dataset_id: str, name: str) -> DatasetOut:
        with self.rt.session_factory() as session:
            dataset_library.rename_dataset(session, dataset_id, name)
            return queries.dataset_out(session, dataset_id)

    def delete_dataset(self, dataset_id: str) -> DatasetDeleted:
        with self.rt.session_factory() as session:
            return dataset_library.delete_dataset(session, self.rt.storage, dataset_id)

    def job_storage(self, job_id: str) -> JobStorageOut:
        with self.rt.session_factory() as session:
            return job_delete.job_storage(session, self.rt.storage, job_id)

    def delete_job(self, job_id: str) -> JobDeleted:
        with self.rt.session_factory() as session:
            return job_delete.delete_job(session, self.rt.storage, job_id)

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
        return summary_of(report)

    def validate(self, req: JobCreate) -> JobCheckOut:
        return check_job_request(
            self.rt.settings, self.rt.catalog, req, preflight=self.rt.preflight
        )

    def resolve(self, job_ref: str) -> str:
        with self.rt.session_factory() as session:
            return resolve_job_id(session, job_ref)

    def interrupted(self, job_id: str) -> bool:
        with self.rt.session_factory() as session:
            return mark_interrupted(session, job_id)

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

    def continue_trial(self, job_id: str) -> JobDetail:
        with self.rt.session_factory() as session:
            trial_service.continue_trial(
                session,
                self.rt.settings,
                self.rt.catalog,
                job_id,
                preflight=self.rt.preflight,
                storage=self.rt.storage,
            )
            return queries.job_detail(session, job_id)

    def set_budget(self, job_id: str, max_cost: float | None) -> JobDetail:
        with self.rt.session_factory() as session:
            job_actions.set_budget(session, job_id, max_cost)
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
                return job_actions.retry_failed(session, job_id)
            {
                "cancel": job_actions.cancel_job,
                "pause": job_actions.pause_job,
                "resume": job_actions.resume_job,
            }[action](session, job_id)
        return 0

    def export(self, job_id: str, dest: Path, selection: ExportSelection | None = None) -> int:
        self.detail(job_id)  # NotFound before anything is written
        if dest.suffix.lower() != ".zip":  # a folder: written directly, no ZIP in between
            return write_job_folder(
                self.rt.session_factory, self.rt.storage, job_id, dest, selection
            )

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
