"""Labelled datasets from the command line: what was found is shown before the job
starts, the export is the dataset with labels, and `bananabatch review` rejects,
accepts and regenerates (priced, confirmed)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bananabatch.cli import EXIT_BAD_INPUT, EXIT_OK, app
from bananabatch.config import get_settings
from bananabatch.db.models import Job, Output
from bananabatch.runtime import build_runtime
from tests import labelled

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BANANABATCH_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _outputs() -> tuple[str, list[Output]]:
    rt = build_runtime(get_settings())
    with rt.session_factory() as s:
        job = s.scalars(select(Job)).one()
        outputs = list(s.scalars(select(Output).order_by(Output.position)))
    rt.engine.dispose()
    return job.id, outputs


def test_cli_yolo_run_review_and_export(cli_env: Path) -> None:
    built = labelled.yolo()
    built.files["labels/val/rocket.txt"] = b"4 0.5 0.5 0.1 0.1\n"
    labelled.write_tree(built, cli_env / "signs")
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["run", "automatic", str(cli_env / "signs"), "--prompt", "flip", "--variations", "2",
         "--out", str(cli_env / "out.zip")],
    )  # fmt: skip
    assert result.exit_code == EXIT_OK, result.output
    assert "YOLO detect dataset" in result.output
    assert "splits: train 3 augmented, val 1, test 1" in result.output
    assert "class id 4 is not in data.yaml's names" in result.output
    with zipfile.ZipFile(cli_env / "out.zip") as zf:
        names = set(zf.namelist())
    assert {f"labels/train/coffee__v{v}.txt" for v in (1, 2)} <= names
    assert "labels/val/rocket.txt" in names  # kept as it came

    job_id, outputs = _outputs()
    ids = [o.id for o in outputs]
    result = runner.invoke(app, ["review", job_id, "--reject", ids[0], "--accept", ids[1]])
    assert result.exit_code == EXIT_OK, result.output
    assert "1 output(s) rejected" in result.output and "1 output(s) accepted" in result.output
    assert "review: 1 accepted, 1 rejected, 4 unreviewed" in result.output

    result = runner.invoke(app, ["review", job_id, "--regenerate-rejected"], input="n\n")
    assert "Generate 1 rejected output(s) again for about $0.00" in result.output
    assert "Nothing was queued." in result.output
    result = runner.invoke(app, ["review", job_id, "--regenerate-rejected", "--yes"])
    assert result.exit_code == EXIT_OK, result.output
    assert "1 rejected output(s) queued again" in result.output
    _, after = _outputs()
    assert after[0].regenerations == 1 and after[0].status == "succeeded"
    assert [o.regenerations for o in after[1:]] == [0] * 5

    result = runner.invoke(app, ["review", job_id, "--accept-rest"])
    assert "5 output(s) accepted (the rest)" in result.output
    result = runner.invoke(
        app, ["jobs", "export", job_id, str(cli_env / "accepted.zip"), "--accepted-only"]
    )
    assert result.exit_code == EXIT_OK, result.output
    with zipfile.ZipFile(cli_env / "accepted.zip") as zf:
        rows = [json.loads(x) for x in zf.read("manifest.jsonl").splitlines()]
    assert len(rows) == 6 and {r["review"] for r in rows} == {"accepted"}


def test_cli_unknown_split_is_bad_input(cli_env: Path) -> None:
    labelled.write_tree(labelled.yolo(), cli_env / "signs")
    result = CliRunner().invoke(
        app,
        ["run", "automatic", str(cli_env / "signs"), "--prompt", "flip", "--split", "holdout"],
    )
    assert result.exit_code == EXIT_BAD_INPUT
    assert "no split named 'holdout'" in result.output
