"""Housekeeping in the browser against a real `bananabatch serve` (classic provider):
uploading a folder already stored reuses its dataset, a stored dataset is picked in
the automatic form, the Datasets page browses and refuses to delete a dataset in use,
a job is duplicated (the form prefilled with its recipe) and deleted (the space shown
before and freed after), and the upload step explains an empty selection, a folder
of non-images and nested sub-folders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_web import api_json, wait_for_job_status

pytestmark = pytest.mark.e2e


def make_folder(root: Path, name: str, classes: dict[str, int], hue: int) -> Path:
    """Small distinct PNGs; `hue` keeps each test's images apart from any other test's."""
    base = root / name
    for c, (cls, count) in enumerate(classes.items()):
        (base / cls).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            im = Image.new("RGB", (96, 72), (hue, 40 + 60 * c, 200 - i * 9))
            ImageDraw.Draw(im).rectangle((8 + i * 5, 8, 40 + i * 5, 40), fill=(250, 250, 250))
            im.save(base / cls / f"{cls}_{i:02d}.png")
    return base


def upload_folder(page: Page, server: Server, folder: Path, files: int) -> None:
    page.goto(f"{server.url}/new/automatic/")
    page.get_by_test_id("dataset-folder-input").set_input_files(str(folder))
    expect(page.get_by_test_id("upload-complete")).to_have_text(
        f"Uploaded {files} of {files} files", timeout=60_000
    )


def datasets_named(page: Page, server: Server, name: str) -> list[dict[str, object]]:
    items = api_json(page, server, "GET", "/datasets?limit=500")["items"]
    return [d for d in items if d["name"] == name]


def test_a_stored_dataset_is_reused_not_copied(page: Page, server: Server, tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "flowers", {"rose": 3, "tulip": 2}, hue=11)
    upload_folder(page, server, folder, 5)
    expect(page.get_by_test_id("detected-classes")).to_contain_text("stored on the server")
    assert len(datasets_named(page, server, "flowers")) == 1

    # The same folder again: the form says so and uses the stored dataset, no copy.
    upload_folder(page, server, folder, 5)
    expect(page.get_by_test_id("dataset-reused")).to_contain_text(
        "already stored as dataset 'flowers'", timeout=15_000
    )
    expect(page.get_by_test_id("dataset-name")).to_have_text("flowers")
    screenshot(page, "dataset-reused", full_page=False)
    (stored,) = datasets_named(page, server, "flowers")

    # A fresh form offers the stored dataset: pick it, nothing is uploaded.
    page.goto(f"{server.url}/new/automatic/")
    page.get_by_role("button", name="Use dataset flowers").first.click()
    expect(page.get_by_test_id("dataset-name")).to_have_text("flowers")
    expect(page.get_by_text("already uploaded, nothing to send")).to_be_visible()
    expect(page.get_by_test_id("dataset-folder-input")).to_have_count(0)
    page.get_by_label("Base prompt").fill("A {class} in {spring|autumn}")
    expect(page.get_by_test_id("estimate-outputs")).to_have_text("10 images")
    page.get_by_role("button", name="Start job").click()
    page.wait_for_url(re.compile(r"/jobs/view/\?id=\w+"))
    wait_for_job_status(page, "Completed")
    job_id = page.url.split("id=")[1]
    assert api_json(page, server, "GET", f"/jobs/{job_id}")["dataset_id"] == stored["id"]
    assert len(datasets_named(page, server, "flowers")) == 1

    # The Datasets page: classes, size and jobs; browse its thumbnails; delete is refused.
    page.get_by_role("link", name="Datasets").first.click()
    row = page.get_by_test_id("dataset-row").filter(has_text="flowers")
    expect(row).to_contain_text("5 images")
    expect(row).to_contain_text("1 job")
    expect(row.get_by_role("list", name="Classes")).to_contain_text("rose")
    row.get_by_role("button", name="Browse").click()
    expect(row.get_by_test_id("dataset-browser").locator("img")).to_have_count(5)
    screenshot(page, "datasets-page")
    row.get_by_role("button", name="Delete").click()
    detail = page.get_by_test_id("delete-dataset-detail")
    expect(detail).to_contain_text("1 job was made from it")
    expect(page.get_by_role("button", name="Delete dataset")).to_be_disabled()
    page.get_by_role("button", name="Keep it").click()


def test_duplicate_then_delete_a_job_freeing_its_space(
    page: Page, server: Server, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path, "leaves", {"oak": 2, "elm": 1}, hue=97)
    upload_folder(page, server, folder, 3)
    page.get_by_label("Base prompt").fill("A {class} leaf, {frosty|dewy}")
    page.get_by_label("Job name").fill("Leaves at dawn")
    page.get_by_role("button", name=re.compile("^Advanced")).click()
    page.get_by_role("textbox", name="Seed").fill("4242")
    page.get_by_role("button", name="Start job").click()
    page.wait_for_url(re.compile(r"/jobs/view/\?id=\w+"))
    wait_for_job_status(page, "Completed")
    job_id = page.url.split("id=")[1]

    # Duplicate: the automatic form, prefilled with the recipe and the same dataset.
    page.get_by_role("button", name="Duplicate").click()
    page.wait_for_url(re.compile(rf"/new/automatic/\?from={job_id}"))
    expect(page.get_by_label("Base prompt")).to_have_value("A {class} leaf, {frosty|dewy}")
    expect(page.get_by_label("Job name")).to_have_value("Leaves at dawn (copy)")
    expect(page.get_by_test_id("dataset-name")).to_have_text("leaves")
    page.get_by_role("button", name=re.compile("^Advanced")).click()
    expect(page.get_by_role("textbox", name="Seed")).to_have_value("4242")
    expect(page.get_by_test_id("estimate-outputs")).to_have_text("6 images")
    page.get_by_label("Base prompt").fill("A {class} leaf in the rain")  # editable
    page.get_by_role("button", name="Start job").click()
    page.wait_for_url(re.compile(r"/jobs/view/\?id=\w+"))
    copy_id = page.url.split("id=")[1]
    assert copy_id != job_id
    wait_for_job_status(page, "Completed")
    copy = api_json(page, server, "GET", f"/jobs/{copy_id}")
    assert copy["seed"] == 4242 and copy["name"] == "Leaves at dawn (copy)"

    # Delete the first job: the dialog shows its size, the toast what was freed.
    storage = api_json(page, server, "GET", f"/jobs/{job_id}/storage")
    assert storage["files"] == 12 and storage["bytes"] > 0  # 6 images + 6 thumbnails
    page.goto(f"{server.url}/jobs/view/?id={job_id}")
    wait_for_job_status(page, "Completed")
    page.get_by_role("button", name="Delete", exact=True).click()
    detail = page.get_by_test_id("delete-job-detail")
    expect(detail).to_contain_text("Its 12 files (outputs and thumbnails) take")
    screenshot(page, "delete-job-dialog", full_page=False)
    shown = re.search(r"take ([\d.]+ \w+)", detail.inner_text())
    assert shown is not None
    page.get_by_role("button", name="Delete job").click()
    page.wait_for_url(f"{server.url}/")
    expect(page.get_by_text(f"Freed {shown.group(1)} (12 files).")).to_be_visible()
    gone = page.request.get(f"{server.url}/api/v1/jobs/{job_id}")
    assert gone.status == 404
    files = [p for p in (server.data_dir / "storage" / "outputs").glob(f"{job_id}/**/*")]
    assert [p for p in files if p.is_file()] == []


def test_the_upload_step_explains_bad_selections(
    page: Page, server: Server, tmp_path: Path
) -> None:
    page.goto(f"{server.url}/new/automatic/")
    folder_input = page.get_by_test_id("dataset-folder-input")
    empty = tmp_path / "empty"
    empty.mkdir()
    folder_input.set_input_files(str(empty))
    expect(page.get_by_test_id("selection-note-empty")).to_contain_text(
        "The folder you chose is empty"
    )
    screenshot(page, "upload-empty-selection", full_page=False)

    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("todo.md", "report.pdf", "data.csv"):
        (notes / name).write_text("not an image")
    folder_input.set_input_files(str(notes))
    expect(page.get_by_test_id("selection-note-no_images")).to_contain_text(
        "None of the 3 files you chose is an image"
    )
    before = api_json(page, server, "GET", "/datasets?limit=500")["items"]

    nested = make_folder(tmp_path, "garden", {"rose": 2, "tulip": 1}, hue=173)
    (nested / "rose" / "red").mkdir()
    Image.new("RGB", (64, 48), (173, 10, 10)).save(nested / "rose" / "red" / "deep.png")
    folder_input.set_input_files(str(nested))
    expect(page.get_by_test_id("selection-note-nested")).to_contain_text(
        "merged into its top-level class (rose)"
    )
    expect(page.get_by_test_id("upload-complete")).to_have_text(
        "Uploaded 4 of 4 files", timeout=60_000
    )
    chips = page.get_by_test_id("detected-classes")
    expect(chips).to_contain_text("stored on the server", timeout=10_000)
    texts = [re.sub(r"\s+", "", t) for t in chips.locator("li").all_inner_texts()]
    assert texts == ["rose3", "tulip1"]
    after = api_json(page, server, "GET", "/datasets?limit=500")["items"]
    assert len(after) == len(before) + 1  # no empty dataset from the refused selections
