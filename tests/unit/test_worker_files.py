"""The files of worker/ that only the image build reads. requirements.txt must stay the
set uv.lock resolves (`make worker-requirements` regenerates it), or the image would run
other library versions than every test here; the RunPod Hub files must match the worker."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_every_pin_is_the_locked_version() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {(_canonical(p["name"]), p["version"]) for p in lock["package"]}
    pins = [line.split("==") for line in _lines(ROOT / "worker/requirements.txt")]
    assert pins and all(len(pin) == 2 for pin in pins), "only exact name==version pins"
    stale = sorted(f"{n}=={v}" for n, v in pins if (_canonical(n), v) not in locked)
    assert not stale, f"not in uv.lock (run `make worker-requirements`): {stale}"


def test_every_direct_requirement_is_pinned() -> None:
    pinned = {_canonical(line.split("==")[0]) for line in _lines(ROOT / "worker/requirements.txt")}
    wanted = {_canonical(line) for line in _lines(ROOT / "worker/requirements.in")}
    assert wanted <= pinned, f"unpinned: {sorted(wanted - pinned)}"
    assert {"pydantic", "runpod", "google-genai", "pillow", "numpy", "httpx"} <= wanted
    assert not {"sqlalchemy", "alembic", "zipstream-ng"} & pinned  # the server's, not the worker's


def test_runpod_hub_files_match_the_worker() -> None:
    """RunPod Hub builds the image and runs tests.json: it must be the offline test input."""
    hub = json.loads((ROOT / "worker/.runpod/hub.json").read_text())
    assert {"title", "description", "type", "category", "config"} <= hub.keys()
    assert (hub["type"], hub["category"], hub["config"]["runsOn"]) == ("serverless", "image", "CPU")
    keys = {env["key"] for env in hub["config"]["env"]}
    assert {"GEMINI_API_KEY", "BANANABATCH_JOBS_PER_WORKER"} <= keys
    tests = json.loads((ROOT / "worker/.runpod/tests.json").read_text())
    test_input = json.loads((ROOT / "worker/test_input.json").read_text())
    assert [t["input"] for t in tests["tests"]] == [test_input["input"]]
    assert test_input["input"]["provider"] == "classic"  # runs without a key or network
