"""Engine benchmark: how much the orchestrator costs on top of the provider.

One run, three measurements, printed as ratios:
1. ingest throughput for 1,000 small JPEGs (images/s);
2. planning + inserting a 4,000-output automatic job (outputs/s);
3. a whole job through orchestrator + local executor + worker with an instant
   in-memory provider, against the same provider called directly with the
   same concurrency: overhead ratio = engine time / direct time.
Also: the same job with the real classic provider (outputs/s) and peak RSS.

Run: .venv/bin/python -m bench.bench_engine [--images 1000] [--variations 4]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import resource
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from PIL import Image
from tests.imagegen import make_dataset

from bananabatch.config import Settings
from bananabatch.contracts import GenerationOptions
from bananabatch.ingest.dataset_items import create_dataset
from bananabatch.ingest.service import ingest_files
from bananabatch.providers.base import GeneratedImage, GenerationRequest
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import AutomaticJobCreate

log = logging.getLogger("bench.engine")


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buf, "PNG")
    return buf.getvalue()


class InstantProvider:
    """Answers at once with a fixed image: isolates the engine's own cost."""

    name = "classic"

    def __init__(self) -> None:
        self._png = _png()

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        await asyncio.sleep(0)
        return GeneratedImage(data=self._png, mime_type="image/png", width=64, height=48)

    async def aclose(self) -> None:
        return None


def _ingest(rt: Runtime, root: Path) -> tuple[str, float]:
    files = sorted(p for p in root.rglob("*.jpg"))
    start = time.perf_counter()
    with rt.session_factory() as s:
        ds = create_dataset(s, "bench")
        s.commit()
        for i in range(0, len(files), 100):
            handles: list[tuple[str, BinaryIO]] = [
                (p.relative_to(root).as_posix(), p.open("rb")) for p in files[i : i + 100]
            ]
            try:
                ingest_files(s, rt.storage, rt.settings, ds.id, handles)
            finally:
                for _, fh in handles:
                    fh.close()
    return ds.id, time.perf_counter() - start


async def _run_job(rt: Runtime, dataset_id: str, variations: int) -> tuple[int, float, float]:
    start = time.perf_counter()
    with rt.session_factory() as s:
        job = job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            AutomaticJobCreate(
                dataset_id=dataset_id, prompt="{rain|snow} {class}", variations=variations
            ),
            preflight=rt.preflight,
        ).job
    created = time.perf_counter() - start
    start = time.perf_counter()
    await rt.start()
    await rt.orchestrator.wait_for_jobs([job.id], interval=0.05)
    await rt.orchestrator.stop()
    return job.total_outputs, created, time.perf_counter() - start


async def _direct(outputs: int, concurrency: int) -> float:
    provider = InstantProvider()
    gate = asyncio.Semaphore(concurrency)
    request = GenerationRequest(model="classic", prompt="x", seed=1, options=GenerationOptions())

    async def one() -> None:
        async with gate:
            await provider.generate(request)

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(outputs)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--variations", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        half = args.images // 2
        make_dataset(root / "ds", {"cat": half, "dog": args.images - half})
        settings = Settings(data_dir=root / "data", concurrency=16, worker_concurrency=4)
        rt = build_runtime(settings)
        rt.providers.register("classic", InstantProvider())
        dataset_id, ingest_s = _ingest(rt, root / "ds")
        outputs, create_s, engine_s = asyncio.run(_run_job(rt, dataset_id, args.variations))
        direct_s = asyncio.run(_direct(outputs, settings.concurrency * settings.worker_concurrency))
        asyncio.run(rt.stop())

        classic_rt = build_runtime(Settings(data_dir=root / "data2", concurrency=4))
        classic_ds, _ = _ingest(classic_rt, root / "ds")
        classic_outputs, _, classic_s = asyncio.run(_run_job(classic_rt, classic_ds, 1))
        asyncio.run(classic_rt.stop())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"ingest: {args.images} images in {ingest_s:.2f}s = {args.images / ingest_s:.0f} images/s"
    )
    print(f"plan+insert: {outputs} outputs in {create_s:.2f}s = {outputs / create_s:.0f} outputs/s")
    print(
        f"engine (instant provider): {outputs} outputs in {engine_s:.2f}s = {outputs / engine_s:.0f} outputs/s; "
        f"direct provider calls: {direct_s:.3f}s"
    )
    print(f"engine overhead per output: {1000 * (engine_s - direct_s) / outputs:.2f} ms")
    print(
        f"ratio engine/direct wall time (same outputs, same concurrency): {engine_s / direct_s:.1f}x"
    )
    print(
        f"classic provider end to end: {classic_outputs} outputs in {classic_s:.2f}s = {classic_outputs / classic_s:.0f} outputs/s"
    )
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
