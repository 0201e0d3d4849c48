"""A small typed client of the BananaBatch HTTP API, for the CLI's `--server URL` mode.

Answers are parsed into the same pydantic models the server answers with, and
error bodies become `ApiError` (a `BananaBatchError`) carrying the server's
status, code and message, so the CLI prints exactly what the server said.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from bananabatch.api.schemas import (
    DatasetItemPage,
    DatasetList,
    DatasetOut,
    DatasetSummaryOut,
    EstimateOut,
    HealthOut,
    IngestReportOut,
    JobCheckOut,
    JobCreated,
    JobDetail,
    JobList,
    OutputPage,
    RetryOut,
    SpendOut,
)
from bananabatch.errors import BananaBatchError, ServiceUnavailable
from bananabatch.services.datasets import DatasetDeleted, UploadFinished
from bananabatch.services.job_delete import JobDeleted, JobStorageOut
from bananabatch.services.job_requests import AutomaticJobCreate, SemiAutoJobCreate
from bananabatch.services.queries import DatasetUsage
from bananabatch.services.review import (
    RegenerateEstimateOut,
    RegenerateOut,
    ReviewIn,
    ReviewOut,
)

TOKEN_ENV = "BANANABATCH_TOKEN"
API_PREFIX = "/api/v1"
UPLOAD_BATCH_FILES = 100
UPLOAD_BATCH_BYTES = 64 * 1024 * 1024

M = TypeVar("M", bound=BaseModel)


class ApiError(BananaBatchError):
    """An error answer from the server (status and code as the server sent them)."""

    def __init__(self, status_code: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.status_code = status_code
        self.code = code


def token_from_env() -> str | None:
    """`BANANABATCH_TOKEN`, else the first of `BANANABATCH_API_TOKENS` (same machine)."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    tokens = [t.strip() for t in os.environ.get("BANANABATCH_API_TOKENS", "").split(",")]
    return next((t for t in tokens if t), None)


def _raise_for(response: httpx.Response) -> None:
    if response.is_success or response.status_code == 304:
        return
    try:
        body = response.json()
        err = body["error"]
        raise ApiError(
            response.status_code, str(err["code"]), str(err["message"]), err.get("details")
        )
    except (ValueError, KeyError, TypeError):
        text = response.text[:300]
        raise ApiError(
            response.status_code, "http_error", f"HTTP {response.status_code}: {text}".strip()
        ) from None


