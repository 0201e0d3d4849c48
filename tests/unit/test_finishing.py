"""A paid image's last steps (`worker/finishing.py`): with worker processes and a local
store, a worker process finishes, stamps and stores it itself; the result is the same
as finishing it here, a dead worker process does not lose it, and a store that cannot
take it says so as a delivery error."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from PIL import Image

from bananabatch.contracts import ErrorKind, ImageRef, Mode, OutputSlot, TaskPayload, UploadTarget
from bananabatch.image_metadata import read_metadata
from bananabatch.providers.base import (
    GeneratedImage,
    GenerationRequest,
    ReferenceImage,
    TransientError,
)
from bananabatch.quality import measure
from bananabatch.storage.local import LocalStorage
from bananabatch.worker import finishing
from bananabatch.worker.cpu import ProcessOffload, Submitted
from bananabatch.worker.delivery import DeliveryError
from bananabatch.worker.finishing import SPILL_MIN_BYTES, Kept, finish_and_deliver
from bananabatch.worker.pipeline import WorkerOptions, run_task

T = TypeVar("T")
KEY = "outputs/job1/out1.png"


def _png(size: tuple[int, int], seed: int) -> bytes:
    """The same noisy picture for the same arguments."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1] // 8, size[0] // 8, 3))
    img = Image.fromarray(pixels.astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def pool() -> Iterator[ProcessOffload]:
    offload = ProcessOffload(1)
    yield offload
    offload.close()


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    store = LocalStorage(tmp_path / "store")
    store.put_bytes("assets/src.png", _png((96, 64), 1))
    return store


def _payload() -> TaskPayload:
    return TaskPayload(
        task_id="task1",
        job_id="job1",
        mode=Mode.automatic,
        provider="classic",
        model="classic",
        references=[ImageRef(mime_type="image/png", storage_key="assets/src.png", name="s")],
        slots=[
            OutputSlot(
                output_id="out1",
                prompt="a prompt",
                seed=3,
                variation=1,
                upload=UploadTarget(url=None, storage_key=KEY),
            )
        ],
        inline_output_limit_bytes=0,
    )


def _request(store: LocalStorage) -> GenerationRequest:
    source = ReferenceImage(store.get_bytes("assets/src.png"), "image/png", "s")
    return GenerationRequest(model="classic", prompt="a prompt", seed=3, references=[source])


SMALL, LARGE = (192, 128), (1024, 768)  # sent inside the call / spilled to a file


def _image(size: tuple[int, int] = SMALL) -> GeneratedImage:
    data = _png(size, 2)
    assert (len(data) >= SPILL_MIN_BYTES) == (size == LARGE)
    return GeneratedImage(data=data, mime_type="image/png", width=size[0], height=size[1])


def _spilled(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.exists() else []


async def _deliver(
    store: LocalStorage,
    offload: ProcessOffload | None,
    spill: Path | None,
    size: tuple[int, int] = SMALL,
) -> Kept:
    payload = _payload()
    return await finish_and_deliver(
        payload,
        payload.slots[0],
        _request(store),
        _image(size),
        offload=offload,
        store=store,
        spill_dir=spill,
        http=None,
    )


@pytest.mark.parametrize("size", [SMALL, LARGE])
async def test_a_worker_process_stores_the_same_finished_image(
    pool: ProcessOffload, store: LocalStorage, tmp_path: Path, size: tuple[int, int]
) -> None:
    spill = tmp_path / "tmp"
    there = await _deliver(store, pool, spill, size)
    stored_there = store.get_bytes(KEY)
    here = await _deliver(store, None, None, size)  # threads of this process, the plain way

    assert there.storage_key == here.storage_key == KEY and there.inline is None
    assert there.image.data == b""  # the bytes never came back to this process
    assert there.image.checks is not None and there.image.checks == here.image.checks
    assert there.image.checks.source_distance is not None  # the source was read by key
    assert stored_there == store.get_bytes(KEY)  # stamped the same way, byte for byte
    meta = read_metadata(stored_there, "image/png")
    assert meta["prompt"] == "a prompt" and meta["bananabatch:output"] == "out1"
    assert spill.exists() == (size == LARGE)  # only a large image went through a file
    assert _spilled(spill) == []  # and the spilled copy is gone


class _DeadPool(ProcessOffload):
    """A pool whose worker process dies on every call."""

    async def __call__(self, fn: Callable[..., T], /, *args: Any) -> T:
        raise TransientError("a generation process stopped unexpectedly")

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Submitted[T]:
        raise TransientError("a generation process stopped unexpectedly")


class _UnstartablePool(ProcessOffload):
    """A pool that cannot fork a worker process (out of memory, a process limit)."""

    async def __call__(self, fn: Callable[..., T], /, *args: Any) -> T:
        return self.submit(fn, *args)  # type: ignore[return-value]  # it raises

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Submitted[T]:
        raise BlockingIOError(11, "Resource temporarily unavailable")


@pytest.mark.parametrize("size", [SMALL, LARGE])
async def test_a_dead_worker_process_does_not_lose_the_paid_image(
    store: LocalStorage, tmp_path: Path, size: tuple[int, int]
) -> None:
    spill = tmp_path / "tmp"
    kept = await _deliver(store, _DeadPool(1), spill, size)

    assert kept.storage_key == KEY and kept.image.checks is not None
    assert read_metadata(store.get_bytes(KEY), "image/png")["seed"] == "3"
    assert _spilled(spill) == []


@pytest.mark.parametrize("size", [SMALL, LARGE])
async def test_a_store_that_cannot_take_the_image_is_a_delivery_error(
    pool: ProcessOffload, store: LocalStorage, tmp_path: Path, size: tuple[int, int]
) -> None:
    (store.root / "outputs").write_text("a file where the job's folder should be")
    spill = tmp_path / "tmp"
    with pytest.raises(DeliveryError) as caught:
        await _deliver(store, pool, spill, size)

    assert caught.value.kind is ErrorKind.transient
    assert "storing the image failed" in caught.value.message
    assert _spilled(spill) == []


@pytest.mark.parametrize("size", [(1024, 1024), (1536, 1024), (1000, 750)])
def test_a_reduced_copy_measures_as_the_full_image(size: tuple[int, int]) -> None:
    """Every measure starts from a copy reduced to about 256 pixels (it compares at 128
    or less): it reads the same as the full-size image did."""
    photo = Image.effect_noise((size[0] // 16, size[1] // 16), 70).convert("RGB")
    full = photo.resize(size, Image.Resampling.BICUBIC)
    other = full.transpose(Image.Transpose.ROTATE_180)
    small = measure.measuring_copy(full)

    assert max(small.size) >= measure.MEASURE_SIDE and max(small.size) < 2 * measure.MEASURE_SIDE
    assert measure.hash_distance(measure.phash(small), measure.phash(full)) <= 2
    assert measure.signature_difference(measure.signature(small), measure.signature(full)) < 0.005
    assert abs(measure.mean_difference(other, full) - measure.mean_difference(
        measure.measuring_copy(other), small)) < 0.005  # fmt: skip
    layout_full = measure.compare_layout(other, full)
    layout_small = measure.compare_layout(measure.measuring_copy(other), small)
    assert abs(layout_full.similarity - layout_small.similarity) < 0.05


class _CountingProvider:
    name = "classic"

    def __init__(self) -> None:
        self.calls = 0

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        self.calls += 1
        return _image()

    async def aclose(self) -> None:
        return None


async def test_a_worker_process_dying_while_finishing_is_neither_paid_twice_nor_unbilled(
    store: LocalStorage, tmp_path: Path
) -> None:
    """Before, a worker process that died while finishing made the slot call the model
    again, and the first, paid image was left out of the slot's billed calls."""
    provider = _CountingProvider()
    options = WorkerOptions(
        retry_base_seconds=0.01, store=store, offload=_DeadPool(1), spill_dir=tmp_path / "tmp"
    )
    result = await run_task(_payload(), lambda _name: provider, options)

    (slot,) = result.slots
    assert slot.status == "succeeded" and slot.storage_key == KEY
    assert provider.calls == 1
    assert [call.outcome for call in slot.calls] == ["image"]


class _WatchedPool(ProcessOffload):
    """A real pool that says when a call has been handed to it."""

    def __init__(self, processes: int) -> None:
        super().__init__(processes)
        self.called = asyncio.Event()

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Submitted[T]:
        self.called.set()
        return super().submit(fn, *args)


async def test_a_cancelled_slot_ends_only_after_its_worker_process_stored_the_image(
    store: LocalStorage, tmp_path: Path
) -> None:
    """A worker process cannot be stopped mid-write. Before, a slot cancelled (at
    shutdown) ended at once, and its worker process wrote the slot's key afterwards,
    behind the back of whatever ran next."""
    pool = _WatchedPool(1)
    try:
        await pool.warm()
        pool.called.clear()
        spill = tmp_path / "tmp"
        delivering = asyncio.create_task(_deliver(store, pool, spill, LARGE))
        await asyncio.wait_for(pool.called.wait(), 10)
        for _ in range(3):  # every task, again and again, as a shutdown may
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()  # the worker process is reading, finishing or writing it
            await asyncio.sleep(0)
        with pytest.raises(asyncio.CancelledError):
            await delivering

        assert store.exists(KEY)  # written before the slot ended, not after
        assert read_metadata(store.get_bytes(KEY), "image/png")["seed"] == "3"
        assert _spilled(spill) == []
    finally:
        pool.close()


@pytest.mark.parametrize("size", [SMALL, LARGE])
async def test_a_source_gone_from_the_store_still_finishes_the_paid_image(
    pool: ProcessOffload, store: LocalStorage, tmp_path: Path, size: tuple[int, int]
) -> None:
    """The worker process reads the source by key; when it is gone (a dataset item
    deleted meanwhile), the bytes this process holds finish the image instead. Before,
    the slot failed and the model was called again."""
    request = _request(store)  # the source as the provider had it
    store.delete("assets/src.png")
    payload = _payload()
    kept = await finish_and_deliver(
        payload, payload.slots[0], request, _image(size),
        offload=pool, store=store, spill_dir=tmp_path / "tmp", http=None,
    )  # fmt: skip

    assert kept.storage_key == KEY and store.exists(KEY)
    assert kept.image.checks is not None and kept.image.checks.source_distance is not None


async def test_a_spill_folder_that_cannot_be_written_still_stores_the_paid_image(
    pool: ProcessOffload, store: LocalStorage, tmp_path: Path
) -> None:
    spill = tmp_path / "tmp"
    spill.write_text("a file where the spill folder should be")
    kept = await _deliver(store, pool, spill, LARGE)

    assert kept.storage_key == KEY and kept.image.checks is not None
    assert read_metadata(store.get_bytes(KEY), "image/png")["seed"] == "3"


async def test_a_pool_that_cannot_start_a_worker_process_neither_pays_twice_nor_loses_it(
    store: LocalStorage, tmp_path: Path
) -> None:
    """Before, a fork refused (EAGAIN) failed the slot and the model was called again."""
    provider = _CountingProvider()
    options = WorkerOptions(
        retry_base_seconds=0.01,
        store=store,
        offload=_UnstartablePool(1),
        spill_dir=tmp_path / "tmp",
    )
    result = await run_task(_payload(), lambda _name: provider, options)

    (slot,) = result.slots
    assert slot.status == "succeeded" and slot.storage_key == KEY
    assert provider.calls == 1 and store.exists(KEY)


async def test_a_slot_cancelled_while_spilling_leaves_no_spill(
    pool: ProcessOffload, store: LocalStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spill is written in a thread that goes on after a cancel; before, the file it
    wrote stayed in the temp folder until the next start."""
    writing, release = threading.Event(), threading.Event()
    write = finishing._write

    def slow_write(fd: int, data: bytes) -> None:
        writing.set()
        release.wait(10)
        write(fd, data)

    monkeypatch.setattr(finishing, "_write", slow_write)
    spill = tmp_path / "tmp"
    delivering = asyncio.create_task(_deliver(store, pool, spill, LARGE))
    assert await asyncio.to_thread(writing.wait, 10)
    delivering.cancel()
    with pytest.raises(asyncio.CancelledError):
        await delivering
    release.set()
    await asyncio.sleep(0.2)  # the thread finishes its write

    assert _spilled(spill) == [] and not store.exists(KEY)
