"""The backend port the CLI talks to (both backends answer with the API's own read
models, so the CLI renders one shape either way), and the file helpers they share."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bananabatch.api.schemas import IngestReportOut
from bananabatch.datasets.schemas import DatasetLabelsOut
from bananabatch.db.models import JobStatus
from bananabatch.errors import Conflict, NotFound
from bananabatch.export.entries import ExportSelection
from bananabatch.ingest.paths import is_ignored_path
from bananabatch.ingest.service import IngestReport
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

INGEST_CHUNK = 100
MIN_PREFIX = 4
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


def summary_of(report: IngestReport | IngestReportOut) -> IngestSummary:
    return summarize(report.accepted, report.errors)


class Backend(Protocol):
    def ingest_dataset(self, source: Path, progress: Progress) -> tuple[str, IngestSummary]: ...

    def store_references(self, refs: list[Path]) -> IngestSummary: ...

    def finish_upload(self, dataset_id: str) -> UploadFinished:
        """Every file is sent: an upload that kept nothing is removed, an identical one
        gives way to the dataset already stored."""
        ...

    def resolve_dataset(self, ref: str) -> str:
        """A dataset id from an id or a unique prefix; NotFound/Conflict otherwise."""
        ...

    def list_datasets(self, limit: int) -> DatasetList: ...

    def dataset_usage(self, dataset_id: str) -> DatasetUsage: ...

    def dataset_items(self, dataset_id: str, limit: int) -> DatasetItemPage: ...

    def rename_dataset(self, dataset_id: str, name: str) -> DatasetOut: ...

    def delete_dataset(self, dataset_id: str) -> DatasetDeleted: ...

    def job_storage(self, job_id: str) -> JobStorageOut: ...

    def delete_job(self, job_id: str) -> JobDeleted: ...

    def dataset_labels(self, dataset_id: str) -> DatasetLabelsOut | None:
        """What was found in the dataset: format, classes, splits, problems."""
        ...

    def validate(self, req: JobCreate) -> JobCheckOut:
        """Every check that needs no uploaded image; called before any upload."""
        ...

    def resolve(self, job_ref: str) -> str:
        """The whole id of the job a unique id prefix names."""
        ...

    def interrupted(self, job_id: str) -> bool:
        """After Ctrl-C/SIGTERM: pause a job this process was running, durably (True);
        False when it runs elsewhere (a server) or had already ended."""
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

    def continue_trial(self, job_id: str) -> JobDetail:
        """Turn a trial into the whole job: queue the slots it left out, keep its outputs."""
        ...

    def spend(self, group_by: str, since: str | None) -> SpendOut: ...

    def close(self) -> None: ...

    def ensure_can_run(self) -> None:
        """Raise (a Conflict) before anything is created when jobs cannot run here."""
        ...

    @property
    def runs_in_process(self) -> bool: ...


def held(detail: JobDetail) -> bool:
    """Paused by the orchestrator at a budget cap (not by the user, not interrupted)."""
    return detail.status == JobStatus.paused and bool(detail.hold_reason)


def resolve_prefix(ref: str, ids: Sequence[str], what: str = "dataset") -> str:
    """`ref` itself, or the one id of `ids` it is a prefix of (at least 4 characters)."""
    ref = ref.strip()
    if ref in ids:
        return ref
    found = [i for i in ids if len(ref) >= MIN_PREFIX and i.startswith(ref)]
    if len(found) == 1:
        return found[0]
    if found:
        raise Conflict(f"{ref!r} matches {len(found)} {what}s; type more of the id.")
    raise NotFound(f"No {what} has the id {ref!r}: `bananabatch {what}s list` shows them.")
