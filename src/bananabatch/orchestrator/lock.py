"""One scheduler per data dir: an exclusive lock file."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from bananabatch.errors import Conflict


class OrchestratorLock:
    """An exclusive lock file so two processes never schedule the same data dir."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise Conflict(
                f"Another BananaBatch process ({holder}) is already running jobs on this data "
                "directory. Stop it, or talk to it with `--server URL`."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
