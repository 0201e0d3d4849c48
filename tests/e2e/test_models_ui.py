"""Model lifecycle in a real browser against a fake Gemini: the status page shows the
key's state and each model's lifecycle; the form's picker disables shut-down models
and warns about a deprecated one before and after the job is queued."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot

pytestmark = pytest.mark.e2e


def test_status_page_shows_the_key_state_and_model_lifecycles(
    page: Page, gemini_server: Server
) -> None:
    page.goto(f"{gemini_server.url}/status/")
    expect(page.get_by_text("Accepted by Google")).to_be_visible()
    usable = page.get_by_test_id("gemini-key-models")
    expect(usable).to_contain_text("Nano Banana 2.1, Nano Banana Pro (Gemini 3 Pro Image)")
    expect(usable).not_to_contain_text("3.8")  # the fake also lists a text model
    shut = page.get_by_test_id("model-row-gemini-3.1-flash-image")
    expect(shut).to_contain_text("Shut down on 2026-10-29 · use gemini-nano-banana-2.1")
    legacy = page.get_by_test_id("model-row-gemini-2.5-flash-image")
    expect(legacy).to_contain_text("Deprecated since 2026-09-18")
    current = page.get_by_test_id("model-row-gemini-nano-banana-2.1")
    expect(current).to_contain_text("Current")
    expect(current).to_contain_text("Batch API $0.0168 \u2013 $0.0567")
    screenshot(page, "status-models")


def test_the_picker_disables_shut_down_models_and_warns_about_deprecated_ones(
    page: Page, gemini_server: Server
) -> None:
    fake = gemini_server.gemini
    assert fake is not None
    page.goto(f"{gemini_server.url}/new/semi-auto/")
    expect(page.get_by_role("heading", name="New semi-automatic job")).to_be_visible()
    picker = page.get_by_label("Model", exact=True)
    expect(picker).to_contain_text("Nano Banana 2.1")  # the server's default
    picker.click()
    shut = page.get_by_role("option", name="Nano Banana 2 (Gemini 3.1 Flash Image)", exact=False)
    expect(shut.first).to_be_disabled()
    expect(shut.first).to_contain_text("Shut down on 2026-10-29")
    page.get_by_role("option", name="Nano Banana (Gemini 2.5 Flash Image, legacy)").click()
    expect(page.get_by_test_id("model-lifecycle")).to_contain_text(
        "Deprecated since 2026-09-18 · use gemini-nano-banana-2.1"
    )
    page.get_by_test_id("prompt-row").first.get_by_role("textbox").fill("a red kite")
    page.get_by_test_id("prompt-row").first.get_by_label("Images").fill("1")
    expect(page.get_by_text("gemini-2.5-flash-image is deprecated").first).to_be_visible()
    screenshot(page, "form-deprecated-model")
    page.get_by_label("Job name").fill("Legacy kite")
    page.get_by_role("button", name="Queue job").click()
    expect(page.get_by_test_id("queued-alert")).to_contain_text("Legacy kite")
    expect(page.get_by_text("Note", exact=True).first).to_be_visible()  # the warning toast
