"""What a CLI run asked for that the server does not keep: where `--out` writes.
`bananabatch jobs resume JOB` (without --out) writes there again.

One small JSON file on the client, `$XDG_STATE_HOME/bananabatch/runs.json`
(default `~/.local/state`): the destination is a path on this machine, which a
server elsewhere could not use. Job ids are random, so they key it alone."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

MAX_RUNS = 500
"""Oldest entries are dropped beyond this; a resume is for recent jobs."""


def state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "bananabatch" / "runs.json"


def _load(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


def remember_out(job_id: str, dest: Path) -> None:
    """Record the run's destination (absolute). A failure to write is logged, never fatal:
    the job itself is safe either way."""
    path = state_file()
    runs = _load(path)
    runs.pop(job_id, None)
    runs[job_id] = str(dest.expanduser().resolve())
    kept = dict(list(runs.items())[-MAX_RUNS:])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
        ) as fh:
            json.dump(kept, fh, indent=1)
        Path(fh.name).replace(path)
    except OSError as exc:
        log.warning("could not record where job %s writes (%s): %s", job_id, path, exc)


def remembered_out(job_id: str) -> Path | None:
    """The --out the run of `job_id` asked for, if this machine ran it with one."""
    value = _load(state_file()).get(job_id)
    return Path(value) if value else None
