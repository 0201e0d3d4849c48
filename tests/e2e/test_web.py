"""The web UI in a real browser against a real `bananabatch serve` (classic provider).

Both workflows end to end as a new user would run them: upload a folder of 50
images in 2 classes, watch the automatic job complete, check the gallery groups
and the before/after view, download the ZIP and check its tree and manifest;
queue two semi-automatic jobs (2 references, count 40) and check their 10 runs
of 4; pause, resume and cancel a large job; log in when a password is set.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot

pytestmark = pytest.mark.e2e

JOB_TIMEOUT_MS = 180_000
CLASSES = {"cat": (214, 120, 60), "dog": (60, 120, 214)}
PER_CLASS = 25


def make_dataset(root: Path) -> Path:
    """pets/cat/cat_000.png ... pets/dog/dog_024.png: 50 small distinct images."""
    base = root / "pets"
    for cls, color in CLASSES.items():
        folder = base / cls
        folder.mkdir(parents=True)
        for i in range(PER_CLASS):
            im = Image.new("RGB", (160, 120), color)
            d = ImageDraw.Draw(im)
            d.ellipse((20 + i * 2, 20, 100 + i * 2, 100), fill=(250, 250, 240))
            d.rectangle((120, 10 + i * 3, 150, 30 + i * 3), fill=(30, 30, 30))
            im.save(folder / f"{cls}_{i:03d}.png")
    # Clutter a real folder has: skipped, never uploaded (.txt would be kept: YOLO labels).
    (base / "notes.md").write_text("labels live elsewhere")
    # A damaged image: uploaded, refused by the server, listed with its error.
    (base / "dog" / "corrupt.png").write_bytes(b"this is not a PNG at all")
    return base


def make_references(root: Path) -> list[Path]:
    paths = []
    for name, color in (("product.png", (240, 200, 40)), ("style.png", (40, 160, 120))):
        im = Image.new("RGB", (200, 200), color)
        ImageDraw.Draw(im).polygon([(100, 20), (180, 180), (20, 180)], fill=(255, 255, 255))
        path = root / name
        im.save(path)
        paths.append(path)
    return paths


def api_json(page: Page, server: Server, method: str, path: str, body: Any = None) -> Any:
    """Call the API with the page's cookies (and an Origin, as a browser would)."""
    response = page.request.fetch(
        f"{server.url}/api/v1{path}",
        method=method,
        headers={"Origin": server.url, "Content-Type": "application/json"},
        data=json.dumps(body) if body is not None else None,
    )
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def wait_for_job_status(page: Page, text: str) -> None:
    expect(page.get_by_test_id("job-status")).to_contain_text(text, timeout=JOB_TIMEOUT_MS)


