"""The jobs dashboard on a phone (375 px wide): each job's status and progress stay on
screen, whole, without scrolling sideways."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Server, screenshot

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 812}


def _job(server: Server, count: int, name: str) -> str:
    body = {"mode": "semi_auto", "name": name, "prompts": [{"prompt": name, "count": count}]}
    r = httpx.post(f"{server.url}/api/v1/jobs", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_status_and_progress_fit_a_phone(server: Server, browser: Browser) -> None:
    done = _job(server, 4, "a finished phone job")
    paused = _job(server, 400, "a long job with a long name that a phone has to fit somehow")
    httpx.post(f"{server.url}/api/v1/jobs/{paused}/pause", timeout=30).raise_for_status()
    deadline = time.monotonic() + 60
    while httpx.get(f"{server.url}/api/v1/jobs/{done}", timeout=10).json()["status"] != (
        "completed"
    ):
        assert time.monotonic() < deadline, "the small job did not finish"
        time.sleep(0.3)

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/")
        expect(page.locator(f'tr[data-job-id="{paused}"]')).to_be_visible()
        screenshot(page, "dashboard-phone", full_page=False)
        for job_id, status in ((done, "completed"), (paused, "paused")):
            row = page.locator(f'tr[data-job-id="{job_id}"]')
            row.scroll_into_view_if_needed()
            badge = row.locator(f'[data-status="{status}"]').locator("visible=true")
            bar = row.get_by_role("progressbar")
            for element in (badge, bar):
                expect(element).to_have_count(1)
                expect(element).to_be_visible()
                expect(element).to_be_in_viewport(ratio=1)  # not clipped by a scroller
                box = element.bounding_box()
                assert box is not None and box["x"] >= 0
                assert box["x"] + box["width"] <= PHONE["width"], (job_id, box)
            expect(row.get_by_text("%").first).to_be_in_viewport(ratio=1)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways ({width} px)"
    finally:
        context.close()
