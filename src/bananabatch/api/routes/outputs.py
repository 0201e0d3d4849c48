"""One output: its record, image and thumbnail."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from bananabatch.api.deps import OutputId, RuntimeDep, SessionDep
from bananabatch.api.routes._files import etag_matches, stored_file_response
from bananabatch.api.schemas import OutputOut
from bananabatch.db.models import Output, OutputStatus
from bananabatch.errors import NotFound
from bananabatch.ingest.thumbnails import make_thumbnail
from bananabatch.services import queries
from bananabatch.services.queries.paging import output_etag, output_version
from bananabatch.storage.base import Storage
from bananabatch.storage.keys import output_thumb_key

log = logging.getLogger(__name__)
router = APIRouter(prefix="/outputs", tags=["outputs"])

_IMAGE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"image/*": {}}, "description": "The image bytes."},
    304: {"description": "Not modified (If-None-Match matched)."},
}


def _with_image(session: SessionDep, output_id: str) -> Output:
    output = queries.get_output(session, output_id)
    if output.status != OutputStatus.succeeded or not output.storage_key:
        raise NotFound(
            f"Output {output_id} has no image (status: {output.status}).",
            details={"output_id": output_id, "status": output.status},
        )
    return output


def _etag(output: Output, kind: str) -> str:
    return output_etag(kind, output.id, output_version(output.finished_at, output.regenerations))


def _download_name(output: Output) -> str:
    return output.archive_path.rsplit("/", 1)[-1] or f"{output.id}.png"


@router.get("/{output_id}", response_model=OutputOut, summary="One output with its lineage")
async def get_output(output_id: OutputId, session: SessionDep) -> OutputOut:
    output = await run_in_threadpool(queries.get_output, session, output_id)
    return await run_in_threadpool(queries.output_with_flags, session, output)


@router.get(
    "/{output_id}/image",
    response_class=Response,
    responses=_IMAGE_RESPONSES,
    summary="The generated image (prompt, model and seed embedded)",
)
async def get_output_image(
    output_id: OutputId, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    output = await run_in_threadpool(_with_image, session, output_id)
    assert output.storage_key is not None
    return await run_in_threadpool(
        stored_file_response,
        request,
        runtime.storage,
        output.storage_key,
        media_type=output.mime_type or "application/octet-stream",
        etag=_etag(output, "o"),
        filename=_download_name(output),
    )


@router.get(
    "/{output_id}/thumbnail",
    response_class=Response,
    responses=_IMAGE_RESPONSES,
    summary="A small WebP preview (the image itself when no thumbnail exists)",
)
async def get_output_thumbnail(
    output_id: OutputId, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    output = await run_in_threadpool(_with_image, session, output_id)
    return await run_in_threadpool(_thumbnail_response, request, runtime.storage, output)


def _thumbnail_response(request: Request, storage: Storage, output: Output) -> Response:
    """Thumbnails are made on first request and kept: generation never waits for them,
    and most outputs of a large job are never looked at one by one."""
    assert output.storage_key is not None
    thumb = output_thumb_key(output.job_id, output.id)
    if not etag_matches(request, _etag(output, "ot")) and not storage.exists(thumb):
        try:
            storage.put_derived(thumb, make_thumbnail(storage.get_bytes(output.storage_key)))
        except Exception:  # the image itself is still served below
            log.exception("thumbnail for output %s failed", output.id)
    if storage.exists(thumb):
        return stored_file_response(
            request, storage, thumb, media_type="image/webp", etag=_etag(output, "ot")
        )
    return stored_file_response(
        request,
        storage,
        output.storage_key,
        media_type=output.mime_type or "application/octet-stream",
        etag=_etag(output, "o"),
    )
