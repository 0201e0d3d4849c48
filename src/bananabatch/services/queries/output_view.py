"""One output as the API shows it (shared by pages, `since` answers and single outputs)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bananabatch.db.models import Output, OutputStatus, ReviewState
from bananabatch.quality.flags import FLAG_LABELS, Flag
from bananabatch.quality.service import flags_by_output
from bananabatch.services.queries.paging import (
    asset_image_url,
    asset_thumbnail_url,
    output_version,
)
from bananabatch.services.queries.views import (
    API_PREFIX,
)
from bananabatch.services.queries.views_outputs import (
    LabelBoxOut,
    OutputFlagOut,
    OutputOut,
)


def output_out(o: Output, flags: list[tuple[str, str]] | None = None) -> OutputOut:
    has_image = o.status == OutputStatus.succeeded and o.storage_key is not None
    version = output_version(o.finished_at, o.regenerations)
    return OutputOut(
        id=o.id,
        job_id=o.job_id,
        batch_id=o.batch_id,
        task_id=o.task_id,
        position=o.position,
        run_index=o.run_index,
        variation=o.variation,
        source_path=o.source_path,
        source_asset_id=o.source_asset_id,
        archive_path=o.archive_path,
        prompt=o.prompt,
        model=o.model,
        seed=o.seed,
        attempt=o.attempt,
        status=OutputStatus(o.status),
        error_kind=o.error_kind,
        error=o.error,
        mime_type=o.mime_type,
        width=o.width,
        height=o.height,
        cost=o.cost,
        duration_ms=o.duration_ms,
        created_at=o.created_at,
        finished_at=o.finished_at,
        image_url=f"{API_PREFIX}/outputs/{o.id}/image?v={version}" if has_image else None,
        thumbnail_url=f"{API_PREFIX}/outputs/{o.id}/thumbnail?v={version}" if has_image else None,
        source_image_url=asset_image_url(o.source_asset_id) if o.source_asset_id else None,
        source_thumbnail_url=asset_thumbnail_url(o.source_asset_id) if o.source_asset_id else None,
        flags=[
            OutputFlagOut(flag=Flag(f), label=FLAG_LABELS[Flag(f)], detail=d)
            for f, d in flags or []
        ],
        review=ReviewState(o.review or ReviewState.unreviewed),
        regenerations=o.regenerations or 0,
        label_count=len(o.labels) if o.labels is not None else None,
        labels=[LabelBoxOut(class_id=b["class_id"], bbox=list(b["bbox"])) for b in o.labels]
        if o.labels is not None
        else None,
        transform=list((o.transform or {}).get("steps") or []),
    )


def output_with_flags(session: Session, o: Output) -> OutputOut:
    return output_out(o, flags_by_output(session, [o.id]).get(o.id))
