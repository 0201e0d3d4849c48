"""Temp upload files a killed server left behind are removed on the next start."""

from __future__ import annotations

import os
import time

from bananabatch.config import Settings
from bananabatch.runtime import build_runtime


async def test_start_removes_stale_upload_temp_files(settings: Settings) -> None:
    tmp = settings.data_dir / "tmp"
    stale_dir = tmp / "upload-killed"
    stale_dir.mkdir(parents=True)
    (stale_dir / "000000.part").write_bytes(b"x" * 1000)
    stale_file = tmp / "stray.part"
    stale_file.write_bytes(b"y")
    an_hour_ago = time.time() - 3600
    for path in (stale_dir / "000000.part", stale_dir, stale_file):
        os.utime(path, (an_hour_ago, an_hour_ago))

    rt = build_runtime(settings)
    fresh = tmp / "upload-in-progress"  # created by this process after it was built
    fresh.mkdir()
    (fresh / "000000.part").write_bytes(b"z")
    try:
        await rt.start()
        assert sorted(p.name for p in tmp.iterdir()) == ["upload-in-progress"]
        assert (fresh / "000000.part").read_bytes() == b"z"
    finally:
        await rt.stop()


async def test_start_without_a_temp_folder_is_fine(settings: Settings) -> None:
    rt = build_runtime(settings)
    try:
        await rt.start()
    finally:
        await rt.stop()
    assert not (settings.data_dir / "tmp").exists() or not any(
        (settings.data_dir / "tmp").iterdir()
    )
