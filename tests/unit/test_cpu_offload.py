"""CPU-bound generation steps in worker processes (`worker/cpu.py`): they run outside
this process, below its priority, give the same images as in a thread, and a worker
that dies costs one retry, not the pool."""

from __future__ import annotations

import asyncio
import io
import os
import random
import signal
from collections.abc import Iterator
from dataclasses import replace

import pytest
from PIL import Image

from bananabatch.contracts import GenerationOptions
from bananabatch.providers.base import (
    GeneratedImage,
    GenerationRequest,
    ReferenceImage,
    TransientError,
)
from bananabatch.providers.classic import ClassicProvider
from bananabatch.quality.finish import generate_checked
from bananabatch.worker.cpu import NICENESS, ProcessOffload, in_thread, offload_for


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _request() -> GenerationRequest:
    buf = io.BytesIO()
    Image.effect_noise((96, 64), 40).convert("RGB").save(buf, "PNG")
    ref = ReferenceImage(data=buf.getvalue(), mime_type="image/png", name="a.png")
    return GenerationRequest(
        model="classic",
        prompt="flip, rotate and blur",
        seed=7,
        references=[ref],
        options=GenerationOptions(),
    )


@pytest.fixture
def pool() -> Iterator[ProcessOffload]:
    offload = ProcessOffload(2)
    yield offload
    offload.close()


async def test_work_runs_in_another_process_below_our_priority(pool: ProcessOffload) -> None:
    assert await pool(os.getpid) != os.getpid()
    assert await pool(os.nice, 0) == os.nice(0) + NICENESS


def _children(pid: int) -> set[int]:
    found = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as fh:
            found.update(int(p) for p in fh.read().split())
    return found


async def test_warming_starts_every_worker_before_any_work(pool: ProcessOffload) -> None:
    await pool.warm()
    # the pool's workers are children of the fork server, itself our child
    workers = set().union(*(_children(p) for p in _children(os.getpid())))
    pids = {await pool(os.getpid) for _ in range(8)}
    assert len(workers) >= pool.processes and pids <= workers


async def test_the_same_image_as_in_a_thread(pool: ProcessOffload) -> None:
    request = _request()
    here = await generate_checked(ClassicProvider(), request)
    there = await generate_checked(ClassicProvider(pool), request, pool)
    assert there.data == here.data and there.checks == here.checks
    assert there.transform == here.transform and there.text == here.text


class _WideProvider:
    """Answers a 128x64 image whatever the source: fitting to a 96x64 source changes it."""

    name = "wide"

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        buf = io.BytesIO()
        noise = random.Random(3).randbytes(128 * 64 * 3)  # the same image every call
        Image.frombytes("RGB", (128, 64), noise).save(buf, "PNG")
        return GeneratedImage(data=buf.getvalue(), mime_type="image/png", width=128, height=64)

    async def aclose(self) -> None:
        return None


async def test_bytes_come_back_from_a_worker_only_when_they_changed(
    pool: ProcessOffload,
) -> None:
    request = _request()
    fitted = replace(request, options=GenerationOptions(fit_to_source=True))
    for asked in (request, fitted):
        here = await generate_checked(_WideProvider(), asked)
        there = await generate_checked(_WideProvider(), asked, pool)
        assert there.data == here.data and there.checks == here.checks
        assert (there.width, there.height) == ((96, 64) if asked is fitted else (128, 64))
        assert Image.open(io.BytesIO(there.data)).size == (there.width, there.height)


async def test_a_dead_worker_is_a_transient_failure_and_the_pool_recovers(
    pool: ProcessOffload,
) -> None:
    with pytest.raises(TransientError, match="generated again"):
        await pool(_die)
    results = await asyncio.gather(*(pool(os.getpid) for _ in range(4)))
    assert os.getpid() not in results


def test_zero_processes_means_threads() -> None:
    assert offload_for(0) is in_thread
    assert isinstance(offload_for(2), ProcessOffload)
