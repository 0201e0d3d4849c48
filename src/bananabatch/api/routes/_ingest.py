"""The one upload path shared by dataset files and reference images: stream the
multipart body to disk, pair files with their relative paths, ingest them."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bananabatch.api.schemas import IngestReportOut
from bananabatch.api.uploads import open_in_turn, parse_multipart_to_disk, upload_dir
from bananabatch.errors import ValidationFailed
from bananabatch.ingest.service import ingest_files
from bananabatch.runtime import Runtime
from bananabatch.services.queries import asset_thumbnail_url


async def ingest_uploaded_files(
    request: Request,
    runtime: Runtime,
    session: Session,
    dataset_id: str | None,
    *,
    max_files: int,
) -> IngestReportOut:
    """Parts named `files`, each filename a relative path, or plain names plus aligned
    `paths` fields. `dataset_id` None stores standalone assets (reference images)."""
    with upload_dir(runtime.settings.data_dir) as tmp:
        form = await parse_multipart_to_disk(
            request, tmp, file_fields=frozenset({"files"}), max_files=max_files
        )
        files = form.files_named("files")
        if not files:
            raise ValidationFailed(
                "The upload holds no files: send one or more multipart parts named 'files'."
            )
        paths = form.fields.get("paths")
        if paths is not None and len(paths) != len(files):
            raise ValidationFailed(
                f"Got {len(paths)} 'paths' fields for {len(files)} files; send one path per "
                "file, in the same order, or none at all."
            )
        names = paths if paths is not None else [f.filename for f in files]
        report = await run_in_threadpool(
            ingest_files,
            session,
            runtime.storage,
            runtime.settings,
            dataset_id,
            open_in_turn(list(zip(names, files, strict=True))),
        )
    return IngestReportOut.from_report(report, asset_thumbnail_url)
