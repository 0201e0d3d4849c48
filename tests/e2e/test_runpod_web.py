"""The web UI with generation on RunPod: the same forms, gallery and ZIP, with only
RUNPOD_API_KEY, RUNPOD_ENDPOINT_ID and BANANABATCH_RUNPOD_API_URL set (the fake cloud
runs the real worker handler)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_web import api_json, make_references, wait_for_job_status

pytestmark = pytest.mark.e2e


def test_semi_auto_job_runs_on_runpod(page: Page, runpod_server: Server, tmp_path: Path) -> None:
    fake = runpod_server.runpod
    assert fake is not None
    health = api_json(page, runpod_server, "GET", "/health")
    assert health["executor"]["name"] == "runpod"
    assert health["executor"]["details"]["endpoint_id"] == fake.endpoint_id

    refs = make_references(tmp_path)
    page.goto(f"{runpod_server.url}/new/semi-auto/")
    page.get_by_test_id("references-files-input").set_input_files([str(p) for p in refs])
    expect(page.get_by_test_id("reference-count")).to_have_text("2 / 14 for Classic augmentation")
    page.get_by_label("Prompt", exact=True).fill("Product on a {red|blue} backdrop")
    page.get_by_label("Job name").fill("On RunPod")
    page.get_by_role("button", name="Queue job").click()
    link = page.get_by_test_id("queued-jobs").get_by_role("link").first
    href = link.get_attribute("href")
    assert href
    page.goto(f"{runpod_server.url}{href}")
    wait_for_job_status(page, "Completed")
    expect(page.get_by_test_id("job-remote")).to_contain_text("mean wait")
    screenshot(page, "job-on-runpod", full_page=False)
    page.set_viewport_size({"width": 1440, "height": 3400})  # all 10 runs on screen
    runs = page.get_by_test_id("run-row")
    expect(runs).to_have_count(10)
    for i in range(10):
        expect(runs.nth(i).locator("[data-tile][data-status=succeeded]")).to_have_count(4)

    job_id = href.split("id=")[1]
    job = api_json(page, runpod_server, "GET", f"/jobs/{job_id}")
    assert job["counts"]["succeeded"] == 40
    assert job["remote"]["avg_execution_ms"] is not None
    assert fake.stats().runs_received == 10  # one RunPod job per run of 4

    response = page.request.get(f"{runpod_server.url}/api/v1/jobs/{job_id}/export")
    assert response.ok
    with zipfile.ZipFile(io.BytesIO(response.body())) as zf:
        images = [n for n in zf.namelist() if n.endswith(".png")]
        assert len(images) == 40 and zf.testzip() is None
