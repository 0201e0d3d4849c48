"""Trial runs in the browser: "Try on 4 images" makes 4 of 24 images across the classes, then
"Run on the rest" makes only the others (the fake Gemini server counts every call), so
the trial's images are never paid for twice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_web import api_json, wait_for_job_status

pytestmark = pytest.mark.e2e
MARK = "trialmark"  # the session's fake Gemini is shared: count only this test's calls


def _folder(root: Path) -> Path:
    for n, (cls, colour) in enumerate(
        (("cat", (200, 120, 40)), ("dog", (60, 90, 200)), ("fox", (220, 80, 20)))
    ):
        (root / "pets" / cls).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (64, 48), (colour[0], colour[1] + i * 10, colour[2] + n)).save(
                root / "pets" / cls / f"{cls}_{i}.png"
            )
    return root / "pets"


def test_trial_then_the_rest_pays_for_each_image_once(
    page: Page, gemini_server: Server, tmp_path: Path
) -> None:
    fake = gemini_server.gemini
    assert fake is not None
    page.goto(f"{gemini_server.url}/new/automatic/")
    page.get_by_test_id("dataset-folder-input").set_input_files(str(_folder(tmp_path)))
    expect(page.get_by_test_id("upload-complete")).to_have_text(
        "Uploaded 12 of 12 files", timeout=60_000
    )
    page.get_by_label("Base prompt").fill(MARK + " {class} in {rain|fog|snow}")
    page.get_by_label("Trial images").fill("4")  # 12 images x 2 variations (the default)
    expect(page.get_by_test_id("trial-estimate")).to_contain_text(
        re.compile(r"Trial: 4 images, \$[\d.]+\. The rest: 20 images, \$[\d.]+"), timeout=15_000
    )
    page.get_by_test_id("try-trial").click()
    page.wait_for_url(re.compile(r"/jobs/view/\?id=\w+"))
    job_id = page.url.split("id=")[1]
    wait_for_job_status(page, "Completed")
    panel = page.get_by_test_id("trial-panel")
    expect(panel).to_contain_text("Trial on 4 of 24 images")
    expect(panel).to_contain_text("The rest: 20 images")
    assert fake.calls(prompt_contains=MARK) == 4
    trial_outputs = api_json(page, gemini_server, "GET", f"/jobs/{job_id}/outputs?limit=50")
    trial_ids = {o["id"] for o in trial_outputs["items"]}
    assert {o["source_path"].split("/")[0] for o in trial_outputs["items"]} == {"cat", "dog", "fox"}
    screenshot(page, "trial-job")

    # "Change the prompt": the form comes back filled (same dataset, seed and trial size)
    panel.get_by_role("link", name="Change the prompt").click()
    page.wait_for_url(re.compile(rf"/new/automatic/\?from={job_id}"))
    expect(page.get_by_label("Base prompt")).to_have_value(MARK + " {class} in {rain|fog|snow}")
    expect(page.get_by_label("Trial images")).to_have_value("4")
    job = api_json(page, gemini_server, "GET", f"/jobs/{job_id}")
    page.get_by_role("button", name=re.compile("^Advanced")).click()
    expect(page.get_by_label("Seed", exact=True)).to_have_value(str(job["seed"]))
    expect(page.get_by_test_id("trial-estimate")).to_contain_text("The rest: 20 images")
    page.goto(f"{gemini_server.url}/jobs/view/?id={job_id}")

    panel.get_by_role("button", name="Run on the rest").click()
    expect(panel).to_have_count(0)  # continued: the job is the whole job now
    wait_for_job_status(page, "Completed")
    job = api_json(page, gemini_server, "GET", f"/jobs/{job_id}")
    assert job["counts"]["succeeded"] == 24 and job["total_outputs"] == 24
    assert job["trial"]["continued"] is True
    outputs = api_json(page, gemini_server, "GET", f"/jobs/{job_id}/outputs?limit=50")["items"]
    assert trial_ids < {o["id"] for o in outputs}
    assert fake.calls(prompt_contains=MARK) == 24  # the trial's 4 were not made again
