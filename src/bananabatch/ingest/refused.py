"""The files a dataset's uploads refused, kept with the dataset so a job's export
can say which source images are missing and why (not only the upload's answer)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from bananabatch.db.models import Dataset
from bananabatch.ingest.zipimport import FileError

MAX_REFUSED_KEPT = 10_000
"""Refusals remembered per dataset (an upload of 100,000 non-images stays bounded)."""


def merge_refused(
    kept: Iterable[dict[str, str]],
    refused: Iterable[FileError],
    accepted: Iterable[str],
) -> list[dict[str, str]]:
    """`kept` plus this upload's refusals (the latest reason per path), minus the paths
    this upload accepted; sorted by path (pure)."""
    by_path = {str(r.get("rel_path", "")): dict(r) for r in kept}
    for error in refused:
        by_path[error.rel_path] = {
            "rel_path": error.rel_path,
            "code": error.code,
            "message": error.message,
        }
    for path in accepted:
        by_path.pop(path, None)
    return [by_path[p] for p in sorted(by_path)][:MAX_REFUSED_KEPT]


def record_refused(
    session: Session,
    dataset_id: str,
    refused: list[FileError],
    accepted: list[str],
) -> None:
    """Update the dataset's list (the caller commits)."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or (not refused and not dataset.refused_files):
        return
    dataset.refused_files = merge_refused(dataset.refused_files or [], refused, accepted)
