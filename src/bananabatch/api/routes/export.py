"""Streaming ZIP export of a job, a batch, a selection, or one part of a large job."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from bananabatch.api.deps import JobId, RuntimeDep, SessionDep
from bananabatch.api.schemas import ExportPartOut, ExportPartsOut, ExportSelectionIn
from bananabatch.export import ExportSelection, export_entries, plan_parts, stream_job_zip
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
AcceptedOnly = Annotated[bool, Query(description="Only outputs accepted in review.")]
IncludeRejected = Annotated[bool, Query(description="Keep outputs rejected in review.")]
IncludeFlagged = Annotated[
    bool,
    Query(
        description="Labelled datasets: keep outputs flagged label-unsafe (layout moved); "
        "they are left out by default."
    ),
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
    accepted_only: AcceptedOnly = False,
    include_rejected: IncludeRejected = False,
    include_flagged: IncludeFlagged = False,
) -> StreamingResponse:
    """Streams while the job still runs: pending outputs appear in the manifests only.
    A job on a labelled dataset (YOLO, COCO, VOC, or with splits) exports as that
    dataset: every split, the originals and a label file for each output."""
    selection = ExportSelection(
        batch_id=batch_id,
        succeeded_only=succeeded_only,
        include_originals=include_originals,
        part=part,
        accepted_only=accepted_only,
        include_rejected=include_rejected,
        include_flagged=include_flagged,
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
        output_ids=frozenset(body.output_ids),
        include_originals=body.include_originals,
        include_rejected=body.include_rejected,
        include_flagged=body.include_flagged,
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
    accepted_only: AcceptedOnly = False,
    include_rejected: IncludeRejected = False,
    include_flagged: IncludeFlagged = False,
) -> ExportPartsOut:
    """Each part is a valid ZIP of at most `part_bytes` (BANANABATCH_EXPORT_PART_BYTES);
    a labelled dataset is one part (a dataset cut in two would not load)."""
    selection = ExportSelection(
        batch_id=batch_id,
        succeeded_only=succeeded_only,
        include_originals=include_originals,
        accepted_only=accepted_only,
        include_rejected=include_rejected,
        include_flagged=include_flagged,
    )
    part_bytes = runtime.settings.export_part_bytes
    entries, splittable = await run_in_threadpool(
        partial(export_entries, session, job_id, selection, storage=runtime.storage)
    )
    parts = plan_parts(entries, part_bytes if splittable else 1 << 62)
    query: dict[str, str] = {}
    if batch_id:
        query["batch_id"] = batch_id
    if succeeded_only:
        query["succeeded_only"] = "true"
    if include_originals is not None:
        query["include_originals"] = "true" if include_originals else "false"
    for name, on in (
        ("accepted_only", accepted_only),
        ("include_rejected", include_rejected),
        ("include_flagged", include_flagged),
    ):
        if on:
            query[name] = "true"
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
