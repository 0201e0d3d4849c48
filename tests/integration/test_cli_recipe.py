"""`bananabatch jobs show` prints the job's whole recipe; `jobs retry` says which
failures will fail again (through the CLI's entry point, embedded engine)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bananabatch.cli import EXIT_OK, app
from bananabatch.config import get_settings
from bananabatch.db.models import Job, JobStatus, Output, OutputStatus
from bananabatch.runtime import build_runtime
from tests.imagegen import image_bytes

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BANANABATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _only_job_id() -> str:
    rt = build_runtime(get_settings())
    try:
        with rt.session_factory() as s:
            return s.scalars(select(Job.id)).one()
    finally:
        rt.engine.dispose()


def test_jobs_show_prints_the_recipe_and_retry_names_permanent_failures(cli_env: Path) -> None:
    for i in range(2):
        (cli_env / f"ref{i}.png").write_bytes(image_bytes(i, fmt="PNG"))
    runner = CliRunner()
    ran = runner.invoke(
        app,
        [
            "run", "semi-auto",
            "--ref", str(cli_env / "ref0.png"),
            "--ref", str(cli_env / "ref1.png"),
            "--prompt", "a {red|blue} kite over the sea",
            "--count", "3",
            "--seed", "777",
            "--aspect-ratio", "4:3",
            "--out", str(cli_env / "out"),
        ],
    )  # fmt: skip
    assert ran.exit_code == EXIT_OK, ran.output
    job_id = _only_job_id()

    shown = runner.invoke(app, ["jobs", "show", job_id])
    assert shown.exit_code == EXIT_OK, shown.output
    text = shown.output
    assert "prompt 1 (x3): a {red|blue} kite over the sea" in text
    assert "references: 2 (the model uses 1)" in text
    assert "(ignored by this model)" in text
    assert "uses only the first of the 2 reference images" in text
    assert "aspect ratio: 4:3" in text and "seed: 777" in text and "format: png" in text

    # two outputs failed: one for good (an invalid request), one by chance (a timeout)
    rt = build_runtime(get_settings())
    with rt.session_factory() as s:
        first, second = s.scalars(select(Output).order_by(Output.position).limit(2)).all()
        for o, kind, message in (
            (first, "invalid", "the request names an unsupported option"),
            (second, "transient", "timed out"),
        ):
            o.status, o.error_kind, o.error = OutputStatus.failed, kind, message
            o.storage_key = None
        s.get_one(Job, job_id).status = JobStatus.completed_with_errors
        s.commit()
    rt.engine.dispose()
    assert (
        "1 of 2 failed output(s) will fail again"
        in runner.invoke(app, ["jobs", "show", job_id]).output
    )

    retried = runner.invoke(app, ["jobs", "retry", job_id])
    assert retried.exit_code == EXIT_OK, retried.output
    assert "2 failed output(s) queued again" in retried.output
    assert "1 of 2 failed output(s) will fail again" in retried.output
    assert "unsupported option" in retried.output
