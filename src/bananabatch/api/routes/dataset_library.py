"""The dataset library's actions: what a delete would free, rename, delete, and the
end of an upload (an upload that kept nothing is removed, an identical one reuses
the dataset already stored)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from bananabatch.api.deps import DatasetId, RuntimeDep, SessionDep
from bananabatch.api.schemas import DatasetOut
from bananabatch.services import datasets as library
from bananabatch.services import queries
from bananabatch.services.datasets import DatasetDeleted, DatasetRename, UploadFinished
from bananabatch.services.queries import DatasetUsage

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.get(
    "/{dataset_id}/usage",
    response_model=DatasetUsage,
    summary="The jobs made from a dataset and the space deleting it frees",
)
async def get_dataset_usage(dataset_id: DatasetId, session: SessionDep) -> DatasetUsage:
    return await run_in_threadpool(queries.dataset_usage, session, dataset_id)


@router.patch("/{dataset_id}", response_model=DatasetOut, summary="Rename a dataset")
async def rename_dataset(
    dataset_id: DatasetId, body: DatasetRename, session: SessionDep
) -> DatasetOut:
    dataset = await run_in_threadpool(library.rename_dataset, session, dataset_id, body.name)
    return await run_in_threadpool(queries.dataset_out, session, dataset.id)


@router.delete(
    "/{dataset_id}",
    response_model=DatasetDeleted,
    summary="Delete a dataset and the stored files only it used",
    responses={409: {"description": "Jobs still use the dataset (they are listed)."}},
)
async def delete_dataset(
    dataset_id: DatasetId, runtime: RuntimeDep, session: SessionDep
) -> DatasetDeleted:
    """Refused (409, the jobs listed in `details.jobs`) while jobs made from it exist.
    Images shared with another dataset or a job stay stored."""
    return await run_in_threadpool(library.delete_dataset, session, runtime.storage, dataset_id)


@router.post(
    "/{dataset_id}/complete",
    response_model=UploadFinished,
    summary="Finish an upload: remove it when empty, reuse an identical dataset",
)
async def complete_dataset_upload(
    dataset_id: DatasetId, runtime: RuntimeDep, session: SessionDep
) -> UploadFinished:
    """Call once every file is sent. `outcome` says what happened and `id` names the
    dataset to use from now on (null when nothing could be used)."""
    return await run_in_threadpool(library.finish_upload, session, runtime.storage, dataset_id)
