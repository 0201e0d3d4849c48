"""Orchestration efficiency: how close a whole job comes to the ideal time.

efficiency = ideal / measured, ideal = outputs x provider latency / concurrency,
where concurrency is provider calls at once (tasks in flight x images per task).
The provider is a fake that sleeps `latency` and returns a fixed image (tiny, or a
realistic 1024x1024 PNG of about 1.7 MB), so everything else is the engine: claim,
dispatch, worker, delivery, settle, storage, thumbnails. CPU per output is this
process's CPU time (user + system) over the run divided by the outputs (the
orchestrator with the in-process worker pipeline), and beside it the CPU of the
worker processes that run the finishing measurements (`worker/cpu.py`).

The clock starts once the runtime's worker processes are up (`ProcessOffload.warm`,
which the server does when it starts): their start-up (the fork server importing the
imaging libraries, seconds) is a cost of starting the server, not of running a job;
it is printed beside each case.

"tiny C=64 RunPod" runs the same job through the RunPod executor against the fake
RunPod cloud (`tests/fakes/runpod_server.py`: real HTTP, the real worker handler,
here with the sleeping provider), 16 tasks at once of 4 images: the fake's workers
and their finishing measurements run in this process, so its CPU column includes them.

Run: .venv/bin/python -m bench.bench_orchestration [--outputs 4000] [--quick]
     [--only "tiny C=256"]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import os
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image
from pydantic import SecretStr
from tests.fakes.runpod_server import FakeRunPodServer
from tests.imagegen import image_bytes

from bananabatch.config import Settings
from bananabatch.ingest.dataset_items import create_dataset
from bananabatch.ingest.service import ingest_files
from bananabatch.providers.base import GeneratedImage, GenerationRequest
from bananabatch.runtime import build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import AutomaticJobCreate
from bananabatch.worker.cpu import ProcessOffload

log = logging.getLogger("bench.orchestration")


def tiny_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buf, "PNG")
    return buf.getvalue()


def realistic_png() -> bytes:
    """1024x1024, smooth content plus noise: about 1.7 MB as PNG, like a real output."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:1024, 0:1024]
    base = np.stack([(x * 255) // 1024, (y * 255) // 1024, ((x + y) * 127) // 1024], axis=-1)
    noise = rng.integers(-10, 10, base.shape)
    img = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _descendants_cpu() -> float:
    """CPU seconds (user + system) of this process's live descendants: the worker
    processes that run the CPU-bound steps (`worker/cpu.py`) and their fork server."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    family, todo = set(), [os.getpid()]
    while todo:
        parent = todo.pop()
        kids = [p for p, pp in parents.items() if pp == parent and p not in family]
        family.update(kids)
        todo.extend(kids)
    return sum(ticks[p] for p in family) / os.sysconf("SC_CLK_TCK")


class SleepyProvider:
    name = "classic"

    def __init__(self, data: bytes, latency: float) -> None:
        self._data = data
        self._latency = latency
        with Image.open(io.BytesIO(data)) as im:
            self._size = im.size

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        await asyncio.sleep(self._latency)
        w, h = self._size
        return GeneratedImage(data=self._data, mime_type="image/png", width=w, height=h)

    async def aclose(self) -> None:
        return None


@dataclass
class Result:
    name: str
    outputs: int
    concurrency: int
    measured: float
    ideal: float
    cpu_ms_per_output: float
    worker_cpu_ms_per_output: float
    warmup: float = 0.0

    @property
    def efficiency(self) -> float:
        return self.ideal / self.measured


async def run_case(
    name: str,
    *,
    outputs: int,
    concurrency: int,
    latency: float,
    image: bytes,
    root: Path,
    runpod: FakeRunPodServer | None = None,
) -> Result:
    per_task = 4
    settings = Settings(
        data_dir=root / name,
        concurrency=max(1, concurrency // per_task),
        worker_concurrency=per_task,
        outputs_per_task=per_task,
        poll_interval_seconds=0.25,
    )
    if runpod is not None:
        settings = settings.model_copy(
            update={
                "executor": "runpod",
                "runpod_api_key": SecretStr(runpod.api_key),
                "runpod_endpoint_id": runpod.endpoint_id,
                "runpod_api_url": runpod.api_url,
                "runpod_first_poll_seconds": 0.05,
            }
        )
        worker = runpod.cloud._handler_module  # the fake's copy of worker/handler.py
        assert worker is not None
        worker.PROVIDERS.register("classic", SleepyProvider(image, latency))
    rt = build_runtime(settings)
    rt.providers.register("classic", SleepyProvider(image, latency))
    warm_start = time.perf_counter()
    if isinstance(rt.providers.offload, ProcessOffload):
        await rt.providers.offload.warm()
    warmup = time.perf_counter() - warm_start
    sources = outputs // per_task
    with rt.session_factory() as s:
        ds = create_dataset(s, "bench")
        s.commit()
        handles: list[tuple[str, BinaryIO]] = [
            (f"c{i % 4}/{i:05d}.jpg", io.BytesIO(image_bytes(i, (32, 24)))) for i in range(sources)
        ]
        ingest_files(s, rt.storage, rt.settings, ds.id, handles)
        job = job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            AutomaticJobCreate(dataset_id=ds.id, prompt="{rain|snow} {class}", variations=per_task),
            preflight=rt.preflight,
        ).job
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    workers0 = _descendants_cpu()
    start = time.perf_counter()
    await rt.start()
    await rt.orchestrator.wait_for_jobs([job.id], interval=0.02)
    measured = time.perf_counter() - start
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    workers = _descendants_cpu() - workers0
    await rt.stop()
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    return Result(
        name=name,
        outputs=job.total_outputs,
        concurrency=concurrency,
        measured=measured,
        ideal=job.total_outputs * latency / concurrency,
        cpu_ms_per_output=cpu * 1000 / job.total_outputs,
        worker_cpu_ms_per_output=workers * 1000 / job.total_outputs,
        warmup=warmup,
    )


TARGETS = {"tiny C=64": 0.9, "tiny C=256": 0.8, "1.7 MB C=16": 0.8, "tiny C=64 RunPod": 0.9}


async def main_async(
    outputs: int, big_outputs: int, latency: float, only: str | None = None
) -> list[Result]:
    tiny, big = tiny_png(), realistic_png()
    print(f"realistic output: {len(big) / 1e6:.2f} MB PNG", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases: list[tuple[str, int, int, bytes]] = [
            ("tiny C=64", outputs, 64, tiny),
            ("tiny C=256", outputs, 256, tiny),
            ("1.7 MB C=16", big_outputs, 16, big),
            ("tiny C=64 RunPod", outputs, 64, tiny),
        ]
        for name, n, conc, img in cases:
            if only is not None and name != only:
                continue
            with contextlib.ExitStack() as stack:
                fake = None
                if name.endswith("RunPod"):  # one job (4 images) per fake worker
                    fake = stack.enter_context(
                        FakeRunPodServer(workers=conc // 4, jobs_per_worker=1)
                    )
                r = await run_case(
                    name.replace(" ", "_").replace("=", ""),
                    outputs=n,
                    concurrency=conc,
                    latency=latency,
                    image=img,
                    root=root,
                    runpod=fake,
                )
            r.name = name
            results.append(r)
            print(
                f"{name:16s} outputs {r.outputs:5d}  measured {r.measured:6.2f} s  "
                f"ideal {r.ideal:6.2f} s  efficiency {r.efficiency:.2f} "
                f"(target >= {TARGETS[name]:.1f})  CPU {r.cpu_ms_per_output:.1f} ms/output "
                f"in this process, + {r.worker_cpu_ms_per_output:.1f} in worker processes "
                f"(their start-up before the clock: {r.warmup:.1f} s)",
                flush=True,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outputs", type=int, default=4000)
    parser.add_argument("--big-outputs", type=int, default=1600)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--quick", action="store_true", help="1,000 / 400 outputs")
    parser.add_argument("--only", choices=sorted(TARGETS), help="run one case")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.quick:
        args.outputs, args.big_outputs = 1000, 400
    asyncio.run(main_async(args.outputs, args.big_outputs, args.latency, args.only))


if __name__ == "__main__":
    main()
