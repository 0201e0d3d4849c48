"""The prompt preview tells the truth: the form draws the seed before the first
preview, so the previewed prompts are exactly the prompts the job renders; re-rolling
the seed changes the picks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_web import api_json, wait_for_job_status

pytestmark = pytest.mark.e2e
PROMPT = "{red|green|blue|gold|silver|violet} {class} at {dawn|noon|dusk|night}"


def _folder(root: Path) -> Path:
    for cls, colour in (("cat", (200, 120, 40)), ("dog", (60, 90, 200))):
        (root / "pets" / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (64, 48), (colour[0], colour[1] + i * 20, colour[2])).save(
                root / "pets" / cls / f"{cls}_{i}.png"
            )
    return root / "pets"


def _previewed(page: Page) -> list[str]:
    items = page.get_by_test_id("prompt-preview").locator("li p.text-sm")
    expect(items.first).to_be_visible()
    return [t.strip() for t in items.all_inner_texts()]


def test_previewed_prompts_are_the_prompts_the_job_runs(
    page: Page, server: Server, tmp_path: Path
) -> None:
    page.goto(f"{server.url}/new/automatic/")
    page.get_by_test_id("dataset-folder-input").set_input_files(str(_folder(tmp_path)))
    expect(page.get_by_test_id("upload-complete")).to_have_text(
        "Uploaded 6 of 6 files", timeout=60_000
    )
    page.get_by_label("Base prompt").fill(PROMPT)
    page.get_by_role("button", name=re.compile("^Advanced")).click()
    seed_box = page.get_by_label("Seed", exact=True)
    expect(seed_box).not_to_have_value("")  # drawn before the first preview
    first_seed = seed_box.input_value()
    expect(page.get_by_test_id("prompt-preview")).to_be_visible()
    page.wait_for_timeout(800)  # the preview is debounced
    before = _previewed(page)

    page.get_by_role("button", name="Re-roll the seed").click()
    expect(seed_box).not_to_have_value(first_seed)
    page.wait_for_timeout(1200)  # debounce, then the new preview
    shown = _previewed(page)
    assert shown != before  # 6 x 4 picks per prompt: a new seed changes some
    seed = int(seed_box.input_value())

    page.get_by_role("button", name="Start job").click()
    page.wait_for_url(re.compile(r"/jobs/view/\?id=\w+"))
    job_id = page.url.split("id=")[1]
    wait_for_job_status(page, "Completed")
    job = api_json(page, server, "GET", f"/jobs/{job_id}")
    assert job["seed"] == seed
    outputs = api_json(page, server, "GET", f"/jobs/{job_id}/outputs?limit=50")["items"]
    ran = [o["prompt"] for o in sorted(outputs, key=lambda o: o["position"])]
    assert shown == ran[: len(shown)]
    assert len(shown) >= 3
