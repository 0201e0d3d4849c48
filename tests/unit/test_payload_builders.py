"""How a task's images travel: inline while the exact body fits, else by URL."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bananabatch.contracts import Mode, OutputSlot, TaskPayload
from bananabatch.domain.payload_budget import RUN_BODY_LIMIT_BYTES
from bananabatch.errors import TransportUnavailable
from bananabatch.executors.runpod import RunPodExecutor
from bananabatch.executors.signing import TransportSigner
from bananabatch.executors.transport import (
    LocalPayloadBuilder,
    RemotePayloadBuilder,
    StoredImage,
    downscale,
)
from bananabatch.storage.local import LocalStorage


def _noisy_png(side: int, seed: int) -> bytes:
    """Incompressible pixels: a PNG of about 3 * side**2 bytes."""
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _store(storage: LocalStorage, n: int, side: int) -> list[StoredImage]:
    images = []
    for i in range(n):
        data = _noisy_png(side, i)
        key = f"assets/{i:02d}/asset{i}.png"
        storage.put_bytes(key, data)
        images.append(
            StoredImage(asset_id=f"asset{i}", key=key, mime_type="image/png", name=f"r{i}.png")
        )
    return images


def _draft(slots: int = 4, fmt: str = "png") -> TaskPayload:
    return TaskPayload.model_validate(
        {
            "task_id": "t1",
            "job_id": "j1",
            "mode": Mode.semi_auto,
            "provider": "gemini",
            "model": "m",
            "options": {"output_format": fmt},
            "slots": [
                OutputSlot(output_id=f"o{i}", prompt="p", seed=i, variation=1).model_dump()
                for i in range(slots)
            ],
        }
    )


def _executor() -> RunPodExecutor:
    return RunPodExecutor(api_url="http://x/v2", endpoint_id="e", api_key="k", max_in_flight=1)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store")


def test_local_builder_passes_keys_not_bytes(storage: LocalStorage) -> None:
    [img] = _store(storage, 1, 32)
    payload = LocalPayloadBuilder().build(_draft(), [img])
    assert payload.references[0].storage_key == img.key
    assert payload.references[0].data_b64 is None
    assert payload.inline_output_limit_bytes == 0  # every image goes straight to the store
    assert [(s.upload.url, s.upload.storage_key) for s in payload.slots if s.upload] == [
        (None, f"outputs/j1/o{i}.png") for i in range(4)
    ]


def test_downscale_only_when_it_makes_the_image_smaller() -> None:
    small = _noisy_png(300, 1)
    assert downscale(small, "image/png", 2048) is None
    big = _noisy_png(1200, 2)
    out = downscale(big, "image/png", 600)
    assert out is not None
    data, mime = out
    assert mime == "image/png" and len(data) < len(big)
    with Image.open(io.BytesIO(data)) as im:
        assert max(im.size) == 600


def test_fourteen_large_references_go_by_signed_url_and_the_body_stays_under_10_mb(
    storage: LocalStorage,
) -> None:
    images = _store(storage, 14, 1100)  # ~3.6 MB each, ~51 MB in all
    signer = TransportSigner("k", "https://bb.example.com", 3600)
    builder = RemotePayloadBuilder(storage, signer, url_ttl_seconds=3600)
    payload = builder.build(_draft(), images)
    inline = [r for r in payload.references if r.data_b64]
    by_url = [r for r in payload.references if r.url]
    assert len(payload.references) == 14
    assert inline and by_url  # as many inline as fit, the rest by URL
    assert all(
        r.url and r.url.startswith("https://bb.example.com/api/v1/transport/get/") for r in by_url
    )
    body = _executor().body(payload)
    assert len(body) <= RUN_BODY_LIMIT_BYTES
    # every URL resolves to a stored object the worker may fetch
    for ref in by_url:
        key = signer.verify((ref.url or "").rsplit("/", 1)[-1], "get")
        assert storage.exists(key)
    # outputs: signed upload URLs at the keys fixed by the slots
    assert [s.upload.storage_key for s in payload.slots if s.upload] == [
        f"outputs/j1/o{i}.png" for i in range(4)
    ]
    assert payload.inline_output_limit_bytes and payload.inline_output_limit_bytes > 1_000_000


def test_references_are_downscaled_to_what_the_model_uses(storage: LocalStorage) -> None:
    smooth = Image.open(io.BytesIO(_noisy_png(40, 9))).resize((2600, 2600))
    buf = io.BytesIO()
    smooth.save(buf, "PNG")
    storage.put_bytes("assets/aa/big.png", buf.getvalue())
    img = StoredImage(asset_id="big", key="assets/aa/big.png", mime_type="image/png", name="b.png")
    signer = TransportSigner("k", None, 3600)
    payload = RemotePayloadBuilder(storage, signer, url_ttl_seconds=3600).build(_draft(), [img])
    data = base64.b64decode(payload.references[0].data_b64 or "")
    with Image.open(io.BytesIO(data)) as im:
        assert max(im.size) == 2048
    assert len(data) < len(storage.get_bytes(img.key))


def test_without_any_url_route_an_oversized_task_is_refused(storage: LocalStorage) -> None:
    images = _store(storage, 14, 1100)
    builder = RemotePayloadBuilder(storage, TransportSigner("k", None, 3600), url_ttl_seconds=60)
    with pytest.raises(TransportUnavailable, match="10 MB"):
        builder.build(_draft(), images)


def test_body_budget_is_measured_on_the_exact_request(storage: LocalStorage) -> None:
    images = _store(storage, 6, 1000)
    signer = TransportSigner("k", "https://bb.example.com", 3600)
    budget = 5_000_000
    payload = RemotePayloadBuilder(storage, signer, url_ttl_seconds=3600, body_budget=budget).build(
        _draft(), images
    )
    assert len(json.dumps({"input": payload.model_dump(mode="json")})) <= budget
