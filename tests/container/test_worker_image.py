"""The RunPod worker image, really built from worker/Dockerfile and really run.

buildah (vfs storage, chroot isolation: no daemon, no registry) builds the image on a
local Debian bookworm base (`build_base.sh`, cached), then runs RunPod's own local test
path inside it: `python -u handler.py --test_input "$(cat test_input.json)"`. The
printed job result must be a TaskResult with two succeeded slots. The image size and
the timings go to test-artifacts/worker-image-size.txt.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import time
from collections.abc import Iterator

import pytest
from PIL import Image

from bananabatch.contracts import TaskResult
from tests.container.buildah import ROOT, base_image, buildah, require_tools, run_in
from tests.fakes.gemini_server import FakeGeminiServer

pytestmark = [pytest.mark.container, pytest.mark.timeout(1500)]

RESULT_PREFIX = "Job result: "
IMAGE = "localhost/bananabatch-worker:test"

if not sys.platform.startswith("linux") or os.geteuid() != 0:
    pytest.skip("buildah with vfs + chroot isolation needs Linux as root", allow_module_level=True)


@pytest.fixture(scope="module")
def timings() -> dict[str, float]:
    return {}


@pytest.fixture(scope="module")
def worker_image(timings: dict[str, float]) -> Iterator[str]:
    require_tools()
    started = time.monotonic()
    python_base = base_image("python")
    timings["base_seconds"] = time.monotonic() - started

    started = time.monotonic()
    buildah("rm", "--all", check=False)  # working containers a killed run left (vfs: full copies)
    buildah("rmi", "--force", IMAGE, check=False)
    buildah(
        "bud",
        "--isolation",
        "chroot",
        "--build-arg",
        f"BASE_IMAGE={python_base}",
        "--file",
        "worker/Dockerfile",
        "--tag",
        IMAGE,
        ".",  # the build context is the repository root
    )
    timings["build_seconds"] = time.monotonic() - started
    yield IMAGE
    buildah("rmi", "--force", IMAGE, check=False)
    buildah("rmi", "--prune", check=False)


@pytest.fixture(scope="module")
def worker_container(worker_image: str, timings: dict[str, float]) -> Iterator[str]:
    """One working container of the image (vfs copies the whole rootfs for each)."""
    started = time.monotonic()
    container = buildah("from", "--quiet", worker_image).strip()
    timings["container_seconds"] = time.monotonic() - started
    yield container
    buildah("rm", container, check=False)


def test_the_worker_image_runs_the_test_input(
    worker_container: str, timings: dict[str, float]
) -> None:
    test_input = (ROOT / "worker/test_input.json").read_text()
    started = time.monotonic()
    done = run_in(worker_container, "python", "-u", "handler.py", "--test_input", test_input)
    timings["run_seconds"] = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]

    # RunPod's local test mode logs the job result as a Python repr cut at 4096
    # characters (each output's quality signature makes it longer than that), so the
    # log shows the job completed and the whole result is read from the same handler.
    lines = [ln for ln in done.stdout.splitlines() if RESULT_PREFIX in ln]
    assert len(lines) == 1, done.stdout[-4000:]
    assert "'output': {'version': 1" in lines[0]
    direct = run_in(
        worker_container,
        "python",
        "-c",
        "import asyncio, json, handler; "
        "print(json.dumps(asyncio.run(handler.handler(json.load(open('test_input.json'))))))",
    )
    assert direct.returncode == 0, direct.stderr[-4000:]
    result = TaskResult.model_validate(json.loads(direct.stdout.strip().splitlines()[-1]))
    expected = json.loads(test_input)["input"]
    assert result.task_id == expected["task_id"]
    assert [s.status for s in result.slots] == ["succeeded", "succeeded"]
    assert [s.output_id for s in result.slots] == [s["output_id"] for s in expected["slots"]]
    assert result.worker.startswith("runpod:")
    for slot in result.slots:
        assert slot.image is not None and slot.image.data_b64 is not None
        with Image.open(io.BytesIO(base64.b64decode(slot.image.data_b64))) as img:
            assert img.format == "PNG" and img.size == (12, 12)


def test_the_image_talks_to_gemini_with_the_workers_own_key(
    worker_container: str, gemini_fake: FakeGeminiServer
) -> None:
    """The image's google-genai (on aiohttp there) reaches a Gemini server: the fake one on
    this host (chroot isolation shares the host's network)."""
    job = json.loads((ROOT / "worker/test_input.json").read_text())
    job["input"] |= {"provider": "gemini", "model": "gemini-2.5-flash-image"}
    done = run_in(
        worker_container,
        "env",
        "GEMINI_API_KEY=image-own-key",
        f"BANANABATCH_GEMINI_BASE_URL={gemini_fake.base_url}",
        "RUNPOD_LOG_LEVEL=INFO",
        "python",
        "-u",
        "handler.py",
        "--test_input",
        json.dumps(job),
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "2/2 slot(s) succeeded" in done.stdout + done.stderr
    assert len(gemini_fake.requests) == 2
    assert {r.api_key for r in gemini_fake.requests} == {"image-own-key"}


def test_the_image_holds_the_worker_and_not_the_server(worker_container: str) -> None:
    probe = (
        "import importlib.util as u, json, sys; "
        "print(json.dumps({'python': list(sys.version_info[:2]), "
        "'present': [m for m in ('bananabatch', 'runpod', 'google.genai', 'PIL', 'numpy') "
        "if u.find_spec(m)], "
        "'absent': [m for m in ('sqlalchemy', 'alembic', 'zipstream', 'pip') "
        "if not u.find_spec(m)]}))"
    )
    done = run_in(worker_container, "python", "-c", probe)
    assert done.returncode == 0, done.stderr[-4000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["python"] == [3, 11]
    assert found["present"] == ["bananabatch", "runpod", "google.genai", "PIL", "numpy"]
    assert found["absent"] == ["sqlalchemy", "alembic", "zipstream", "pip"]


def test_record_the_image_size(worker_image: str, timings: dict[str, float]) -> None:
    listed = json.loads(buildah("images", "--json", worker_image))
    size = listed[0]["size"]
    report = [
        f"image: {worker_image}",
        f"size: {size}",
        *(f"{name}: {seconds:.1f}" for name, seconds in timings.items()),
    ]
    out = ROOT / "test-artifacts" / "worker-image-size.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(report) + "\n")
    print("\n".join(report))
    value, unit = size.split()
    assert unit in ("MB", "GB") and float(value) * (1000 if unit == "GB" else 1) < 1000
