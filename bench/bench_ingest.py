"""Ingest: 1,000 JPEGs of 1-2 MP uploaded over HTTP the way the web UI does (batches
of files to `POST /datasets/{id}/files`, two requests in flight) to a real
`bananabatch serve` on 127.0.0.1, beside a one-thread Pillow loop doing decode + EXIF
transpose + thumbnail + sha256 on the same files, measured in one run.

Figures: images per second both ways, their ratio (target ≥ 1.5x the loop on these 2
cores) and the server's peak resident memory (target: flat, not growing with the
number of images).

Run: .venv/bin/python -m bench.bench_ingest [--images 1000]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import random
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image, ImageOps

from bench.server import serving

BATCH = 20  # files per request, like the UI's upload queue
IN_FLIGHT = 2


def _photos(root: Path, count: int) -> list[Path]:
    """1-2 MP JPEGs with some texture (a flat colour would decode unrealistically fast)."""
    rng = random.Random(7)
    base = Image.effect_noise((1600, 1000), 60).convert("RGB")
    paths = []
    for i in range(count):
        w, h = rng.choice([(1280, 960), (1600, 1000), (1400, 1050)])
        im = base.resize((w, h)).rotate(i % 360)
        path = root / f"class{i % 5}" / f"{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(path, "JPEG", quality=88)
        paths.append(path)
    return paths


def _pillow_loop(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        data = path.read_bytes()
        hashlib.sha256(data).hexdigest()
        with Image.open(io.BytesIO(data)) as im:
            fixed = ImageOps.exif_transpose(im)
            fixed.thumbnail((384, 384))
    return time.perf_counter() - started


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _upload(url: str, root: Path, paths: list[Path], pid: int) -> tuple[float, float, float]:
    with httpx.Client(base_url=f"{url}/api/v1", timeout=300) as c:
        ds = c.post("/datasets", json={"name": "ingest"}).json()["id"]
        before = _rss_mb(pid)
        peak = before
        batches = [paths[i : i + BATCH] for i in range(0, len(paths), BATCH)]

        def send(batch: list[Path]) -> None:
            files = [
                ("files", (p.relative_to(root).as_posix(), p.read_bytes(), "image/jpeg"))
                for p in batch
            ]
            c.post(f"/datasets/{ds}/files", files=files).raise_for_status()

        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(IN_FLIGHT) as pool:
            for _ in pool.map(send, batches):
                peak = max(peak, _rss_mb(pid))
        elapsed = time.perf_counter() - started
        items = c.get(f"/datasets/{ds}").json()["item_count"]
        assert items == len(paths), f"{items} of {len(paths)} stored"
    return elapsed, before, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = _photos(root / "photos", args.images)
        loop = _pillow_loop(paths)
        with serving(root) as (proc, url):
            upload, rss0, peak = _upload(url, root / "photos", paths, proc.pid)
    n = args.images
    print(f"{n:,} JPEGs of 1.2-1.6 MP")
    print(f"one-thread Pillow loop (decode, transpose, thumbnail, sha256): {n / loop:6.1f} img/s")
    print(
        f"HTTP upload like the web UI ({BATCH}/request, {IN_FLIGHT} in flight):   {n / upload:6.1f} img/s"
    )
    print(f"ratio upload / loop: {loop / upload:.2f}x (target >= 1.5x)")
    print(f"server RSS: {rss0:.0f} MB before, {peak:.0f} MB at peak (target: flat)")


if __name__ == "__main__":
    main()
