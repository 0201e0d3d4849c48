"""`bananabatch --server URL ...` drives a real `bananabatch serve` over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bananabatch.cli import EXIT_BAD_INPUT, EXIT_OK, app
from tests.imagegen import image_bytes, make_dataset
from tests.procs import die_with_parent, isolated_env

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = isolated_env(
        BANANABATCH_DATA_DIR=str(tmp_path / "server-data"),
        BANANABATCH_API_TOKENS="s3cret",
        BANANABATCH_PASSWORD="pw",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bananabatch.cli", "serve", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("server did not start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_cli_runs_jobs_on_a_server(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BANANABATCH_TOKEN", "s3cret")
    monkeypatch.setenv("BANANABATCH_DATA_DIR", str(tmp_path / "local-data-unused"))
    make_dataset(tmp_path / "ds", {"cat": 3, "dog": 2})
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "--server",
            server,
            "run",
            "automatic",
            str(tmp_path / "ds"),
            "--prompt",
            "{rain|snow}",
            "--variations",
            "2",
            "--out",
            str(tmp_path / "out.zip"),
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    with zipfile.ZipFile(tmp_path / "out.zip") as z:
        assert z.testzip() is None
        assert sorted(n for n in z.namelist() if n.endswith(".png"))[:2] == [
            "cat/000__v1.png",
            "cat/000__v2.png",
        ]
        assert len([n for n in z.namelist() if n.endswith(".png")]) == 10
    assert not (tmp_path / "local-data-unused").exists()  # nothing ran locally

    (tmp_path / "r.png").write_bytes(image_bytes(5, fmt="PNG"))
    semi = runner.invoke(
        app,
        [
            "--server",
            server,
            "run",
            "semi-auto",
            "--ref",
            str(tmp_path / "r.png"),
            "--prompt",
            "a kite",
            "--count",
            "5",
        ],
    )
    assert semi.exit_code == EXIT_OK, semi.output

    listed = runner.invoke(app, ["--server", server, "jobs", "list"])
    assert listed.exit_code == 0
    assert (
        listed.output.count("completed") == 2
        and "10/10" in listed.output
        and "5/5" in listed.output
    )

    missing = runner.invoke(app, ["--server", server, "jobs", "show", "0" * 32])
    assert missing.exit_code == EXIT_BAD_INPUT and "does not exist" in missing.output


def test_cli_without_token_gets_a_clear_auth_error(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BANANABATCH_TOKEN", raising=False)
    monkeypatch.delenv("BANANABATCH_API_TOKENS", raising=False)
    result = CliRunner().invoke(app, ["--server", server, "jobs", "list"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "error:" in result.output
