"""Labelled datasets and the review pass in a real browser.

A YOLO folder (real photos, painted regions, train/val/test, data.yaml) is
dropped on the new-job page: the format, classes, splits and split estimate
show before the job starts. After the classic job, outputs are reviewed with
the keyboard and in bulk (the decisions survive a reload), the rejected one is
regenerated after its price is shown, and "Accepted only" downloads a YOLO
dataset of the accepted images with their labels. A Gemini job whose answers
moved the layout shows its flags in the gallery and the lightbox.
"""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import labelled
from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_failures import wait_for_animations
from tests.e2e.test_web import api_json, wait_for_job_status

pytestmark = pytest.mark.e2e


def test_yolo_dataset_review_and_accepted_only_download(
    page: Page, server: Server, tmp_path: Path
) -> None:
    root = labelled.write_tree(labelled.yolo(), tmp_path / "signs")
    page.goto(f"{server.url}/new/automatic/")
    page.get_by_test_id("dataset-folder-input").set_input_files(str(root))
    expect(page.get_by_test_id("upload-complete")).to_have_text(
        "Uploaded 11 of 11 files", timeout=60_000
    )
    panel = page.get_by_test_id("dataset-labels")
    expect(page.get_by_test_id("label-format")).to_have_text("YOLO detection dataset")
    chips = [
        re.sub(r"\s+", "", t)
        for t in panel.get_by_role("list", name="Classes").locator("li").all_inner_texts()
    ]
    assert chips == ["sign5", "tag5"]
    rows = panel.get_by_test_id("split-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("train")
    expect(rows.nth(0).get_by_role("checkbox")).to_be_checked()
    expect(rows.nth(1).get_by_role("checkbox")).not_to_be_checked()

    page.get_by_label("Base prompt").fill("flip")
    expect(page.get_by_test_id("estimate-outputs")).to_have_text("6 images")
    splits = page.get_by_test_id("estimate-splits")
    expect(splits).to_contain_text("train3 → 6 new images")
    expect(page.locator("#variations-hint")).to_have_text("3 images \u00d7 2 = 6 new images")
    expect(splits).to_contain_text("val1 image, untouched")
    rows.nth(1).get_by_role("checkbox").click()
    expect(page.get_by_test_id("estimate-outputs")).to_have_text("8 images")
    rows.nth(1).get_by_role("checkbox").click()
    expect(page.get_by_test_id("estimate-outputs")).to_have_text("6 images")
    expect(page.get_by_label("Include the originals in the ZIP")).to_be_checked()
    screenshot(page, "new-automatic-job-yolo")

    page.get_by_label("Job name").fill("Signs augmentation")
    page.get_by_role("button", name="Start job").click()
    page.wait_for_url(re.compile(r"/jobs/view/\?id=\w+"))
    wait_for_job_status(page, "Completed")
    job_id = page.url.split("id=")[1]
    tiles = page.locator("[data-tile]")
    expect(tiles).to_have_count(6)

    # Keyboard: A accepts and moves on, R rejects.
    tiles.nth(0).focus()
    page.keyboard.press("a")
    expect(tiles.nth(1)).to_be_focused()
    page.keyboard.press("r")
    expect(tiles.nth(0)).to_have_attribute("data-review", "accepted")
    expect(tiles.nth(1)).to_have_attribute("data-review", "rejected")

    # In bulk: select two and accept them.
    page.get_by_role("button", name="Select", exact=True).click()
    tiles.nth(2).click()
    tiles.nth(3).click()
    page.get_by_role("button", name="Accept 2").click()
    expect(tiles.nth(3)).to_have_attribute("data-review", "accepted")
    page.get_by_role("button", name="Done").click()
    quality = page.get_by_test_id("job-quality")
    expect(quality).to_contain_text("3 accepted", timeout=10_000)
    expect(quality).to_contain_text("1 rejected")

    # Stored: a reload shows the same decisions.
    page.reload()
    expect(tiles).to_have_count(6)
    assert [tiles.nth(i).get_attribute("data-review") for i in range(6)] == [
        "accepted", "rejected", "accepted", "accepted", "unreviewed", "unreviewed"
    ]  # fmt: skip
    page.get_by_label("Filter by review and flags").click()
    page.get_by_role("option", name="Rejected (1)").click()
    expect(tiles).to_have_count(1)
    rejected_id = tiles.first.get_attribute("data-output-id")
    screenshot(page, "job-review-rejected-filter", full_page=False)
    page.get_by_label("Filter by review and flags").click()
    page.get_by_role("option", name="All reviews and flags").click()

    # Regenerate the rejected one, after seeing its price.
    page.get_by_test_id("regenerate-rejected").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("regenerate-price")).to_have_text("1 image · free")
    wait_for_animations(page)
    screenshot(page, "regenerate-rejected-dialog", full_page=False)
    dialog.get_by_role("button", name="Regenerate 1").click()
    expect(dialog).to_have_count(0)  # closes once the slot is queued again
    deadline = time.monotonic() + 60
    while api_json(page, server, "GET", f"/jobs/{job_id}")["status"] != "completed":
        assert time.monotonic() < deadline, "the regenerated output never finished"
        page.wait_for_timeout(250)
    outputs = api_json(page, server, "GET", f"/jobs/{job_id}/outputs")["items"]
    regenerated = {o["id"]: o["regenerations"] for o in outputs}
    assert regenerated.pop(rejected_id) == 1 and set(regenerated.values()) == {0}
    wait_for_job_status(page, "Completed")
    # a regenerated output starts over unreviewed (its tile shows a review once it has
    # its new image; while it generates, a slow machine shows it pending)
    expect(page.locator(f"[data-output-id='{rejected_id}']")).to_have_attribute(
        "data-review", "unreviewed"
    )

    page.get_by_role("button", name="Download").click()
    with page.expect_download(timeout=60_000) as info:
        page.get_by_test_id("download-accepted").click()
    archive = tmp_path / "accepted.zip"
    info.value.save_as(archive)
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
    generated = sorted(n for n in names if "__v" in n)
    assert len(generated) == 6  # three accepted images, three label files
    assert sum(n.startswith("labels/train/") for n in generated) == 3
    assert {"data.yaml", "images/val/rocket.jpg", "labels/test/camera.txt"} <= names


