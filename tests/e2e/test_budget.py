"""A budget cap set in the form holds the job at the cap; the job page says why and
raising the cap there lets it finish (fake Gemini: every image is priced)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_failures import make_reference
from tests.e2e.test_web import api_json

pytestmark = pytest.mark.e2e


def test_a_capped_job_is_held_and_raising_the_cap_finishes_it(
    page: Page, gemini_server: Server, tmp_path: Path
) -> None:
    page.goto(f"{gemini_server.url}/new/semi-auto/")
    page.get_by_test_id("references-files-input").set_input_files(str(make_reference(tmp_path)))
    expect(page.get_by_role("list", name="Reference images").get_by_role("img")).to_have_count(1)
    row = page.get_by_test_id("prompt-row").nth(0)
    row.get_by_role("textbox").fill("[[slow:0.3]] a kite over the sea")
    row.get_by_label("Images").fill("16")
    page.get_by_label("Job name").fill("Capped kites")
    page.get_by_role("button", name=re.compile("^Advanced")).click()
    page.get_by_label("Budget cap (USD)").fill("0.3")
    page.get_by_role("button", name="Queue job").click()
    # opened by its address: the "Job queued" toast may sit over the link (and a
    # pointer resting on a toast keeps it open)
    href = page.get_by_test_id("queued-jobs").get_by_role("link").first.get_attribute("href")
    assert href
    page.goto(f"{gemini_server.url}{href}")
    page.wait_for_url(re.compile(r"/jobs/view/\?id=\w+"))
    job_id = page.url.split("id=")[1]

    hold = page.get_by_test_id("budget-hold")
    expect(hold).to_contain_text("Budget cap reached", timeout=60_000)
    expect(page.get_by_test_id("job-status")).to_contain_text("Paused")
    for _ in range(100):  # the runs in flight at the hold finish and are kept
        job = api_json(page, gemini_server, "GET", f"/jobs/{job_id}")
        if job["counts"]["succeeded"] == 8:
            break
        page.wait_for_timeout(100)
    assert job["max_cost"] == 0.3 and job["cost_actual"] <= 0.3
    assert job["counts"]["succeeded"] == 8, (job["hold_reason"], job["counts"])
    screenshot(page, "job-budget-hold", full_page=False)

    hold.get_by_role("button", name="Raise cap and continue").click()
    expect(page.get_by_test_id("job-status")).to_contain_text("Completed", timeout=120_000)
    done = api_json(page, gemini_server, "GET", f"/jobs/{job_id}")
    assert done["counts"]["succeeded"] == 16 and done["hold_reason"] is None
    spend = api_json(page, gemini_server, "GET", f"/spend?group_by=job&job_id={job_id}")
    assert spend["rows"][0]["images"] == 16  # nothing paid twice across the hold
