"""Standalone images (semi-automatic references) and asset downloads."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from bananabatch.api.deps import AssetId, RuntimeDep, SessionDep
from bananabatch.api.routes._files import stored_file_response
from bananabatch.api.routes._ingest import ingest_uploaded_files
from bananabatch.api.schemas import IngestReportOut
from bananabatch.api.uploads import (
    multipart_files_schema,
)
from bananabatch.db.models import Asset
from bananabatch.errors import NotFound
from bananabatch.storage.base import Storage

router = APIRouter(prefix="/assets", tags=["assets"])

MAX_FILES_PER_REQUEST = 1_000
_IMAGE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"image/*": {}}, "description": "The image bytes."},
    304: {"description": "Not modified (If-None-Match matched)."},
}


@router.post(
    "",
    response_model=IngestReportOut,
    summary="Upload reference images",
    openapi_extra=multipart_files_schema,
)
async def upload_assets(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> IngestReportOut:
    """Multipart parts named `files`. Each accepted image's `asset_id` can be used in
    `reference_asset_ids`; re-uploading the same bytes returns the same id."""
    return await ingest_uploaded_files(
        request, runtime, session, None, max_files=MAX_FILES_PER_REQUEST
    )


def _asset(session: SessionDep, asset_id: str) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"Asset {asset_id} does not exist.", details={"asset_id": asset_id})
    return asset


@router.get(
    "/{asset_id}/image",
    response_class=Response,
    responses=_IMAGE_RESPONSES,
    summary="The uploaded image (normalised)",
)
async def get_asset_image(
    asset_id: AssetId, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    asset = await run_in_threadpool(_asset, session, asset_id)
    return await run_in_threadpool(
        stored_file_response,
        request,
        runtime.storage,
        asset.storage_key,
        media_type=asset.mime_type,
        etag=f'"a-{asset.id}"',
    )


@router.get(
    "/{asset_id}/thumbnail",
    response_class=Response,
    responses=_IMAGE_RESPONSES,
    summary="A small WebP preview (the image itself when no thumbnail exists)",
)
async def get_asset_thumbnail(
    asset_id: AssetId, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    asset = await run_in_threadpool(_asset, session, asset_id)
    return await run_in_threadpool(_thumbnail_response, request, runtime.storage, asset)


def _thumbnail_response(request: Request, storage: Storage, asset: Asset) -> Response:
    if asset.thumb_key and storage.exists(asset.thumb_key):
        return stored_file_response(
            request, storage, asset.thumb_key, media_type="image/webp", etag=f'"t-{asset.id}"'
        )
    return stored_file_response(
        request, storage, asset.storage_key, media_type=asset.mime_type, etag=f'"a-{asset.id}"'
    )
