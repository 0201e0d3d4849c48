"""What RunPod workers call on this server (under BANANABATCH_PUBLIC_URL): signed,
expiring URLs to fetch a reference and to upload an output, and the completion
webhook. They need no login: the signature in the path is the permission, for one
storage key and one direction (see `executors/signing.py`)."""

from __future__ import annotations

import logging
import tempfile

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from bananabatch.api.deps import RuntimeDep
from bananabatch.api.routes._files import stored_file_response
from bananabatch.errors import BadUpload, Forbidden, PayloadTooLarge
from bananabatch.executors.routing import RoutingExecutor
from bananabatch.executors.runpod import RunPodExecutor
from bananabatch.image_metadata import sniff_format

log = logging.getLogger(__name__)
router = APIRouter(tags=["transport"])

_MIME_BY_FORMAT = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@router.get(
    "/transport/get/{token}",
    response_class=Response,
    summary="A reference image for a remote worker (signed, expiring URL)",
)
async def transport_get(token: str, request: Request, runtime: RuntimeDep) -> Response:
    key = runtime.signer.verify(token, "get")
    ext = key.rsplit(".", 1)[-1].lower()
    media = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
    return await run_in_threadpool(
        stored_file_response,
        request,
        runtime.storage,
        key,
        media_type=media.get(ext, "application/octet-stream"),
        etag=f'"t-{key.rsplit("/", 1)[-1]}"',
    )


@router.put(
    "/transport/put/{token}",
    summary="A remote worker uploads one output image (signed, expiring URL)",
)
async def transport_put(token: str, request: Request, runtime: RuntimeDep) -> dict[str, object]:
    key = runtime.signer.verify(token, "put")
    limit = runtime.settings.max_image_bytes
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit:
        raise PayloadTooLarge(f"The image is larger than {limit} bytes.")
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as tmp:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The image is larger than {limit} bytes.")
            tmp.write(chunk)
        tmp.seek(0)
        head = tmp.read(64)
        fmt = sniff_format(head)
        if fmt is None or _MIME_BY_FORMAT.get(fmt) is None:
            raise BadUpload("The upload is not a PNG, JPEG or WebP image.")
        tmp.seek(0)
        await run_in_threadpool(runtime.storage.put_file, key, tmp)  # type: ignore[arg-type]
    log.info("stored an uploaded output at %s (%d bytes)", key, size)
    return {"key": key, "size": size}


@router.post(
    "/runpod/webhook/{task_id}/{secret}",
    summary="RunPod's completion callback: poll this task now (polling stays the truth)",
)
async def runpod_webhook(
    task_id: str, secret: str, request: Request, runtime: RuntimeDep
) -> dict[str, bool]:
    if not runtime.signer.check_webhook(task_id, secret):
        raise Forbidden("Unknown webhook.")
    try:
        doc = await request.json()
        job_id = str(doc.get("id", "")) if isinstance(doc, dict) else ""
    except ValueError:
        job_id = ""
    engine = runtime.executor
    if isinstance(engine, RoutingExecutor):
        engine = engine.standard
    if isinstance(engine, RunPodExecutor) and job_id:
        engine.notify(job_id)
    return {"ok": True}
