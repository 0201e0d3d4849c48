"""The dataset library and job housekeeping through the real CLI entry point: a
re-run of the same folder reuses the stored dataset, a stored dataset is picked by
id or prefix, rename/show/delete, `jobs delete` with the space it frees, and no empty
dataset is left by a folder without images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bananabatch.cli import EXIT_BAD_INPUT, EXIT_OK, app
from bananabatch.config import get_settings
from bananabatch.db.models import Dataset, Job
from bananabatch.runtime import build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import AutomaticJobCreate
from tests.imagegen import make_dataset

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


def _rows() -> tuple[list[Dataset], list[Job]]:
    rt = build_runtime(get_settings())
    try:
        with rt.session_factory() as s:
            return list(s.query(Dataset).order_by(Dataset.created_at)), list(
                s.query(Job).order_by(Job.created_at)
            )
    finally:
        rt.engine.dispose()


def _flat(output: str) -> str:
    return " ".join(output.split())


def test_reuse_pick_rename_and_delete_through_the_cli(cli_env: Path) -> None:
    make_dataset(cli_env / "pets", {"cat": 2, "dog": 1})
    runner = CliRunner()
    run = ["run", "automatic", "--prompt", "{fog|snow} {class}"]
    first = runner.invoke(app, [*run[:2], str(cli_env / "pets"), *run[2:]])
    assert first.exit_code == EXIT_OK, first.output
    second = runner.invoke(app, [*run[:2], str(cli_env / "pets"), *run[2:]])
    assert second.exit_code == EXIT_OK, second.output
    assert "already stored as dataset 'pets'" in _flat(second.output)
    (dataset,), jobs = _rows()
    assert [j.dataset_id for j in jobs] == [dataset.id, dataset.id]

    # A stored dataset by a unique prefix in place of the path, or by --dataset-id.
    by_prefix = runner.invoke(app, [*run[:2], dataset.id[:6], *run[2:]])
    assert by_prefix.exit_code == EXIT_OK, by_prefix.output
    assert f"Using stored dataset {dataset.id}" in _flat(by_prefix.output)
    by_option = runner.invoke(app, [*run, "--dataset-id", dataset.id])
    assert by_option.exit_code == EXIT_OK, by_option.output
    assert len(_rows()[1]) == 4 and len(_rows()[0]) == 1

    listed = runner.invoke(app, ["datasets", "list"])
    assert listed.exit_code == 0, listed.output
    assert dataset.id in listed.output and "cat, dog" in listed.output
    assert "folders" in listed.output

    renamed = runner.invoke(app, ["datasets", "rename", dataset.id[:8], "Pets 2026"])
    assert renamed.exit_code == 0 and "Pets 2026" in renamed.output
    shown = runner.invoke(app, ["datasets", "show", dataset.id[:8]])
    assert shown.exit_code == 0, shown.output
    assert "Pets 2026" in shown.output and "3 image(s)" in shown.output
    assert "cat/000.jpg" in shown.output and jobs[0].id in shown.output

    refused = runner.invoke(app, ["datasets", "delete", dataset.id, "--yes"])
    assert refused.exit_code == EXIT_BAD_INPUT
    assert "is used by 4 job(s)" in _flat(refused.output)

    for job in _rows()[1]:
        gone = runner.invoke(app, ["jobs", "delete", job.id, "--yes"])
        assert gone.exit_code == 0, gone.output
        assert "Deleted job" in gone.output and "freed" in gone.output
    assert not (cli_env / "data" / "storage" / "outputs").exists() or not any(
        (cli_env / "data" / "storage" / "outputs").rglob("*.png")
    )
    deleted = runner.invoke(app, ["datasets", "delete", dataset.id[:8]], input="y\n")
    assert deleted.exit_code == 0, deleted.output
    assert "Deleted dataset 'Pets 2026' (3 images)" in _flat(deleted.output)
    assert _rows() == ([], [])


def test_a_folder_without_images_leaves_no_dataset(cli_env: Path) -> None:
    folder = cli_env / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("not an image")
    (folder / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = CliRunner().invoke(app, ["run", "automatic", str(folder), "--prompt", "x"])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "No image of the upload could be used" in _flat(result.output)
    assert _rows() == ([], [])


def test_jobs_delete_refuses_a_job_that_still_runs(cli_env: Path) -> None:
    make_dataset(cli_env / "pets", {"cat": 1})
    runner = CliRunner()
    ok = runner.invoke(app, ["run", "automatic", str(cli_env / "pets"), "--prompt", "x"])
    assert ok.exit_code == EXIT_OK, ok.output
    (dataset,), _ = _rows()
    rt = build_runtime(get_settings())
    with rt.session_factory() as s:
        queued = job_service.create_job(
            s,
            rt.settings,
            rt.catalog,
            AutomaticJobCreate(dataset_id=dataset.id, prompt="x"),
            preflight=None,
            storage=rt.storage,
        ).job.id
    rt.engine.dispose()
    refused = runner.invoke(app, ["jobs", "delete", queued, "--yes"])
    assert refused.exit_code == EXIT_BAD_INPUT
    assert f"bananabatch jobs cancel {queued}" in _flat(refused.output)
    assert runner.invoke(app, ["jobs", "cancel", queued]).exit_code == 0
    assert runner.invoke(app, ["jobs", "delete", queued, "--yes"]).exit_code == 0
    missing = runner.invoke(app, ["jobs", "delete", queued, "--yes"])
    assert missing.exit_code == EXIT_BAD_INPUT and "does not exist" in missing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "automatic", "nosuchthing", "--prompt", "x"], "neither a folder"),
        (["run", "automatic", "--prompt", "x"], "--dataset-id"),
        (["run", "automatic", ".", "--dataset-id", "abcd", "--prompt", "x"], "not both"),
        (["datasets", "show", "abcdef"], "No dataset has the id"),
        (["datasets", "delete", "ab", "--yes"], "No dataset has the id"),
    ],
)
def test_bad_dataset_references_exit_2(cli_env: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert message in _flat(result.output)