class ApiClient:
    """Synchronous client; use as a context manager or call `close()`."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
        )

    @classmethod
    def from_env(cls, base_url: str, **kwargs: Any) -> ApiClient:
        return cls(base_url, token_from_env(), **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- plumbing ------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"Cannot reach the BananaBatch server at {self.base_url} ({exc}). "
                "Is `bananabatch serve` running there?"
            ) from exc
        _raise_for(response)
        return response

    def _get(self, path: str, model: type[M], **params: Any) -> M:
        clean = {k: v for k, v in params.items() if v is not None}
        return model.model_validate(self._request("GET", path, params=clean).json())

    def _post(self, path: str, model: type[M], body: Any = None) -> M:
        response = self._request("POST", path, json=body)
        return model.model_validate(response.json())

    # ---- server ---------------------------------------------------------------------------

    def health(self) -> HealthOut:
        return self._get("/health", HealthOut)

    # ---- jobs -----------------------------------------------------------------------------

    def list_jobs(
        self,
        *,
        status: Sequence[str] | None = None,
        mode: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> JobList:
        return self._get(
            "/jobs", JobList, status=list(status) if status else None, mode=mode,
            limit=limit, offset=offset,
        )  # fmt: skip

    def get_job(self, job_id: str) -> JobDetail:
        return self._get(f"/jobs/{job_id}", JobDetail)

    def set_budget(self, job_id: str, max_cost: float | None) -> JobDetail:
        response = self._request("PUT", f"/jobs/{job_id}/budget", json={"max_cost": max_cost})
        return JobDetail.model_validate(response.json())

    def spend(self, group_by: str, since: str | None = None) -> SpendOut:
        return self._get("/spend", SpendOut, group_by=group_by, since=since)

    def create_job(self, request: AutomaticJobCreate | SemiAutoJobCreate) -> JobCreated:
        return self._post("/jobs", JobCreated, request.model_dump(mode="json"))

    def estimate_job(self, request: AutomaticJobCreate | SemiAutoJobCreate) -> EstimateOut:
        return self._post("/jobs/estimate", EstimateOut, request.model_dump(mode="json"))

    def continue_trial(self, job_id: str) -> JobDetail:
        return self._post(f"/jobs/{job_id}/continue", JobDetail)

    def validate_job(self, request: AutomaticJobCreate | SemiAutoJobCreate) -> JobCheckOut:
        return self._post("/jobs/validate", JobCheckOut, request.model_dump(mode="json"))

    def cancel_job(self, job_id: str) -> JobDetail:
        return self._post(f"/jobs/{job_id}/cancel", JobDetail)

    def pause_job(self, job_id: str) -> JobDetail:
        return self._post(f"/jobs/{job_id}/pause", JobDetail)

    def resume_job(self, job_id: str) -> JobDetail:
        return self._post(f"/jobs/{job_id}/resume", JobDetail)

    def retry_failed(self, job_id: str, output_ids: Sequence[str] | None = None) -> RetryOut:
        body = {"output_ids": list(output_ids)} if output_ids else None
        return self._post(f"/jobs/{job_id}/retry-failed", RetryOut, body)

    def review(self, job_id: str, body: ReviewIn) -> ReviewOut:
        return self._post(f"/jobs/{job_id}/review", ReviewOut, body.model_dump(mode="json"))

    def regenerate_estimate(self, job_id: str) -> RegenerateEstimateOut:
        return self._get(f"/jobs/{job_id}/regenerate-rejected", RegenerateEstimateOut)

    def regenerate_rejected(
        self, job_id: str, expected_outputs: int | None = None
    ) -> RegenerateOut:
        body = {"expected_outputs": expected_outputs} if expected_outputs is not None else None
        return self._post(f"/jobs/{job_id}/regenerate-rejected", RegenerateOut, body)

    def set_priority(self, job_id: str, priority: int) -> JobDetail:
        response = self._request("PATCH", f"/jobs/{job_id}", json={"priority": priority})
        return JobDetail.model_validate(response.json())

    def list_outputs(
        self,
        job_id: str,
        *,
        cursor: str | None = None,
        limit: int = 100,
        batch_id: str | None = None,
        status: Sequence[str] | None = None,
    ) -> OutputPage:
        return self._get(
            f"/jobs/{job_id}/outputs", OutputPage, cursor=cursor, limit=limit,
            batch_id=batch_id, status=list(status) if status else None,
        )  # fmt: skip

    def download_export(
        self,
        job_id: str,
        dest: Path,
        *,
        batch_id: str | None = None,
        succeeded_only: bool = False,
        accepted_only: bool = False,
        include_flagged: bool = False,
    ) -> Path:
        """Stream the job's ZIP to `dest` (written to a temp name, then renamed)."""
        params: dict[str, Any] = {"succeeded_only": str(succeeded_only).lower()}
        if batch_id:
            params["batch_id"] = batch_id
        if accepted_only:
            params["accepted_only"] = "true"
        if include_flagged:
            params["include_flagged"] = "true"
        tmp = dest.with_name(dest.name + ".part")
        try:
            with self._http.stream("GET", f"/jobs/{job_id}/export", params=params) as response:
                if not response.is_success:
                    response.read()
                    _raise_for(response)
                with tmp.open("wb") as fh:
                    for chunk in response.iter_bytes(1024 * 1024):
                        fh.write(chunk)
        except httpx.TransportError as exc:
            tmp.unlink(missing_ok=True)
            raise ServiceUnavailable(
                f"The download from {self.base_url} broke off ({exc}); try again."
            ) from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        tmp.replace(dest)
        return dest

    # ---- datasets and uploads -------------------------------------------------------------

    def create_dataset(self, name: str = "") -> DatasetSummaryOut:
        return self._post("/datasets", DatasetSummaryOut, {"name": name})

    def get_dataset(self, dataset_id: str) -> DatasetSummaryOut:
        return self._get(f"/datasets/{dataset_id}", DatasetSummaryOut)

    def list_datasets(self, limit: int = 100) -> DatasetList:
        return self._get("/datasets", DatasetList, limit=limit)

    def dataset_usage(self, dataset_id: str) -> DatasetUsage:
        return self._get(f"/datasets/{dataset_id}/usage", DatasetUsage)

    def dataset_items(self, dataset_id: str, limit: int) -> DatasetItemPage:
        return self._get(f"/datasets/{dataset_id}/items", DatasetItemPage, limit=limit)

    def rename_dataset(self, dataset_id: str, name: str) -> DatasetOut:
        response = self._request("PATCH", f"/datasets/{dataset_id}", json={"name": name})
        return DatasetOut.model_validate(response.json())

    def delete_dataset(self, dataset_id: str) -> DatasetDeleted:
        response = self._request("DELETE", f"/datasets/{dataset_id}")
        return DatasetDeleted.model_validate(response.json())

    def complete_upload(self, dataset_id: str) -> UploadFinished:
        return self._post(f"/datasets/{dataset_id}/complete", UploadFinished)

    def job_storage(self, job_id: str) -> JobStorageOut:
        return self._get(f"/jobs/{job_id}/storage", JobStorageOut)

    def delete_job(self, job_id: str) -> JobDeleted:
        response = self._request("DELETE", f"/jobs/{job_id}")
        return JobDeleted.model_validate(response.json())

    def upload_files(
        self, dataset_id: str | None, files: Sequence[tuple[str, Path]]
    ) -> IngestReportOut:
        """Upload (relative path, local file) pairs in batches; one merged report.

        `dataset_id` None uploads standalone reference images (semi-automatic mode).
        """
        path = f"/datasets/{dataset_id}/files" if dataset_id else "/assets"
        merged = IngestReportOut(accepted=[], errors=[], skipped=[], replaced=[])
        for batch in _batches(files):
            with ExitStack() as stack:
                parts = [
                    ("files", (Path(rel).name, stack.enter_context(local.open("rb"))))
                    for rel, local in batch
                ]
                data = {"paths": [rel for rel, _ in batch]}
                response = self._request("POST", path, files=parts, data=data)
            report = IngestReportOut.model_validate(response.json())
            merged.accepted.extend(report.accepted)
            merged.errors.extend(report.errors)
            merged.skipped.extend(report.skipped)
            merged.replaced.extend(report.replaced)
        return merged

    def upload_zip(self, dataset_id: str, zip_path: Path) -> IngestReportOut:
        with zip_path.open("rb") as fh:
            response = self._request(
                "POST",
                f"/datasets/{dataset_id}/zip",
                files={"file": (zip_path.name, fh, "application/zip")},
            )
        return IngestReportOut.model_validate(response.json())


def _batches(files: Sequence[tuple[str, Path]]) -> Iterator[list[tuple[str, Path]]]:
    """Groups small enough for one request (count and bytes), so a folder of thousands
    of photos never becomes one huge request."""
    batch: list[tuple[str, Path]] = []
    size = 0
    for rel, local in files:
        n = local.stat().st_size
        if batch and (len(batch) >= UPLOAD_BATCH_FILES or size + n > UPLOAD_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((rel, local))
        size += n
    if batch:
        yield batch
