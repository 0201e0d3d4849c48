"""A job that a CLI run left paused on Ctrl-C or SIGTERM says "Interrupted" in the web
UI (dashboard and job page), and resumes like any paused job."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_web import api_json

pytestmark = pytest.mark.e2e


def test_an_interrupted_job_says_so(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/")
    job = api_json(
        page,
        server,
        "POST",
        "/jobs",
        {"mode": "semi_auto", "name": "Stopped by Ctrl-C", "model": "classic",
         "prompts": [{"prompt": "a poster", "count": 400}]},
    )  # fmt: skip
    api_json(page, server, "POST", f"/jobs/{job['id']}/pause")
    # what `bananabatch run` does on Ctrl-C (services.job_refs.mark_interrupted)
    with sqlite3.connect(server.data_dir / "bananabatch.db") as db:
        db.execute(
            "update jobs set interrupted_at = datetime('now'), revision = revision + 1 "
            "where id = ?",
            (job["id"],),
        )
    page.goto(f"{server.url}/")
    row = page.get_by_role("row").filter(has_text="Stopped by Ctrl-C")
    expect(row.locator("[data-status=paused]").first).to_have_text("Interrupted")
    page.goto(f"{server.url}/jobs/view/?id={job['id']}")
    expect(page.locator("[data-status=paused]").first).to_have_text("Interrupted")
    api_json(page, server, "POST", f"/jobs/{job['id']}/resume")
    assert api_json(page, server, "GET", f"/jobs/{job['id']}")["interrupted_at"] is None
