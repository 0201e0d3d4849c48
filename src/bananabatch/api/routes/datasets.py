"""Datasets: create, list, summarise, upload files or a ZIP, list items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from bananabatch.api.deps import DatasetId, RuntimeDep, SessionDep
from bananabatch.api.routes._ingest import ingest_uploaded_files
from bananabatch.api.schemas import (
    DatasetCreate,
    DatasetItemPage,
    DatasetList,
    DatasetSummaryOut,
    IngestReportOut,
)
from bananabatch.api.uploads import (
    multipart_files_schema,
    multipart_zip_schema,
    parse_multipart_to_disk,
    safe_basename,
    upload_dir,
)
from bananabatch.datasets.service import label_summary
from bananabatch.db.models import Dataset
from bananabatch.errors import NotFound, ValidationFailed
from bananabatch.ingest.dataset_items import create_dataset as create_dataset_row
from bananabatch.ingest.dataset_items import dataset_summary
from bananabatch.ingest.service import ingest_zip
from bananabatch.services import queries
from bananabatch.services.queries import asset_thumbnail_url

router = APIRouter(prefix="/datasets", tags=["datasets"])

MAX_FILES_PER_REQUEST = 10_000


def _ensure_dataset(session: SessionDep, dataset_id: str) -> None:
    if session.get(Dataset, dataset_id) is None:
        raise NotFound(f"Dataset {dataset_id} does not exist.", details={"dataset_id": dataset_id})


@router.post("", response_model=DatasetSummaryOut, status_code=201, summary="Create a dataset")
async def create_dataset(body: DatasetCreate, session: SessionDep) -> DatasetSummaryOut:
    dataset = await run_in_threadpool(create_dataset_row, session, body.name)
    summary = await run_in_threadpool(dataset_summary, session, dataset.id)
    return DatasetSummaryOut.from_summary(summary)


@router.get("", response_model=DatasetList, summary="List datasets, newest first")
async def list_datasets(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DatasetList:
    return await run_in_threadpool(queries.list_datasets, session, limit=limit, offset=offset)


@router.get(
    "/{dataset_id}",
    response_model=DatasetSummaryOut,
    summary="Item count, folders, and the labels found (format, classes, splits, problems)",
)
async def get_dataset(
    dataset_id: DatasetId,
    runtime: RuntimeDep,
    session: SessionDep,
    labels: Annotated[
        bool,
        Query(
            description="Read the labels (again, when uploads changed the dataset). False "
            "answers without them: cheap to poll while an upload is still running."
        ),
    ] = True,
) -> DatasetSummaryOut:
    """The labels are read again after an upload changed the dataset (a YOLO, COCO or VOC
    dataset of thousands of images takes a moment once), then answered from a cache."""
    summary = await run_in_threadpool(dataset_summary, session, dataset_id)
    found = (
        await run_in_threadpool(label_summary, session, runtime.storage, dataset_id)
        if labels
        else None
    )
    return DatasetSummaryOut.from_summary(summary, found)


@router.post(
    "/{dataset_id}/files",
    response_model=IngestReportOut,
    summary="Upload images with their relative paths",
    openapi_extra=multipart_files_schema,
)
async def upload_dataset_files(
    dataset_id: DatasetId, request: Request, runtime: RuntimeDep, session: SessionDep
) -> IngestReportOut:
    """Multipart parts named `files`, each filename a relative path (`cat/001.jpg`), or
    plain names plus aligned `paths` fields. Bad files are listed in `errors`; the rest land."""
    await run_in_threadpool(_ensure_dataset, session, dataset_id)
    return await ingest_uploaded_files(
        request, runtime, session, dataset_id, max_files=MAX_FILES_PER_REQUEST
    )


@router.post(
    "/{dataset_id}/zip",
    response_model=IngestReportOut,
    summary="Upload a dataset ZIP",
    openapi_extra=multipart_zip_schema,
)
async def upload_dataset_zip(
    dataset_id: DatasetId, request: Request, runtime: RuntimeDep, session: SessionDep
) -> IngestReportOut:
    """One multipart part named `file`. Hostile archives (path escapes, symlinks, bombs)
    are refused; per-entry problems are listed in `errors`."""
    await run_in_threadpool(_ensure_dataset, session, dataset_id)
    settings = runtime.settings
    with upload_dir(settings.data_dir) as tmp:
        form = await parse_multipart_to_disk(
            request, tmp, file_fields=frozenset({"file"}), max_files=1
        )
        files = form.files_named("file")
        if not files:
            raise ValidationFailed("The upload holds no file: send the ZIP as a part named 'file'.")
        uploaded = files[0]
        zip_path = tmp / safe_basename(uploaded.filename, "upload.zip")
        uploaded.path.rename(zip_path)
        report = await run_in_threadpool(
            ingest_zip, session, runtime.storage, settings, dataset_id, zip_path
        )
    return IngestReportOut.from_report(report, asset_thumbnail_url)


@router.get("/{dataset_id}/items", response_model=DatasetItemPage, summary="Dataset items by path")
async def list_dataset_items(
    dataset_id: DatasetId,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    folder: Annotated[str | None, Query(max_length=255)] = None,
) -> DatasetItemPage:
    return await run_in_threadpool(
        queries.list_dataset_items,
        session,
        dataset_id,
        cursor=cursor,
        limit=limit,
        folder=folder,
    )
