"""Streaming ZIP export of a job, a batch, a selection, or one part of a large job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from bananabatch.api.deps import JobId, RuntimeDep, SessionDep
from bananabatch.api.schemas import ExportPartOut, ExportPartsOut, ExportSelectionIn
from bananabatch.export import ExportSelection, iter_export_entries, plan_parts, stream_job_zip
from bananabatch.runtime import Runtime
from bananabatch.services.queries import API_PREFIX

router = APIRouter(prefix="/jobs", tags=["export"])

_ZIP_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        "description": "A ZIP with the images, manifest.jsonl and manifest.csv.",
    }
}
BatchFilter = Annotated[str | None, Query(max_length=64, description="Only this batch.")]
SucceededOnly = Annotated[bool, Query(description="Leave out outputs without an image.")]
IncludeOriginals = Annotated[
    bool | None, Query(description="Add the source images; the job's setting when omitted.")
]


async def _zip_response(
    runtime: Runtime, job_id: str, selection: ExportSelection
) -> StreamingResponse:
    filename, chunks, length = await run_in_threadpool(
        stream_job_zip,
        runtime.session_factory,
        runtime.storage,
        job_id,
        selection,
        part_bytes=runtime.settings.export_part_bytes,
    )
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if length is not None:
        headers["Content-Length"] = str(length)
    body: Iterator[bytes] = chunks
    return StreamingResponse(body, media_type="application/zip", headers=headers)


@router.get(
    "/{job_id}/export",
    response_class=StreamingResponse,
    responses=_ZIP_RESPONSES,
    summary="Download the job (or a batch, or a part) as a ZIP",
)
async def export_job(
    job_id: JobId,
    runtime: RuntimeDep,
    batch_id: BatchFilter = None,
    succeeded_only: SucceededOnly = False,
    include_originals: IncludeOriginals = None,
    part: Annotated[int | None, Query(ge=1, description="1-based part, see /export/parts.")] = None,
) -> StreamingResponse:
    """Streams while the job still runs: pending outputs appear in the manifests only."""
    selection = ExportSelection(
        batch_id=batch_id,
        succeeded_only=succeeded_only,
        include_originals=include_originals,
        part=part,
    )
    return await _zip_response(runtime, job_id, selection)


@router.post(
    "/{job_id}/export",
    response_class=StreamingResponse,
    responses=_ZIP_RESPONSES,
    summary="Download selected outputs as a ZIP",
)
async def export_selection(
    job_id: JobId, body: ExportSelectionIn, runtime: RuntimeDep
) -> StreamingResponse:
    selection = ExportSelection(
        output_ids=frozenset(body.output_ids), include_originals=body.include_originals
    )
    return await _zip_response(runtime, job_id, selection)


@router.get(
    "/{job_id}/export/parts",
    response_model=ExportPartsOut,
    summary="How a large export splits into parts",
)
async def list_export_parts(
    job_id: JobId,
    runtime: RuntimeDep,
    session: SessionDep,
    batch_id: BatchFilter = None,
    succeeded_only: SucceededOnly = False,
    include_originals: IncludeOriginals = None,
) -> ExportPartsOut:
    """Each part is a valid ZIP of at most `part_bytes` (BANANABATCH_EXPORT_PART_BYTES)."""
    selection = ExportSelection(
        batch_id=batch_id, succeeded_only=succeeded_only, include_originals=include_originals
    )
    part_bytes = runtime.settings.export_part_bytes
    entries = await run_in_threadpool(
        iter_export_entries, session, job_id, selection, storage=runtime.storage
    )
    parts = plan_parts(entries, part_bytes)
    query: dict[str, str] = {}
    if batch_id:
        query["batch_id"] = batch_id
    if succeeded_only:
        query["succeeded_only"] = "true"
    if include_originals is not None:
        query["include_originals"] = "true" if include_originals else "false"
    base = f"{API_PREFIX}/jobs/{job_id}/export"
    return ExportPartsOut(
        part_bytes=part_bytes,
        parts=[
            ExportPartOut(
                part=p.part,
                entries=p.entries,
                files=p.files,
                outputs=p.outputs,
                approx_bytes=p.approx_bytes,
                url=f"{base}?{urlencode({**query, 'part': str(p.part)})}",
            )
            for p in parts
        ],
    )
