"""A job's export written straight into a folder (`run ... --out DIR`, `jobs export
JOB DIR`): the same entries, names and manifests as the ZIP, without writing a ZIP
first and extracting it. Local images are copied file to file (the kernel does it);
images in a bucket are streamed."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bananabatch.export.archive import export_entries
from bananabatch.export.entries import MANIFEST_CSV, MANIFEST_JSONL, ExportSelection
from bananabatch.export.manifest import rows_to_csv, rows_to_jsonl
from bananabatch.storage.base import Storage
from bananabatch.storage.local import LocalStorage

log = logging.getLogger(__name__)
COPY_CHUNK = 1 << 20


def _target(dest: Path, arcname: str) -> Path:
    """`arcname` under `dest`; export names are ours (`safe_arcname`), never a way out."""
    path = (dest / arcname).resolve()
    if not path.is_relative_to(dest):
        raise ValueError(f"export name escapes the folder: {arcname!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_text(path: Path, chunks: Iterable[bytes]) -> None:
    with path.open("wb") as fh:
        for chunk in chunks:
            fh.write(chunk)


def write_job_folder(
    session_factory: sessionmaker[Session],
    storage: Storage,
    job_id: str,
    dest: Path,
    selection: ExportSelection | None = None,
) -> int:
    """Write the job's export into `dest`; the number of files written."""
    with session_factory() as session:
        entries, _ = export_entries(
            session, job_id, selection or ExportSelection(), storage=storage
        )
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    rows = [e.row for e in entries if e.row is not None]
    _write_text(_target(root, MANIFEST_JSONL), rows_to_jsonl(rows))
    _write_text(_target(root, MANIFEST_CSV), rows_to_csv(rows))
    written = 2
    local = storage if isinstance(storage, LocalStorage) else None
    for entry in entries:
        if not entry.arcname:
            continue
        target = _target(root, entry.arcname)
        if entry.data is not None:
            target.write_bytes(entry.data)
        elif entry.storage_key is None:
            continue
        elif local is not None:
            shutil.copyfile(local.path(entry.storage_key), target)
        else:
            with storage.open(entry.storage_key) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out, COPY_CHUNK)
        written += 1
    log.info("exported job %s into %s: %d files", job_id, dest, written)
    return written
