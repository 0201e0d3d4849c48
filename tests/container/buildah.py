"""buildah for the image tests: vfs storage and chroot isolation (no daemon, no registry),
its storage cached under $BANANABATCH_CONTAINER_CACHE (default .cache/container)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger(__name__)
CACHE = Path(os.environ.get("BANANABATCH_CONTAINER_CACHE", ROOT / ".cache" / "container"))


def command(*args: str) -> list[str]:
    """The buildah command line with this cache's storage options."""
    return [
        "buildah",
        "--root",
        str(CACHE / "storage"),
        "--runroot",
        str(CACHE / "run"),
        "--storage-driver",
        "vfs",
        *args,
    ]


FLAKE = "sealing memfd copy"
"""buildah's chroot isolation re-executes itself from a sealed copy in memory; sealing
it sometimes fails with EBUSY ("Close_Fd sealing memfd copy: Device or resource busy")
on this kernel, and the same command then succeeds (seen at a `RUN` step of `bud`)."""
ATTEMPTS = 3


def _run(
    argv: list[str], timeout: float, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`argv`, run again (up to `ATTEMPTS` times) only when it failed with `FLAKE`."""
    for attempt in range(1, ATTEMPTS + 1):
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False
        )
        if done.returncode == 0 or FLAKE not in done.stderr + done.stdout or attempt == ATTEMPTS:
            return done
        log.warning("`buildah %s` hit its memfd sealing error; running it again", argv[7])
    raise AssertionError("unreachable")


def buildah(*args: str, timeout: float = 900, check: bool = True) -> str:
    done = _run(command(*args), timeout, cwd=ROOT)
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args[:2])} exited {done.returncode}\n{done.stdout[-4000:]}\n"
            f"{done.stderr[-4000:]}"
        )
    return done.stdout


def run_in(container: str, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`buildah run` one command in a working container (it shares the host's network)."""
    return _run(command("run", "--isolation", "chroot", container, "--", *argv), timeout)


def require_tools() -> None:
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing:  # never a silent skip: `make test-container` installs them
        pytest.fail(f"{' and '.join(missing)} not installed: run `make worker-image-tools`")


def base_image(flavor: str = "python") -> str:
    """The local Debian base of `flavor` (build_base.sh: built once, then cached)."""
    done = subprocess.run(
        [str(ROOT / "tests/container/build_base.sh"), flavor],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout.strip().splitlines()[-1]
