"""Job webhooks end to end: real jobs on the runtime, a real HTTP receiver on 127.0.0.1
that checks the HMAC signature; completed, cancelled and budget-paused events; a
receiver that fails twice then answers (retries recorded); a restart that neither
loses a pending event nor repeats a delivered one."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from bananabatch.config import Settings
from bananabatch.db.models import Job, JobStatus
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import job_actions
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import AutomaticJobCreate
from bananabatch.services.queries import job_detail, job_etag
from tests.fakes.gemini_server import FakeGeminiServer
from tests.imagegen import make_dataset
from tests.integration.job_helpers import upload_folder

pytestmark = pytest.mark.timeout(120)
SECRET = "whsec-test"
GEMINI = "gemini-nano-banana-2.1"


@dataclass
class Received:
    event: str
    delivery: str
    body: dict[str, Any]
    raw: bytes
    signed_ok: bool


@dataclass
class Receiver:
    url: str
    fail_next: int = 0
    calls: list[Received] = field(default_factory=list)
    refused: int = 0

    def delivered(self) -> list[Received]:
        return [c for c in self.calls if c.signed_ok]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            signed_ok = hmac.compare_digest(
                self.headers.get("X-BananaBatch-Signature", ""), expected
            )
            with lock:
                failing = state.fail_next > 0
                if failing:
                    state.fail_next -= 1
                    state.refused += 1
                else:
                    state.calls.append(
                        Received(
                            event=self.headers["X-BananaBatch-Event"],
                            delivery=self.headers["X-BananaBatch-Delivery"],
                            body=json.loads(raw),
                            raw=raw,
                            signed_ok=signed_ok,
                        )
                    )
            self.send_response(503 if failing else (204 if signed_ok else 401))
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/bananabatch"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(default_retry_delay="0.1s") as server:
        yield server


@pytest.fixture
def hook_settings(settings: Settings, gemini: FakeGeminiServer) -> Settings:
    return settings.model_copy(
        update={
            "gemini_api_key": SecretStr("test-key"),
            "gemini_base_url": gemini.base_url,
            "gemini_preflight": False,
            "concurrency": 4,
            "webhook_secret": SecretStr(SECRET),
            "webhook_retry_base_seconds": 0.1,
            "webhook_poll_seconds": 0.05,
        }
    )


@pytest.fixture
async def runtime(hook_settings: Settings) -> AsyncIterator[Runtime]:
    rt = build_runtime(hook_settings)
    yield rt
    await rt.stop()


@pytest.fixture
def dataset(runtime: Runtime, tmp_path: Path) -> str:
    make_dataset(tmp_path / "ds", {"cat": 3, "dog": 3})
    return upload_folder(runtime, tmp_path / "ds")


def _job(rt: Runtime, dataset_id: str, url: str | None, **extra: Any) -> Job:
    with rt.session_factory() as s:
        return job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            AutomaticJobCreate.model_validate(
                {"dataset_id": dataset_id, "prompt": "a {class}", "webhook_url": url, **extra}
            ),
            preflight=None,
        ).job


def _states(rt: Runtime, job_id: str) -> list[str]:
    with rt.session_factory() as s:
        return [w.state for w in job_detail(s, job_id).webhooks]


async def _until(check: Any, limit: float = 30.0) -> None:
    for _ in range(int(limit / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting")


async def test_a_completed_job_posts_one_signed_event(
    runtime: Runtime, receiver: Receiver, dataset: str
) -> None:
    job = _job(runtime, dataset, receiver.url, model="classic", variations=2)
    await runtime.start()
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job.id]), 60)
    await _until(lambda: receiver.calls)
    [call] = receiver.calls
    assert call.signed_ok and call.event == "job.completed"
    assert call.body["event"] == "job.completed" and call.body["delivery_id"] == call.delivery
    assert call.body["job"]["id"] == job.id and call.body["job"]["status"] == "completed"
    assert call.body["counts"] == {"total": 12, "succeeded": 12}
    assert call.body["cost"]["currency"] == "USD"
    assert call.body["timestamps"]["finished_at"] is not None
    await _until(lambda: _states(runtime, job.id) == ["delivered"])  # recorded after the 2xx
    with runtime.session_factory() as s:
        detail = job_detail(s, job.id)
    assert detail.webhook_url == receiver.url
    [shown] = detail.webhooks
    assert (shown.event, shown.state, shown.attempts, shown.last_status) == (
        "job.completed",
        "delivered",
        1,
        204,
    )
    assert shown.id == call.delivery and shown.delivered_at is not None


async def test_a_cancelled_job_posts_its_event(
    runtime: Runtime, receiver: Receiver, dataset: str
) -> None:
    job = _job(runtime, dataset, receiver.url, model="classic")
    with runtime.session_factory() as s:
        job_actions.cancel_job(s, job.id)
    await runtime.start()
    await _until(lambda: receiver.calls)
    [call] = receiver.calls
    assert call.signed_ok and call.event == "job.cancelled"
    assert call.body["job"]["status"] == "cancelled"
    assert call.body["counts"]["cancelled"] == 6


async def test_a_delivery_changes_the_jobs_etag_so_a_polling_page_shows_it(
    runtime: Runtime, receiver: Receiver, dataset: str
) -> None:
    """A finished job changes no more; the page polls its detail with an ETag, so a
    delivery recorded after the job ended must move it, or the page shows "pending"."""
    job = _job(runtime, dataset, receiver.url, model="classic")
    with runtime.session_factory() as s:
        job_actions.cancel_job(s, job.id)
        before = job_etag(s, job.id)
    assert await runtime.webhooks.deliver_due() == 1  # the loop is not running: one pass
    with runtime.session_factory() as s:
        assert job_etag(s, job.id) != before
    assert _states(runtime, job.id) == ["delivered"]


async def test_a_job_held_at_its_budget_cap_posts_budget_paused(
    runtime: Runtime, receiver: Receiver, dataset: str
) -> None:
    probe = _job(runtime, dataset, None, model=GEMINI, variations=2)
    with runtime.session_factory() as s:
        job_actions.cancel_job(s, probe.id)
    cap = round(probe.cost_estimate * 0.3, 4)
    _job(
        runtime, dataset, receiver.url, model=GEMINI, variations=2, max_cost=cap,
        prompt="[[slow:0.2]] a {class}",
    )  # fmt: skip
    await runtime.start()
    await _until(lambda: receiver.calls)
    [call] = receiver.calls
    assert call.signed_ok and call.event == "job.budget_paused"
    assert call.body["job"]["status"] == "paused"
    assert call.body["job"]["hold_reason"].startswith("Budget cap reached")
    assert call.body["cost"]["max_cost"] == cap
    assert probe.webhook_url is None  # a job without a URL (and no default) posts nothing


async def test_a_failing_receiver_is_retried_with_backoff_and_every_try_recorded(
    runtime: Runtime, receiver: Receiver, dataset: str
) -> None:
    receiver.fail_next = 2
    job = _job(runtime, dataset, receiver.url, model="classic")
    await runtime.start()
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job.id]), 60)
    await _until(lambda: receiver.calls)
    assert receiver.refused == 2 and len(receiver.calls) == 1
    await _until(lambda: _states(runtime, job.id) == ["delivered"])
    with runtime.session_factory() as s:
        [shown] = job_detail(s, job.id).webhooks
    assert (shown.state, shown.attempts, shown.last_status, shown.last_error) == (
        "delivered",
        3,
        204,
        None,
    )
    assert shown.delivered_at is not None


async def test_a_restart_delivers_what_was_pending_and_repeats_nothing(
    hook_settings: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    first = build_runtime(hook_settings)
    make_dataset(tmp_path / "ds", {"cat": 2})
    dataset = upload_folder(first, tmp_path / "ds")
    delivered = _job(first, dataset, receiver.url, model="classic")
    await first.start()
    await asyncio.wait_for(first.orchestrator.wait_for_jobs([delivered.id]), 60)
    await _until(lambda: receiver.calls)
    receiver.fail_next = 10_000  # the receiver is down for the next event
    pending = _job(first, dataset, receiver.url, model="classic")
    await asyncio.wait_for(first.orchestrator.wait_for_jobs([pending.id]), 60)
    await _until(lambda: receiver.refused >= 1)
    await first.stop()
    with first.session_factory() as s:
        [row] = job_detail(s, pending.id).webhooks
        assert row.state == "pending" and row.attempts >= 1 and row.last_status == 503

    receiver.fail_next = 0
    second = build_runtime(hook_settings)
    await second.start()
    try:
        await _until(lambda: len(receiver.calls) >= 2)
        await _until(lambda: _states(second, pending.id) == ["delivered"])
        await asyncio.sleep(0.5)  # several more passes of the sender: nothing else goes out
    finally:
        await second.stop()
    assert [c.body["job"]["id"] for c in receiver.calls] == [delivered.id, pending.id]
    assert len({c.delivery for c in receiver.calls}) == 2
    with second.session_factory() as s:
        assert [w.state for w in job_detail(s, pending.id).webhooks] == ["delivered"]
        assert s.get_one(Job, pending.id).status == JobStatus.completed


def test_a_webhook_url_must_be_http_or_https() -> None:
    for bad, says in [
        ("ftp://example.com/hook", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("http:///nohost", "no host name"),
        ("https://user:pw@example.com/", "user name or password"),
    ]:
        with pytest.raises(ValidationError, match=says):
            AutomaticJobCreate(dataset_id="d", prompt="p", webhook_url=bad)
    with pytest.raises(ValidationError, match="http:// or https://"):
        Settings(webhook_url="file:///etc/passwd")


def test_the_cli_run_posts_to_its_webhook_and_jobs_show_lists_the_delivery(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bananabatch.cli import EXIT_BAD_INPUT, EXIT_OK, app
    from bananabatch.config import get_settings

    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "BANANABATCH_WEBHOOK_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BANANABATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BANANABATCH_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    make_dataset(tmp_path / "ds", {"cat": 2})
    runner = CliRunner()
    try:
        bad = runner.invoke(
            app, ["run", "automatic", str(tmp_path / "ds"), "--prompt", "a {class}",
                  "--webhook", "ftp://example.com/x"],
        )  # fmt: skip
        said = " ".join(bad.output.replace("│", " ").split())
        assert bad.exit_code == EXIT_BAD_INPUT and "must start with http:// or https://" in said
        assert not (tmp_path / "data" / "store").exists()  # refused before any upload

        done = runner.invoke(
            app, ["run", "automatic", str(tmp_path / "ds"), "--prompt", "a {class}",
                  "--webhook", receiver.url],
        )  # fmt: skip
        assert done.exit_code == EXIT_OK, done.output
        [call] = receiver.calls  # sent before the command returned
        assert call.signed_ok and call.event == "job.completed"
        shown = runner.invoke(app, ["jobs", "show", call.body["job"]["id"]])
        assert shown.exit_code == 0, shown.output
        assert f"webhook: {receiver.url}" in shown.output
        assert "job.completed delivered (1 attempt, HTTP 204)" in shown.output
    finally:
        get_settings.cache_clear()
