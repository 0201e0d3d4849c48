"""The real server: `serve` safety checks, uvicorn with the lifespan running the
orchestrator, the typed ApiClient over real HTTP, and `bananabatch serve` as a process."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from bananabatch import client as client_module
from bananabatch.api.app import create_app
from bananabatch.client import ApiClient, ApiError
from bananabatch.config import Settings
from bananabatch.errors import ServiceUnavailable
from bananabatch.runtime import build_runtime
from bananabatch.server import UnsafeBind, check_bind, is_loopback_host, serve
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)
from tests.imagegen import make_dataset

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """uvicorn in a thread with the real lifespan (orchestrator started and stopped)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the server thread died during startup"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


# ---- bind safety --------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.5"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_public_hosts(host: str) -> None:
    assert not is_loopback_host(host)


def test_serve_refuses_a_public_host_without_a_password(settings: Settings) -> None:
    with pytest.raises(UnsafeBind) as err:
        serve(settings, "0.0.0.0", 0, insecure_no_auth=False)
    assert "BANANABATCH_PASSWORD" in err.value.message
    assert "--insecure-no-auth" in err.value.message
    assert not (settings.data_dir / "bananabatch.db").exists(), "nothing may start"


def test_public_host_is_allowed_with_a_password_or_the_override(settings: Settings) -> None:
    check_bind(settings.model_copy(update={"password": SecretStr("pw")}), "0.0.0.0", False)
    check_bind(settings, "0.0.0.0", True)
    check_bind(settings, "127.0.0.1", False)
    with pytest.raises(UnsafeBind):
        check_bind(settings.model_copy(update={"password": SecretStr("")}), "0.0.0.0", False)


