"""The job's recipe on screen, states that look right, and prompts at the edge, in a
real browser against `bananabatch serve` (classic provider).

- the semi-automatic form says the classic model ignores all but the first reference
  before the job starts; the job page then shows the prompt, the references as
  thumbnails (the ignored one marked), the seed; each tile's title is its prompt;
- the automatic job page shows the base, per-class and per-image (CSV) prompts;
- a paused job's pending tiles say "Paused" and do not spin; right after a cancel the
  counts on the page add up to the total and in-flight outputs read "cancelling";
- a too-long prompt is counted at the field, the box stops growing, and the server's
  answer for that field is shown at the field.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_web import api_json, make_references, wait_for_job_status

pytestmark = pytest.mark.e2e

SEED = 424242


def _upload_asset(page: Page, server: Server, path: Path, dataset_id: str | None = None) -> str:
    url = f"{server.url}/api/v1/" + (f"datasets/{dataset_id}/files" if dataset_id else "assets")
    name = path.name if dataset_id is None else f"{path.parent.name}/{path.name}"
    r = page.request.post(
        url,
        headers={"Origin": server.url},
        multipart={"files": {"name": name, "mimeType": "image/png", "buffer": path.read_bytes()}},
    )
    assert r.ok, r.text()
    return str(r.json()["accepted"][0]["asset_id"])


def test_semi_auto_recipe_with_references_and_seed(
    page: Page, server: Server, tmp_path: Path
) -> None:
    refs = make_references(tmp_path)
    page.goto(f"{server.url}/new/semi-auto/")
    page.get_by_test_id("references-files-input").set_input_files([str(p) for p in refs])
    expect(page.get_by_test_id("reference-count")).to_have_text("2 / 14 for Classic augmentation")
    prompt = "Studio shot of the product on a {marble|oak} table, soft light"
    page.get_by_label("Prompt", exact=True).fill(prompt)
    # Before the job exists: the field says the second reference will be ignored.
    warning = page.get_by_test_id("reference-warning")
    expect(warning).to_contain_text("uses only the first of the 2 reference images")
    page.get_by_label("Job name").fill("Recipe check")
    page.get_by_role("button", name="Advanced").click()
    page.get_by_label("Seed", exact=True).fill(str(SEED))
    screenshot(page, "new-semi-auto-reference-warning")
    page.get_by_role("button", name="Queue job").click()
    link = page.get_by_test_id("queued-jobs").get_by_role("link").first
    href = link.get_attribute("href")
    assert href
    page.goto(f"{server.url}{href}")
    wait_for_job_status(page, "Completed")

    recipe = page.get_by_test_id("job-recipe")
    expect(recipe.get_by_test_id("recipe-prompt")).to_have_text(prompt)
    expect(recipe.get_by_test_id("recipe-seed")).to_have_text(str(SEED))
    thumbs = recipe.get_by_test_id("recipe-reference")
    expect(thumbs).to_have_count(2)
    expect(thumbs.nth(0)).to_have_attribute("data-used", "true")
    expect(thumbs.nth(1)).to_have_attribute("data-used", "false")
    for i in range(2):  # real thumbnails, loaded
        page.wait_for_function(
            "el => el.complete && el.naturalWidth > 0", arg=thumbs.nth(i).element_handle()
        )
    expect(recipe.get_by_test_id("recipe-reference-warning")).to_contain_text("only the first")
    expect(recipe).to_contain_text("Classic")

    # Each tile carries the prompt it was rendered with (the wildcard resolved).
    job_id = href.split("id=")[1]
    outputs = api_json(page, server, "GET", f"/jobs/{job_id}/outputs?limit=4")["items"]
    tile = page.locator(f'[data-tile][data-output-id="{outputs[0]["id"]}"]')
    expect(tile).to_have_attribute("title", outputs[0]["prompt"])
    assert re.fullmatch(
        r"Studio shot of the product on a (marble|oak) table, soft light", outputs[0]["prompt"]
    )
    screenshot(page, "job-recipe-semi-auto")


def test_automatic_recipe_shows_every_prompt(page: Page, server: Server, tmp_path: Path) -> None:
    page.goto(f"{server.url}/")
    ds = api_json(page, server, "POST", "/datasets", {"name": "recipe pets"})["id"]
    for cls, color in (("cat", (200, 90, 40)), ("dog", (40, 90, 200))):
        folder = tmp_path / cls
        folder.mkdir()
        Image.new("RGB", (96, 72), color).save(folder / "a.png")
        _upload_asset(page, server, folder / "a.png", ds)
    job = api_json(
        page,
        server,
        "POST",
        "/jobs",
        {
            "mode": "automatic",
            "name": "Automatic recipe",
            "dataset_id": ds,
            "prompt": "A photo of a {class} in {rain|snow}",
            "per_class_prompts": {"dog": "A dog at {dawn|dusk}, same framing"},
            "prompts_csv": "path,prompt\ncat/a.png,A cat in fog\n",
            "variations": 2,
            "seed": SEED,
        },
    )
    page.goto(f"{server.url}/jobs/view/?id={job['id']}")
    recipe = page.get_by_test_id("job-recipe")
    expect(recipe.get_by_test_id("recipe-prompt")).to_have_text(
        "A photo of a {class} in {rain|snow}"
    )
    expect(recipe.get_by_test_id("recipe-class-prompts")).to_contain_text(
        "A dog at {dawn|dusk}, same framing"
    )
    expect(recipe.get_by_test_id("recipe-csv")).to_contain_text("cat/a.png")
    expect(recipe.get_by_test_id("recipe-csv")).to_contain_text("A cat in fog")
    expect(recipe.get_by_test_id("recipe-seed")).to_have_text(str(SEED))
    expect(recipe).to_contain_text("2 per image")
    wait_for_job_status(page, "Completed")
    screenshot(page, "job-recipe-automatic")


def test_paused_tiles_do_not_spin_and_counts_add_up_after_cancel(
    page: Page, server: Server, tmp_path: Path
) -> None:
    page.goto(f"{server.url}/")
    asset = _upload_asset(page, server, make_references(tmp_path)[0])
    job = api_json(
        page,
        server,
        "POST",
        "/jobs",
        {
            "mode": "semi_auto",
            "name": "Pause and cancel",
            "model": "classic",
            "reference_asset_ids": [asset],
            "prompts": [{"prompt": "variant {a|b|c}", "count": 400}],
        },
    )
    job_id = job["id"]
    api_json(page, server, "POST", f"/jobs/{job_id}/pause")
    page.goto(f"{server.url}/jobs/view/?id={job_id}")
    wait_for_job_status(page, "Paused")
    pending = page.locator("[data-tile][data-status=pending]")
    expect(pending.first).to_be_visible()
    expect(page.locator("[data-pending-state=paused]").first).to_be_visible()
    expect(page.locator("[data-pending-state=generating]")).to_have_count(0)
    expect(page.get_by_test_id("gallery").locator(".animate-spin")).to_have_count(0)
    expect(page.get_by_test_id("filter-pending")).to_contain_text("Paused")
    expect(page.get_by_test_id("job-counts")).to_contain_text("paused")
    screenshot(page, "job-paused-tiles", full_page=False)

    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_test_id("job-status")).not_to_contain_text("Paused")
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Cancel job").click()
    wait_for_job_status(page, "Cancelled")

    # Right after the cancel, whatever the moment: the page's numbers add up.
    for _ in range(4):
        bar = page.get_by_role("progressbar", name="Job progress")
        text = bar.get_attribute("aria-valuetext") or ""
        succeeded, failed, blocked, total = (
            int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)
        )
        counts = page.get_by_test_id("job-counts").inner_text()
        pending_n, blocked_again, cancelled = (
            int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", counts)
        )
        assert blocked_again == blocked
        assert succeeded + failed + blocked + cancelled + pending_n == total == 400, (text, counts)
        if pending_n:  # in flight: never "pending" with a cancelled job
            assert "cancelling" in counts
            expect(page.get_by_test_id("progress-state").first).to_contain_text("cancelling")
            tabs = page.get_by_test_id("filter-pending").all_inner_texts()  # gone once settled
            assert all("Cancelling" in t for t in tabs), tabs
        assert "pending" not in counts
        page.wait_for_timeout(300)
    screenshot(page, "job-cancelled-counts", full_page=False)


def test_prompt_counter_limit_and_server_error_at_the_field(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/new/semi-auto/")
    field = page.get_by_label("Prompt", exact=True)
    counter = page.get_by_test_id(re.compile(r"^prompt-.*-count$")).first
    field.fill("A lighthouse at dusk")
    expect(counter).to_have_text("20 / 8,000")
    box = field.bounding_box()
    assert box is not None and box["height"] < 200

    field.fill("word " * 11_200)  # 56,000 characters, as a pasted document
    expect(counter).to_have_text("56,000 / 8,000")
    expect(page.get_by_text("48,000 characters over the limit of 8,000")).to_be_visible()
    box = field.bounding_box()
    assert box is not None and box["height"] <= 260, box  # scrolls instead of growing
    # The server's answer for this field is shown at the field (from the estimate).
    issues = page.locator("[id^=prompt-][id$=-issues]").first
    expect(issues).to_contain_text("56,000 characters; the limit is 8,000", timeout=10_000)
    expect(page.get_by_role("button", name="Queue job")).to_be_disabled()
    screenshot(page, "new-semi-auto-prompt-too-long", full_page=False)
