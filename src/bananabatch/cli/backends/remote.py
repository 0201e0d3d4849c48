"""A running `bananabatch serve`, reached over its REST API (`--server URL`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bananabatch.cli.backends.port import (
    INGEST_CHUNK,
    IngestSummary,
    Progress,
    dataset_files,
    held,
    resolve_prefix,
    summary_of,
    write_archive,
)
from bananabatch.client import ApiClient
from bananabatch.datasets.schemas import DatasetLabelsOut
from bananabatch.db.models import TERMINAL_JOB_STATUSES
from bananabatch.errors import BadUpload
from bananabatch.export.entries import ExportSelection
from bananabatch.services.datasets import DatasetDeleted, UploadFinished
from bananabatch.services.job_delete import JobDeleted, JobStorageOut
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
from bananabatch.services.spend import SpendOut


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
            return dataset.id, summary_of(report)
        if not source.is_dir():
            raise BadUpload(f"{source} is neither a folder nor a .zip file.")
        files = dataset_files(source)
        summary = IngestSummary()
        for i in range(0, len(files), INGEST_CHUNK):
            chunk = files[i : i + INGEST_CHUNK]
            summary.merge(summary_of(self.client.upload_files(dataset.id, chunk)))
            progress(i + len(chunk), len(files))
        return dataset.id, summary

    def finish_upload(self, dataset_id: str) -> UploadFinished:
        return self.client.complete_upload(dataset_id)

    def resolve_dataset(self, ref: str) -> str:
        return resolve_prefix(ref, [d.id for d in self.client.list_datasets(500).items])

    def list_datasets(self, limit: int) -> DatasetList:
        return self.client.list_datasets(limit)

    def dataset_usage(self, dataset_id: str) -> DatasetUsage:
        return self.client.dataset_usage(dataset_id)

    def dataset_items(self, dataset_id: str, limit: int) -> DatasetItemPage:
        return self.client.dataset_items(dataset_id, limit)

    def rename_dataset(self, dataset_id: str, name: str) -> DatasetOut:
        return self.client.rename_dataset(dataset_id, name)

    def delete_dataset(self, dataset_id: str) -> DatasetDeleted:
        return self.client.delete_dataset(dataset_id)

    def job_storage(self, job_id: str) -> JobStorageOut:
        return self.client.job_storage(job_id)

    def delete_job(self, job_id: str) -> JobDeleted:
        return self.client.delete_job(job_id)

    def dataset_labels(self, dataset_id: str) -> DatasetLabelsOut | None:
        return self.client.get_dataset(dataset_id).labels

    def store_references(self, refs: list[Path]) -> IngestSummary:
        return summary_of(self.client.upload_files(None, [(p.name, p) for p in refs]))

    def status(self) -> dict[str, Any]:
        health = self.client.health()
        return {
            "executor": {"kind": health.executor.name, **health.executor.details},
            "storage": health.storage,
            "provider": health.provider.name,
            "default_model": health.provider.default_model,
            "gemini_key_configured": health.provider.gemini_key_configured,
        }

    def validate(self, req: JobCreate) -> JobCheckOut:
        return self.client.validate_job(req)

    def resolve(self, job_ref: str) -> str:
        return self.client.get_job(job_ref).id

    def interrupted(self, job_id: str) -> bool:
        """The server keeps running the job: nothing to mark."""
        return False

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

    def continue_trial(self, job_id: str) -> JobDetail:
        return self.client.continue_trial(job_id)

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
