"""The Batch API switch in the web form: a semi-automatic job sent through Gemini's
Batch API (the fake's Files + Batch APIs), its batches shown on the job page, every
image made by a batch line and none by generateContent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_web import api_json, make_references, wait_for_job_status

pytestmark = pytest.mark.e2e


def test_semi_auto_job_through_the_batch_api(
    page: Page, gemini_server: Server, tmp_path: Path
) -> None:
    fake = gemini_server.gemini
    assert fake is not None
    standard_calls = fake.hits(":generateContent")
    refs = make_references(tmp_path)
    page.goto(f"{gemini_server.url}/new/semi-auto/")
    page.get_by_test_id("references-files-input").set_input_files([str(p) for p in refs])
    page.get_by_label("Prompt", exact=True).fill("A batch poster, {red|blue} backdrop")
    page.get_by_label("Job name").fill("Half price")
    switch = page.get_by_role("switch", name="Gemini Batch API")
    expect(switch).to_be_enabled()
    expect(page.get_by_text("Half price, results within 24 h")).to_be_visible()
    switch.click()
    expect(switch).to_be_checked()
    page.get_by_role("button", name="Queue job").click()
    link = page.get_by_test_id("queued-jobs").get_by_role("link").first
    href = link.get_attribute("href")
    assert href
    page.goto(f"{gemini_server.url}{href}")
    wait_for_job_status(page, "Completed")
    batches = page.get_by_test_id("gemini-batches")
    expect(batches).to_contain_text("done")
    expect(batches).to_contain_text("submitted")
    expect(batches).to_contain_text(re.compile(r"(\d+) of \1 image\(s\) read"))
    expect(page.get_by_test_id("gemini-batch-overdue")).to_have_count(0)
    screenshot(page, "job-on-batch-api", full_page=False)

    job_id = href.split("id=")[1]
    job = api_json(page, gemini_server, "GET", f"/jobs/{job_id}")
    assert job["route"] == "batch"
    assert job["counts"]["succeeded"] == job["total_outputs"] == 40
    assert all(b["state"] == "succeeded" for b in job["gemini_batches"])
    assert sum(b["lines_read"] for b in job["gemini_batches"]) == 40
    # every output's line billed once (this session's server made no other batch job)
    assert len(fake.batches.paid_keys) == 40 and set(fake.batches.paid_keys.values()) == {1}
    assert fake.hits(":generateContent") == standard_calls  # nothing at full price
