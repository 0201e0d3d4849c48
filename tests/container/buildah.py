"""buildah for the image tests: vfs storage and chroot isolation (no daemon, no registry),
its storage cached under $BANANABATCH_CONTAINER_CACHE (default .cache/container)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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


def buildah(*args: str, timeout: float = 900, check: bool = True) -> str:
    done = subprocess.run(command(*args), capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args[:2])} exited {done.returncode}\n{done.stdout[-4000:]}\n"
            f"{done.stderr[-4000:]}"
        )
    return done.stdout


def run_in(container: str, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`buildah run` one command in a working container (it shares the host's network)."""
    return subprocess.run(
        command("run", "--isolation", "chroot", container, "--", *argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


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
