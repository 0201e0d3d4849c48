"""Failed and blocked outputs in a real browser, and the job-level "Retry failed".

A semi-automatic Gemini job runs against the fake Gemini server: one prompt's
calls answer HTTP 500 three times per image (one dispatch of three calls fails,
the next succeeds), one prompt is blocked for safety (permanent), one is plain.
The job page must show both kinds of problem with their errors; "Retry failed"
must re-run the failed images only, and the blocked ones must stay blocked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_web import api_json

pytestmark = pytest.mark.e2e

JOB_TIMEOUT_MS = 60_000
MODEL = "gemini-nano-banana-2.1"  # the default model with a key
FLAKY = "[[500x3]] a red kite"
BLOCKED = "[[block]] something unsafe"
PLAIN = "a plain teapot"


def wait_for_animations(page: Page) -> None:
    """Let finite animations (a dialog fading in) end, so a screenshot shows the end state."""
    page.wait_for_function(
        "document.getAnimations().every(a => a.playState !== 'running'"
        " || a.effect?.getTiming().iterations === Infinity)",
        timeout=5_000,
    )


def make_reference(root: Path) -> Path:
    path = root / "kite.png"
    im = Image.new("RGB", (192, 128), (230, 60, 50))
    ImageDraw.Draw(im).polygon([(96, 10), (150, 64), (96, 118), (42, 64)], fill=(250, 240, 90))
    im.save(path)
    return path


def test_failed_and_blocked_outputs_and_retry(
    page: Page, gemini_server: Server, tmp_path: Path
) -> None:
    fake = gemini_server.gemini
    assert fake is not None
    page.goto(f"{gemini_server.url}/new/semi-auto/")
    expect(page.get_by_role("heading", name="New semi-automatic job")).to_be_visible()
    page.get_by_test_id("references-files-input").set_input_files(str(make_reference(tmp_path)))
    expect(page.get_by_role("list", name="Reference images").get_by_role("img")).to_have_count(1)
    for i, prompt in enumerate((FLAKY, BLOCKED, PLAIN)):
        if i:
            page.get_by_role("button", name="Add a prompt").click()
        row = page.get_by_test_id("prompt-row").nth(i)
        row.get_by_role("textbox").fill(prompt)
        row.get_by_label("Images").fill("4")
        expect(row.get_by_test_id("runs-label")).to_have_text("1 run of 4")
    expect(page.get_by_test_id("estimate-outputs")).to_have_text("12 images")
    page.get_by_label("Job name").fill("Kites with trouble")
    page.get_by_role("button", name="Queue job").click()
    expect(page.get_by_test_id("queued-alert")).to_contain_text("Kites with trouble")
    # opened by its address: the "Job queued" toast may sit over the link (and a
    # pointer resting on a toast keeps it open)
    href = page.get_by_test_id("queued-jobs").get_by_role("link").first.get_attribute("href")
    assert href
    page.goto(f"{gemini_server.url}{href}")
    page.wait_for_url(re.compile(r"/jobs/view/\?id=\w+"))
    job_id = page.url.split("id=")[1]

    # First pass: 4 succeed, 4 fail (HTTP 500 on every call of their one dispatch), 4 blocked.
    expect(page.get_by_test_id("job-status")).to_contain_text(
        "Completed with errors", timeout=JOB_TIMEOUT_MS
    )
    expect(page.get_by_test_id("filter-succeeded")).to_contain_text("4")
    expect(page.get_by_test_id("filter-failed")).to_contain_text("4")
    expect(page.get_by_test_id("filter-blocked")).to_contain_text("4")
    tiles = page.locator("[data-tile]")
    expect(tiles).to_have_count(12)
    expect(page.locator("[data-tile][data-status=failed]")).to_have_count(4)
    expect(page.locator("[data-tile][data-status=blocked]")).to_have_count(4)
    retry = page.get_by_role("button", name=re.compile(r"^Retry failed"))
    # Only the failed ones: the job-level retry does not re-run blocked outputs.
    expect(retry).to_have_text("Retry failed (4)")
    progress = page.get_by_role("progressbar", name="Job progress")
    expect(progress).to_have_attribute(
        "aria-valuetext", "4 succeeded, 4 failed, 4 blocked, 12 total"
    )
    headers = page.get_by_test_id("batch-header")
    expect(headers.nth(0)).to_contain_text("4 failed")
    expect(headers.nth(1)).to_contain_text("4 blocked")
    expect(headers.nth(1)).not_to_contain_text("failed")
    screenshot(page, "job-gemini-failures", full_page=False)

    # The failed filter shows only failed tiles; a failed output's lightbox shows its error.
    page.get_by_test_id("filter-failed").click()
    expect(tiles).to_have_count(4)
    expect(page.locator("[data-tile]:not([data-status=failed])")).to_have_count(0)
    expect(page.get_by_test_id("batch-name")).to_have_text([FLAKY])
    tiles.first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Run 1 · image 1")
    expect(dialog).to_contain_text("No image for this output.")
    details = dialog.get_by_role("complementary", name="Details")
    expect(details).to_contain_text("Error")
    expect(details).to_contain_text("500")
    expect(details).to_contain_text("kind: transient")
    expect(details).to_contain_text(FLAKY)
    expect(dialog.get_by_role("button", name="Retry this output")).to_be_visible()
    wait_for_animations(page)
    screenshot(page, "lightbox-failed-output", full_page=False)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    # Blocked: the block reason is shown.
    page.get_by_test_id("filter-blocked").click()
    expect(tiles).to_have_count(4)
    expect(page.locator("[data-tile]:not([data-status=blocked])")).to_have_count(0)
    expect(tiles.first).to_contain_text("Blocked")
    tiles.first.click()
    expect(details).to_contain_text("Why it was blocked")
    expect(details).to_contain_text("Gemini blocked the prompt (SAFETY)")
    wait_for_animations(page)
    screenshot(page, "lightbox-blocked-output", full_page=False)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    calls_before = {p: fake.calls(prompt_contains=p) for p in (FLAKY, BLOCKED, PLAIN)}
    assert calls_before == {FLAKY: 12, BLOCKED: 4, PLAIN: 4}, calls_before

    # Retry failed: the 4 failed images run again and succeed; the blocked stay blocked.
    page.get_by_test_id("filter-all").click()
    retry.click()
    expect(page.get_by_text("4 outputs queued again")).to_be_visible()
    expect(page.get_by_test_id("filter-succeeded")).to_contain_text("8", timeout=JOB_TIMEOUT_MS)
    expect(page.get_by_test_id("job-status")).to_contain_text(
        "Completed with errors", timeout=JOB_TIMEOUT_MS
    )
    expect(page.get_by_test_id("filter-failed")).to_have_count(0)
    expect(page.get_by_test_id("filter-blocked")).to_contain_text("4")
    expect(page.locator("[data-tile][data-status=succeeded]")).to_have_count(8)
    expect(page.locator("[data-tile][data-status=blocked]")).to_have_count(4)
    expect(retry).to_have_count(0)
    expect(progress).to_have_attribute(
        "aria-valuetext", "8 succeeded, 0 failed, 4 blocked, 12 total"
    )
    expect(headers.nth(0)).not_to_contain_text("failed")
    screenshot(page, "job-gemini-after-retry", full_page=False)

    job = api_json(page, gemini_server, "GET", f"/jobs/{job_id}")
    assert job["model"] == MODEL
    assert job["status"] == "completed_with_errors"
    counts = {k: job["counts"][k] for k in ("succeeded", "failed", "blocked", "pending")}
    assert counts == {"succeeded": 8, "failed": 0, "blocked": 4, "pending": 0}
    # One more call per failed image; nothing that succeeded or was blocked was sent again.
    calls_after = {p: fake.calls(prompt_contains=p) for p in (FLAKY, BLOCKED, PLAIN)}
    assert calls_after == {FLAKY: 16, BLOCKED: 4, PLAIN: 4}, calls_after
    assert {r.model for r in fake.requests} == {MODEL}
    assert {r.api_key for r in fake.requests} == {"test-key"}
