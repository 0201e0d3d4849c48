"""The one-command install, for real: `make dist` builds a wheel that carries the web UI;
installed into a fresh virtualenv in a temporary folder (no source checkout on its path),
its `bananabatch serve` answers `/` with the UI and `/api/v1/health` with JSON.

The install uses `uv pip` (pip's interface, uv's cache: the same wheels `make install`
already fetched) pinned to uv.lock, so the test takes seconds, not a fresh download.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.procs import die_with_parent

pytestmark = [pytest.mark.dist, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".tools" / "bin" / "uv"
STARTUP_TIMEOUT_S = 60.0


def _run(*command: str | Path, cwd: Path = ROOT, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run("make", "--no-print-directory", "-s", "dist", f"DIST={out}")
    wheels = sorted(out.glob("bananabatch-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with only the wheel (and its dependencies)."""
    home = tmp_path_factory.mktemp("install")
    venv = home / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    pins = home / "pins.txt"
    _run(
        UV,
        "export",
        "--frozen",
        "--no-hashes",
        "--no-dev",
        "--no-emit-project",
        "--quiet",
        "-o",
        pins,
    )
    _run(UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "-c", pins, wheel)
    return venv


@pytest.fixture(scope="module")
def server(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("serve")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BANANABATCH_", "GEMINI_", "GOOGLE_", "RUNPOD_", "VIRTUAL_ENV"))
    }
    env["BANANABATCH_DATA_DIR"] = str(home / "data")
    log_path = home / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(installed / "bin" / "bananabatch"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=home,  # no .env, no web/out beside it: only what the wheel holds
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"serve exited {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"serve not up in {STARTUP_TIMEOUT_S}s:\n{log_path.read_text()}")
                time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_wheel_carries_the_built_ui(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "bananabatch/webui/index.html" in names
        assert zf.read("bananabatch/webui/index.html") == (ROOT / "web/out/index.html").read_bytes()
    assert any(n.startswith("bananabatch/webui/_next/static/") for n in names)


def test_the_installed_package_is_not_the_checkout(installed: Path) -> None:
    where = _run(
        installed / "bin" / "python",
        "-c",
        "import bananabatch.api.static as s; print(s.packaged_web_dir())",
        cwd=installed,
    ).strip()
    assert Path(where).is_relative_to(installed), where
    assert (Path(where) / "index.html").is_file()


def test_serve_from_the_wheel_answers_the_ui_and_the_api(server: str) -> None:
    with urllib.request.urlopen(f"{server}/", timeout=10) as r:
        assert r.status == 200
        assert r.headers["content-type"].startswith("text/html")
        page = r.read()
    assert page == (ROOT / "web/out/index.html").read_bytes()

    # a script the page loads comes from the packaged `_next/static`
    marker = b'src="/_next/static/'
    start = page.index(marker) + len(b'src="')
    asset = page[start : page.index(b'"', start)].decode()
    with urllib.request.urlopen(f"{server}{asset}", timeout=10) as r:
        assert r.status == 200 and len(r.read()) > 0

    # another page of the export (the job page) is there too
    with urllib.request.urlopen(f"{server}/jobs/view/", timeout=10) as r:
        assert r.status == 200
        assert r.read() == (ROOT / "web/out/jobs/view/index.html").read_bytes()

    with urllib.request.urlopen(f"{server}/api/v1/health", timeout=10) as r:
        health = json.loads(r.read())
    assert health["ok"] is True
