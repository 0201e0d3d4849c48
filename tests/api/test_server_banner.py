"""`bananabatch serve` as a process says where it listens, on which data, with what and
who may use it; polling it writes no line per request unless the log level is debug."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.test_server import _cli_env, _free_port
from tests.procs import die_with_parent


def _serve(tmp_path: Path, *args: str, **env: str) -> str:
    """Start serve, poll it like the web UI does, stop it with Ctrl-C; its output."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bananabatch.cli", "serve", "--port", str(port), *args],
        env=_cli_env(tmp_path, BANANABATCH_WEB_DIR=str(tmp_path / "no-web"), **env),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=die_with_parent,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.2)
        token = env.get("BANANABATCH_API_TOKENS", "").split(",")[0]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for _ in range(5):
            r = httpx.get(f"http://127.0.0.1:{port}/api/v1/jobs", headers=headers, timeout=5)
            assert r.status_code == 200
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return output.replace(str(port), "PORT")


def test_serve_prints_a_banner_and_no_access_log_by_default(tmp_path: Path) -> None:
    output = _serve(tmp_path)
    lines = [" ".join(line.split()) for line in output.splitlines()]
    assert any(line.endswith("ready: http://127.0.0.1:PORT") for line in lines), output
    assert f"data dir {(tmp_path / 'data').resolve()}" in lines, output
    assert "provider classic (default model classic)" in lines, output
    assert "executor local" in lines, output
    assert any(line.startswith("auth off (this machine only") for line in lines), output
    assert "GET /api/v1/jobs" not in output and "GET /api/v1/health" not in output


@pytest.mark.parametrize(
    ("args", "env"), [(["--log-level", "debug"], {}), ([], {"BANANABATCH_LOG_LEVEL": "debug"})]
)
def test_debug_log_level_adds_the_access_log(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    output = _serve(tmp_path, *args, **env)
    assert output.count('"GET /api/v1/jobs HTTP/1.1" 200') == 5, output
    assert "log level debug" in " ".join(output.split())


def test_password_shows_auth_on(tmp_path: Path) -> None:
    output = _serve(tmp_path, BANANABATCH_PASSWORD="pw", BANANABATCH_API_TOKENS="a,b")
    assert "auth on (password, 2 API token(s))" in " ".join(output.split()), output
