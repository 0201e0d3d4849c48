"""A webhook named in the job form: the server POSTs the job's completion to a receiver
on 127.0.0.1, and the job page shows the delivery."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_web import make_references, wait_for_job_status

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received
    httpd.shutdown()
    httpd.server_close()


def test_webhook_from_the_form_is_delivered_and_shown(
    page: Page, server: Server, tmp_path: Path, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    page.goto(f"{server.url}/new/semi-auto/")
    page.get_by_test_id("references-files-input").set_input_files(
        [str(p) for p in make_references(tmp_path)]
    )
    page.get_by_label("Prompt", exact=True).fill("A hooked poster")
    page.get_by_label("Job name").fill("With a webhook")
    page.get_by_role("button", name="Advanced").click()
    hook = page.get_by_label("Webhook URL")
    hook.fill("ftp://nope")
    expect(page.get_by_text("An http:// or https:// URL")).to_be_visible()
    hook.fill(url)
    page.get_by_role("button", name="Queue job").click()
    link = page.get_by_test_id("queued-jobs").get_by_role("link").first
    href = link.get_attribute("href")
    assert href
    page.goto(f"{server.url}{href}")
    wait_for_job_status(page, "Completed")
    deliveries = page.get_by_test_id("webhook-deliveries")
    expect(deliveries).to_contain_text("delivered", timeout=30_000)
    expect(deliveries).to_contain_text("HTTP 204")
    screenshot(page, "job-webhook-delivered", full_page=False)
    job_id = href.split("id=")[1]
    assert [(e["event"], e["job"]["id"]) for e in received] == [("job.completed", job_id)]