def test_gemini_layout_flags_in_the_gallery(
    page: Page, gemini_server: Server, tmp_path: Path
) -> None:
    archive = labelled.write_zip(labelled.yolo(), tmp_path / "signs.zip")
    ds = api_json(page, gemini_server, "POST", "/datasets", {"name": "signs"})["id"]
    response = page.request.post(
        f"{gemini_server.url}/api/v1/datasets/{ds}/zip",
        headers={"Origin": gemini_server.url},
        multipart={
            "file": {
                "name": "signs.zip",
                "mimeType": "application/zip",
                "buffer": archive.read_bytes(),
            }
        },
    )
    assert response.ok, response.text()
    job = api_json(
        page,
        gemini_server,
        "POST",
        "/jobs",
        {
            "mode": "automatic",
            "dataset_id": ds,
            "prompt": "[[shift:0.2]] the same scene",
            "variations": 2,
            "model": "gemini-2.5-flash-image",
        },
    )
    page.goto(f"{gemini_server.url}/jobs/view/?id={job['id']}")
    wait_for_job_status(page, "Completed")
    tiles = page.locator("[data-tile]")
    expect(tiles).to_have_count(6)
    expect(page.locator("[data-flag=label_unsafe]")).to_have_count(6)
    expect(page.get_by_test_id("job-quality")).to_contain_text("6 layout moved")
    page.get_by_label("Filter by review and flags").click()
    page.get_by_role("option", name=re.compile(r"^Layout moved \(6\)")).click()
    expect(tiles).to_have_count(6)
    tiles.first.click()
    overlay = page.get_by_role("dialog").get_by_test_id("label-overlay")
    expect(overlay.locator("rect")).to_have_count(2)  # the carried boxes, drawn over the image
    expect(overlay).to_contain_text("sign")
    flags = page.get_by_role("dialog").get_by_test_id("lightbox-flags")
    expect(flags).to_contain_text("Layout moved (labels unsafe)")
    expect(flags).to_contain_text("the content moved by")
    wait_for_animations(page)
    screenshot(page, "lightbox-layout-flag", full_page=False)
    page.keyboard.press("r")  # reject from the lightbox; it moves to the next image
    page.keyboard.press("Escape")
    expect(tiles.first).to_have_attribute("data-review", "rejected")
