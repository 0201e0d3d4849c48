"""The data directory's temp folder (`<data_dir>/tmp`) and its clean-up after a crash.

Uploads stream into per-request folders there and remove them when the request
ends; a killed process cannot, so the next start removes what is left. It does
so only while holding the orchestrator lock (no other process of this data
directory is running) and only for entries older than its own start, so
nothing in use is touched.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

MTIME_SLACK_SECONDS = 2.0
"""File systems with coarse timestamps may date a brand-new file slightly in the past."""


def tmp_root(data_dir: Path) -> Path:
    return data_dir / "tmp"


def remove_stale_tmp(data_dir: Path, started_at: float) -> int:
    """Remove entries of the temp folder last changed before `started_at` (epoch
    seconds, minus a little slack); returns how many were removed."""
    root = tmp_root(data_dir)
    try:
        entries = list(root.iterdir())
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.warning("could not list the temp folder %s: %s", root, exc)
        return 0
    cutoff = started_at - MTIME_SLACK_SECONDS
    removed = 0
    for entry in entries:
        try:
            info = entry.lstat()
            if info.st_mtime >= cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("could not remove stale temp entry %s: %s", entry, exc)
            continue
        removed += 1
    if removed:
        log.info("removed %d temp upload file(s) left by an earlier run in %s", removed, root)
    return removed