def test_automatic_job_from_a_folder(page: Page, server: Server, tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path)
    page.goto(f"{server.url}/new/automatic/")
    expect(page.get_by_role("heading", name="New automatic job")).to_be_visible()

    # A folder through the webkitdirectory input: relative paths are kept.
    page.get_by_test_id("dataset-folder-input").set_input_files(str(dataset))
    expect(page.get_by_test_id("upload-complete")).to_have_text(
        "Uploaded 50 of 51 files", timeout=90_000
    )
    page.get_by_role("tab", name="Problems (1)").click()
    problems = page.get_by_role("list", name="Files with problems").get_by_role("listitem")
    expect(problems).to_have_count(1)
    expect(problems.first).to_contain_text("dog/corrupt.png")
    expect(page.get_by_text("1 file skipped: it is not an image")).to_be_visible()
    classes = page.get_by_test_id("detected-classes")
    expect(classes).to_contain_text("2 classes detected")
    expect(classes).to_contain_text("stored on the server", timeout=10_000)
    chips = [re.sub(r"\s+", "", t) for t in classes.locator("li").all_inner_texts()]
    assert chips == ["cat25", "dog25"]

    page.get_by_label("Base prompt").fill("A photo of a {class} on a {sunny|rainy} day")
    preview = page.get_by_test_id("prompt-preview")
    expect(preview).to_contain_text("cat/cat_000.png")
    expect(preview).to_contain_text(re.compile(r"A photo of a cat on a (sunny|rainy) day"))
    expect(page.get_by_test_id("estimate-outputs")).to_have_text("100 images")
    expect(page.get_by_test_id("estimate-cost")).to_have_text("Free")
    page.get_by_label("Include the originals in the ZIP").click()
    page.get_by_label("Job name").fill("Pets augmentation")
    page.get_by_role("button", name=re.compile("^Advanced")).click()
    page.get_by_label("Seed", exact=True).fill("1234")
    page.get_by_label("dog", exact=True).fill("A {class} in the snow")
    screenshot(page, "new-automatic-job")
    page.set_viewport_size({"width": 1280, "height": 720})  # a laptop screen
    screenshot(page, "new-automatic-job-laptop", full_page=False)
    page.set_viewport_size({"width": 1440, "height": 900})

    page.get_by_role("button", name="Start job").click()
    page.wait_for_url(re.compile(r"/jobs/view/\?id=\w+"))
    expect(page.get_by_test_id("job-title")).to_have_text("Pets augmentation")
    wait_for_job_status(page, "Completed")
    job_id = page.url.split("id=")[1]

    # Gallery: folder -> source image -> its 2 variations beside the original.
    expect(page.get_by_test_id("batch-name").first).to_have_text("cat")
    first = page.get_by_test_id("source-row").first
    expect(first).to_have_attribute("data-source", "cat/cat_000.png")
    expect(first.locator("[data-tile]")).to_have_count(2)
    expect(first.locator("[data-tile][data-status=succeeded]")).to_have_count(2)
    expect(first.get_by_alt_text("Original cat_000.png")).to_be_visible()
    screenshot(page, "job-automatic", full_page=False)

    # Virtualized: the end of the list renders once scrolled to.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    last = page.get_by_test_id("source-row").last
    expect(last).to_have_attribute("data-source", "dog/dog_024.png")
    rendered = page.get_by_test_id("source-row").count()
    assert rendered < 50, f"all {rendered} rows rendered: the gallery is not virtualized"
    page.evaluate("window.scrollTo(0, 0)")

    # One class at a time through the batch filter.
    page.get_by_label("Filter by batch").click()
    page.get_by_role("option", name="dog").click()
    expect(page.get_by_test_id("batch-name")).to_have_text(["dog"])
    expect(page.get_by_test_id("source-row").first).to_have_attribute(
        "data-source", "dog/dog_000.png"
    )
    page.get_by_label("Filter by batch").click()
    page.get_by_role("option", name="All batches").click()
    expect(page.get_by_test_id("batch-name").first).to_have_text("cat")

    # Before/after compare of the first source image.
    page.get_by_role("button", name="Compare cat_000.png before and after").click()
    dialog = page.get_by_role("dialog")
    compare = dialog.get_by_test_id("before-after")
    expect(compare).to_be_visible()
    expect(compare.get_by_alt_text("Original")).to_be_visible()
    page.wait_for_function(
        "Array.from(document.querySelectorAll('[data-testid=before-after] img'))"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    expect(dialog).to_contain_text("cat_000.png · variation 1")
    expect(dialog).to_contain_text("Classic augmentation")
    expect(dialog).to_contain_text("cat/cat_000__v1.png")
    screenshot(page, "lightbox-before-after", full_page=False)
    page.get_by_role("tab", name="Result").click()
    page.keyboard.press("ArrowRight")
    expect(dialog).to_contain_text("cat_000.png · variation 2")
    expect(dialog).to_contain_text(re.compile(r"A photo of a cat on a (sunny|rainy) day"))
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    # Keyboard: arrows move between tiles, Enter opens the lightbox.
    tiles = page.get_by_test_id("source-row").first.locator("[data-tile]")
    tiles.first.focus()
    page.keyboard.press("ArrowRight")
    expect(tiles.nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_contain_text("cat_000.png · variation 2")
    page.keyboard.press("Escape")

    # A selection downloads as its own ZIP.
    page.get_by_role("button", name="Select", exact=True).click()
    for label in ("cat_000.png variation 1", "cat_001.png variation 2", "cat_002.png variation 1"):
        page.get_by_role("button", name=re.compile(f"^{re.escape(label)}, ")).click()
    expect(page.get_by_text("3 selected")).to_be_visible()
    page.get_by_role("button", name="Download").click()
    with page.expect_download(timeout=60_000) as selection_info:
        page.get_by_role("menuitem", name="Selection (3)").click()
    selection_zip = tmp_path / "selection.zip"
    selection_info.value.save_as(selection_zip)
    with zipfile.ZipFile(selection_zip) as zf:
        picked = {n for n in zf.namelist() if not n.startswith("manifest.")}
    assert {"cat/cat_000__v1.png", "cat/cat_001__v2.png", "cat/cat_002__v1.png"} <= picked
    page.get_by_role("button", name="Done").click()

    # Status filter.
    page.get_by_test_id("filter-succeeded").click()
    expect(page.get_by_test_id("filter-succeeded")).to_contain_text("100")

    # Download the whole job and check its tree and manifests.
    page.get_by_role("button", name="Download").click()
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("menuitem", name="Whole job").click()
    archive = tmp_path / "job.zip"
    info.value.save_as(archive)
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        expected = {"manifest.jsonl", "manifest.csv"}
        for cls in CLASSES:
            for i in range(PER_CLASS):
                stem = f"{cls}/{cls}_{i:03d}"
                expected |= {f"{stem}.png", f"{stem}__v1.png", f"{stem}__v2.png"}
        assert names == expected
        rows = [json.loads(line) for line in zf.read("manifest.jsonl").decode().splitlines()]
        csv_rows = list(csv.DictReader(io.StringIO(zf.read("manifest.csv").decode("utf-8-sig"))))
        with zf.open("dog/dog_007__v2.png") as fh:
            assert Image.open(fh).size == (160, 120)
    assert len(rows) == 101 and len(csv_rows) == 101
    # the upload's refused file is listed too (no image, status "refused")
    refused = [r for r in rows if r["status"] == "refused"]
    assert [r["source_path"] for r in refused] == ["dog/corrupt.png"]
    rows = [r for r in rows if r["status"] != "refused"]
    assert {r["status"] for r in rows} == {"succeeded"}
    assert {r["job_id"] for r in rows} == {job_id}
    assert {r["archive_path"] for r in rows} == {n for n in expected if "__v" in n}
    by_path = {r["archive_path"]: r for r in rows}
    assert by_path["cat/cat_003__v1.png"]["source_path"] == "cat/cat_003.png"
    assert by_path["cat/cat_003__v1.png"]["batch"] == "cat"
    assert re.fullmatch(
        r"A photo of a cat on a (sunny|rainy) day", by_path["cat/cat_003__v1.png"]["prompt"]
    )
    # The per-class prompt replaced the base prompt for dogs only; the seed is the one given.
    assert {r["prompt"] for r in rows if r["batch"] == "dog"} == {"A dog in the snow"}
    assert api_json(page, server, "GET", f"/jobs/{job_id}")["seed"] == 1234


def test_dataset_from_a_zip(page: Page, server: Server, tmp_path: Path) -> None:
    archive = tmp_path / "birds.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for cls in ("owl", "wren"):
            for i in range(2):
                buf = io.BytesIO()
                Image.new("RGB", (64, 48), (90, 60 * i, 120)).save(buf, "PNG")
                zf.writestr(f"birds/{cls}/{cls}_{i}.png", buf.getvalue())
        zf.writestr("birds/wren/broken.png", b"nope")
    page.goto(f"{server.url}/new/automatic/")
    page.get_by_test_id("dataset-zip-input").set_input_files(str(archive))
    expect(page.get_by_test_id("upload-complete")).to_have_text(
        "Imported 4 images, 1 file refused.", timeout=60_000
    )
    refused = page.get_by_role("list", name="Refused files").get_by_role("listitem")
    expect(refused).to_have_count(1)
    expect(refused.first).to_contain_text("wren/broken.png")
    expect(refused.first).to_contain_text("not an image")
    chips = page.get_by_test_id("detected-classes").locator("li")
    expect(chips).to_have_count(2)
    assert [re.sub(r"\s+", "", t) for t in chips.all_inner_texts()] == ["owl2", "wren2"]
    expect(page.get_by_text("Write a prompt to see the estimate.")).to_be_visible()
    expect(page.get_by_role("button", name="Start job")).to_be_disabled()
    page.get_by_label("Base prompt").fill("A {class} on a branch")
    expect(page.get_by_test_id("estimate-outputs")).to_have_text("8 images")
    expect(page.get_by_role("button", name="Start job")).to_be_enabled()
    screenshot(page, "new-automatic-job-zip", full_page=False)


def test_two_semi_auto_jobs_in_runs_of_four(page: Page, server: Server, tmp_path: Path) -> None:
    refs = make_references(tmp_path)
    page.goto(f"{server.url}/new/semi-auto/")
    expect(page.get_by_role("heading", name="New semi-automatic job")).to_be_visible()
    expect(page.get_by_test_id("reference-count")).to_have_text("0 / 14 for Classic augmentation")
    page.get_by_test_id("references-files-input").set_input_files([str(p) for p in refs])
    expect(page.get_by_test_id("reference-count")).to_have_text("2 / 14 for Classic augmentation")
    expect(page.get_by_role("list", name="Reference images").get_by_role("img")).to_have_count(2)

    page.get_by_label("Prompt", exact=True).fill("Studio shot of the product, {red|blue} backdrop")
    expect(page.get_by_test_id("runs-label")).to_have_text("10 runs of 4")
    expect(page.get_by_test_id("estimate-outputs")).to_have_text("40 images")
    expect(page.get_by_test_id("estimate-tasks")).to_have_text("10 tasks")
    page.get_by_label("Job name").fill("Product shots A")
    screenshot(page, "new-semi-auto-job")

    page.get_by_role("button", name="Queue job").click()
    expect(page.get_by_test_id("queued-alert")).to_contain_text("Product shots A")
    # Queue another with the same references and settings, a different prompt.
    page.get_by_role("button", name="Queue another", exact=True).click()
    expect(page.get_by_test_id("reference-count")).to_have_text("2 / 14 for Classic augmentation")
    page.get_by_label("Prompt", exact=True).fill(
        "Lifestyle photo of the product in a {kitchen|garden}"
    )
    page.get_by_label("Job name").fill("Product shots B")
    page.get_by_role("button", name="Queue another job").click()
    expect(page.get_by_test_id("queued-alert")).to_contain_text("Product shots B")
    queued = page.get_by_test_id("queued-jobs").get_by_role("link")
    expect(queued).to_have_count(2)
    hrefs = [queued.nth(i).get_attribute("href") for i in range(2)]
    screenshot(page, "new-semi-auto-queued")

    page.set_viewport_size({"width": 1440, "height": 3400})  # all 10 runs on screen
    for n, href in enumerate(hrefs):
        assert href and href.startswith("/jobs/view/?id=")
        page.goto(f"{server.url}{href}")
        wait_for_job_status(page, "Completed")
        expect(page.get_by_test_id("batch-header")).to_have_count(1)
        runs = page.get_by_test_id("run-row")
        expect(runs).to_have_count(10)
        for i in range(10):
            expect(runs.nth(i)).to_contain_text(f"Run {i + 1}")
            expect(runs.nth(i).locator("[data-tile][data-status=succeeded]")).to_have_count(4)
        if n == 0:
            page.set_viewport_size({"width": 1440, "height": 900})
            screenshot(page, "job-semi-auto", full_page=False)
            page.set_viewport_size({"width": 1440, "height": 3400})
        job = api_json(page, server, "GET", f"/jobs/{href.split('id=')[1]}")
        assert job["counts"]["succeeded"] == 40
        assert job["total_tasks"] == 10
        assert len(job["reference_asset_ids"]) == 2
    page.set_viewport_size({"width": 1440, "height": 900})


def test_pause_resume_and_cancel_a_large_job(page: Page, server: Server, tmp_path: Path) -> None:
    page.goto(f"{server.url}/")
    ref = make_references(tmp_path)[0]
    upload = page.request.post(
        f"{server.url}/api/v1/assets",
        headers={"Origin": server.url},
        multipart={
            "files": {"name": ref.name, "mimeType": "image/png", "buffer": ref.read_bytes()}
        },
    )
    assert upload.ok, upload.text()
    asset_id = upload.json()["accepted"][0]["asset_id"]
    job = api_json(
        page,
        server,
        "POST",
        "/jobs",
        {
            "mode": "semi_auto",
            "name": "Large job to cancel",
            "model": "classic",
            "reference_asset_ids": [asset_id],
            "prompts": [{"prompt": f"variant {i}", "count": 1000} for i in range(5)],
        },
    )
    job_id = job["id"]

    page.goto(f"{server.url}/jobs/view/?id={job_id}")
    expect(page.get_by_test_id("job-title")).to_have_text("Large job to cancel")
    page.get_by_role("button", name="Pause").click()
    wait_for_job_status(page, "Paused")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    screenshot(page, "job-large-paused", full_page=False)
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_test_id("job-status")).not_to_contain_text("Paused")

    page.goto(f"{server.url}/")
    row = page.locator(f'[data-job-id="{job_id}"]')
    expect(row).to_contain_text("Large job to cancel")
    row.get_by_role("button", name="Actions for Large job to cancel").click()
    page.get_by_role("menuitem", name="Cancel job…").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("Cancel “Large job to cancel”?")
    confirm.get_by_role("button", name="Cancel job").click()
    expect(row).to_contain_text("Cancelled", timeout=20_000)
    expect(page.get_by_text("Job cancelled")).to_be_visible()

    # Tasks already in flight finish or stop; nothing stays pending for long.
    deadline = time.monotonic() + 30
    detail = api_json(page, server, "GET", f"/jobs/{job_id}")
    while detail["counts"]["pending"] and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        detail = api_json(page, server, "GET", f"/jobs/{job_id}")
    assert detail["status"] == "cancelled"
    assert detail["counts"]["pending"] == 0, detail["counts"]
    assert detail["counts"]["cancelled"] > 0
    assert detail["counts"]["succeeded"] < 5000
    screenshot(page, "dashboard")

    # The 5,000-output job: every page loads, the gallery stays virtualized.
    page.goto(f"{server.url}/jobs/view/?id={job_id}")
    wait_for_job_status(page, "Cancelled")
    expect(page.get_by_test_id("filter-cancelled")).to_contain_text(
        f"{detail['counts']['cancelled']:,}"
    )
    expect(page.get_by_test_id("gallery")).to_have_attribute("data-loaded", "all", timeout=90_000)
    expect(page.get_by_test_id("batch-name").first).to_have_text("variant 0")
    rendered = page.get_by_test_id("run-row").count()
    assert 0 < rendered < 60, f"{rendered} run rows rendered for 1,250 runs"
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    last_batch = detail["batches"][-1]
    assert last_batch["name"] == "variant 4"
    expect(page.get_by_test_id("run-row").last).to_have_attribute("data-batch-id", last_batch["id"])
    expect(page.get_by_test_id("run-row").last).to_contain_text("Run 250")
    screenshot(page, "job-large-cancelled", full_page=False)


def test_login_when_a_password_is_set(page: Page, auth_server: Server) -> None:
    page.goto(f"{auth_server.url}/status/")
    page.wait_for_url(re.compile(r"/login/\?next="))
    expect(page.get_by_role("heading", name="Sign in to BananaBatch")).to_be_visible()
    screenshot(page, "login")

    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="password")).to_contain_text(
        "That password is not right"
    )

    page.get_by_label("Password").fill(auth_server.password or "")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{auth_server.url}/status/")
    expect(page.get_by_role("heading", name="Status")).to_be_visible()
    expect(page.get_by_text("Password required")).to_be_visible()
    expect(page.get_by_text("Classic augmentation (offline)")).to_be_visible()
    screenshot(page, "status")

    page.goto(f"{auth_server.url}/")
    expect(page.get_by_text("No jobs yet")).to_be_visible()
    screenshot(page, "dashboard-empty")
    page.reload()
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login/"))
    page.goto(f"{auth_server.url}/jobs/view/?id=abc")
    page.wait_for_url(re.compile(r"/login/\?next=%2Fjobs%2Fview%2F%3Fid%3Dabc"))