def _cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BANANABATCH_") and k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    }
    env.update({"BANANABATCH_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO / "src")})
    env.update(extra)
    return env


def test_cli_serve_refuses_public_host(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bananabatch.cli", "serve", "--host", "0.0.0.0"],
        env=_cli_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "BANANABATCH_PASSWORD" in proc.stderr


@pytest.mark.parametrize("log_level", [None, "debug"])
def test_cli_serve_runs_and_shuts_down_gracefully(tmp_path: Path, log_level: str | None) -> None:
    port = _free_port()
    level = ["--log-level", log_level] if log_level else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "bananabatch.cli", "serve", "--port", str(port), *level],
        env=_cli_env(tmp_path, BANANABATCH_WEB_DIR=str(tmp_path / "no-web")),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.2)
        assert health is not None and health.status_code == 200
        assert health.json()["executor"]["orchestrator_running"] is True
        for _ in range(5):  # pollers
            httpx.get(f"http://127.0.0.1:{port}/api/v1/jobs", timeout=5)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # uvicorn re-raises the captured SIGINT once shutdown is complete (exit status 130).
    assert proc.returncode in (0, 130, -signal.SIGINT), output
    assert "Application shutdown complete" in output
    # a banner says where and with what; polls leave no access-log line unless debugging
    assert "BananaBatch " in output and f"http://127.0.0.1:{port}" in output
    for word in ("data dir", "provider  classic", "executor  local", "auth      off"):
        assert word in output, output
    access_lines = [line for line in output.splitlines() if "GET /api/v1/jobs" in line]
    assert len(access_lines) == (5 if log_level == "debug" else 0), output
    assert not (tmp_path / "data" / "tmp").exists() or not list(
        (tmp_path / "data" / "tmp").iterdir()
    )


# ---- the typed client over real HTTP, with the orchestrator running ----------------------


def test_client_end_to_end(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upload a folder in several requests, run an automatic job, download its ZIP."""
    monkeypatch.setattr(client_module, "UPLOAD_BATCH_FILES", 4)
    rels = make_dataset(tmp_path / "photos", {"cat": 5, "dog": 4})
    rt = build_runtime(settings)
    with live_server(create_app(rt)) as url, ApiClient(url) as api:
        health = api.health()
        assert health.ok and health.executor.orchestrator_running
        ds = api.create_dataset("photos")
        report = api.upload_files(ds.id, [(r, tmp_path / "photos" / r) for r in rels])
        assert report.errors == [] and len(report.accepted) == 9
        assert api.get_dataset(ds.id).item_count == 9

        req = AutomaticJobCreate(dataset_id=ds.id, prompt="night, {rain|snow}", variations=2)
        assert api.estimate_job(req).outputs == 18
        job = api.create_job(req)
        deadline = time.monotonic() + 120
        while (detail := api.get_job(job.id)).status in ("queued", "running"):
            assert time.monotonic() < deadline, detail
            time.sleep(0.1)
        assert detail.status == "completed", detail
        assert detail.counts.succeeded == 18

        assert [j.id for j in api.list_jobs().items] == [job.id]
        assert api.list_jobs(status=["failed"]).items == []
        page = api.list_outputs(job.id, limit=5)
        assert len(page.items) == 5 and page.next_cursor
        assert api.retry_failed(job.id).requeued == 0
        with pytest.raises(ApiError) as err:
            api.cancel_job(job.id)
        assert err.value.status_code == 409 and err.value.code == "conflict"
        assert "already completed" in err.value.message
        with pytest.raises(ApiError) as err:
            api.get_job("nope")
        assert err.value.status_code == 404

        dest = api.download_export(job.id, tmp_path / "out.zip")
        with zipfile.ZipFile(dest) as zf:
            assert zf.testzip() is None
            names = set(zf.namelist())
        for rel in rels:
            stem = rel.rsplit(".", 1)[0]
            assert {f"{stem}__v1.png", f"{stem}__v2.png"} <= names, rel
        assert {"manifest.jsonl", "manifest.csv"} <= names
        assert not (tmp_path / "out.zip.part").exists()

        refs = api.upload_files(None, [("ref.jpg", tmp_path / "photos" / rels[0])])
        semi = api.create_job(
            SemiAutoJobCreate(
                reference_asset_ids=[refs.accepted[0].asset_id],
                prompts=[SemiAutoPromptIn(prompt="a poster", count=1000)],
            )
        )
        assert semi.total_outputs == 1000
        assert api.pause_job(semi.id).status == "paused"
        assert api.resume_job(semi.id).status in ("queued", "running")
        assert api.set_priority(semi.id, 9).priority == 9
        assert api.cancel_job(semi.id).status == "cancelled"
    assert not rt.orchestrator.running, "the lifespan stops the orchestrator"


def test_client_zip_upload_and_bearer_auth(settings: Settings, tmp_path: Path) -> None:
    secured = settings.model_copy(
        update={"password": SecretStr("pw"), "api_tokens": "script-token"}
    )
    make_dataset(tmp_path / "set", {"cat": 2})
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted((tmp_path / "set").rglob("*.jpg")):
            zf.write(p, p.relative_to(tmp_path).as_posix())
    rt = build_runtime(secured)
    with live_server(create_app(rt)) as url:
        with ApiClient(url) as anonymous, pytest.raises(ApiError) as err:
            anonymous.list_jobs()
        assert err.value.status_code == 401
        with ApiClient(url, "wrong") as bad, pytest.raises(ApiError) as err:
            bad.list_jobs()
        assert err.value.status_code == 401 and "token" in err.value.message
        with ApiClient(url, "script-token") as api:
            ds = api.create_dataset("zipped")
            report = api.upload_zip(ds.id, archive)
            assert sorted(f.rel_path for f in report.accepted) == ["cat/000.jpg", "cat/001.jpg"]
            with pytest.raises(ApiError) as err:
                api.download_export("nope", tmp_path / "x.zip")
            assert err.value.status_code == 404
            assert not (tmp_path / "x.zip").exists()
            assert not (tmp_path / "x.zip.part").exists()
        # A real browser-style login over HTTP: cookie flags as sent on the wire.
        r = httpx.post(f"{url}/api/v1/auth/login", json={"password": "pw"}, headers={"Origin": url})
        assert r.status_code == 200
        assert "httponly" in r.headers["set-cookie"].lower()
        assert "samesite=lax" in r.headers["set-cookie"].lower()


def test_client_reports_an_unreachable_server() -> None:
    with (
        ApiClient(f"http://127.0.0.1:{_free_port()}") as api,
        pytest.raises(ServiceUnavailable) as err,
    ):
        api.health()
    assert "bananabatch serve" in err.value.message


def test_token_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BANANABATCH_TOKEN", raising=False)
    monkeypatch.setenv("BANANABATCH_API_TOKENS", " , first,second")
    assert client_module.token_from_env() == "first"
    monkeypatch.setenv("BANANABATCH_TOKEN", "mine")
    assert client_module.token_from_env() == "mine"


def test_oversized_upload_over_real_http(settings: Settings) -> None:
    """uvicorn + Content-Length: refused before the body is read."""
    rt = build_runtime(settings.model_copy(update={"max_upload_bytes": 10_000}))
    with live_server(create_app(rt)) as url:
        ds = httpx.post(f"{url}/api/v1/datasets", json={"name": "x"}).json()["id"]
        files = {"files": ("a.jpg", io.BytesIO(b"\xff" * 50_000), "image/jpeg")}
        r = httpx.post(f"{url}/api/v1/datasets/{ds}/files", files=files)
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"


def test_serve_reports_a_startup_failure(settings: Settings) -> None:
    """Another process scheduling the same data dir: serve stops and says why."""
    from bananabatch.orchestrator.lock import OrchestratorLock

    lock = OrchestratorLock(settings.data_dir / "orchestrator.lock")
    lock.acquire()
    try:
        with pytest.raises(ServiceUnavailable) as err:
            serve(settings, "127.0.0.1", _free_port(), insecure_no_auth=False)
    finally:
        lock.release()
    assert "did not start" in err.value.message
    assert "Another BananaBatch process" in err.value.message


def test_serve_reports_a_busy_port(settings: Settings) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServiceUnavailable) as err:
            serve(settings, "127.0.0.1", port, insecure_no_auth=False)
    assert f"127.0.0.1:{port}" in err.value.message
