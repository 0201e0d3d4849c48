"""The headless CLI end to end (in-process through typer's runner): both modes,
the jobs commands and meaningful exit codes."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bananabatch.cli import EXIT_BAD_INPUT, EXIT_OK, app
from bananabatch.config import get_settings
from bananabatch.db.models import Dataset, Job
from bananabatch.orchestrator.lock import OrchestratorLock
from bananabatch.runtime import build_runtime
from tests.fakes.gemini_server import FakeGeminiServer
from tests.imagegen import image_bytes, make_dataset

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


def test_run_automatic_mirrors_the_dataset_into_a_folder(cli_env: Path) -> None:
    make_dataset(cli_env / "ds", {"cat": 3, "dog": 2})
    (cli_env / "ds" / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    result = CliRunner().invoke(
        app,
        [
            "run",
            "automatic",
            str(cli_env / "ds"),
            "--prompt",
            "{fog|snow} {class}",
            "--variations",
            "2",
            "--out",
            str(cli_env / "out"),
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "dog/broken.jpg" in result.output  # the bad file is named, the rest ran
    files = sorted(
        p.relative_to(cli_env / "out").as_posix()
        for p in (cli_env / "out").rglob("*")
        if p.is_file()
    )
    assert files == sorted(
        [f"cat/{i:03d}__v{v}.png" for i in range(3) for v in (1, 2)]
        + [f"dog/{i:03d}__v{v}.png" for i in range(2) for v in (1, 2)]
        + ["manifest.csv", "manifest.jsonl"]
    )
    rows = [
        json.loads(line) for line in (cli_env / "out" / "manifest.jsonl").read_text().splitlines()
    ]
    refused = [r for r in rows if r["status"] == "refused"]  # the manifest says why
    assert [r["source_path"] for r in refused] == ["dog/broken.jpg"]
    rows = [r for r in rows if r["status"] != "refused"]
    assert len(rows) == 10 and {r["status"] for r in rows} == {"succeeded"}
    assert all(r["prompt"].split()[0] in ("fog", "snow") for r in rows)


def test_run_semi_auto_to_zip_and_jobs_commands(cli_env: Path) -> None:
    for i in range(2):
        (cli_env / f"ref{i}.png").write_bytes(image_bytes(i, fmt="PNG"))
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "run",
            "semi-auto",
            "--ref",
            str(cli_env / "ref0.png"),
            "--ref",
            str(cli_env / "ref1.png"),
            "--prompt",
            "a lighthouse",
            "--count",
            "6",
            "--out",
            str(cli_env / "shots.zip"),
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    with zipfile.ZipFile(cli_env / "shots.zip") as z:
        assert z.testzip() is None
        images = sorted(n for n in z.namelist() if n.endswith(".png"))
        manifest = z.read("manifest.csv").decode()
    assert images == [
        "01-a-lighthouse/run-001/image-1.png",
        "01-a-lighthouse/run-001/image-2.png",
        "01-a-lighthouse/run-001/image-3.png",
        "01-a-lighthouse/run-001/image-4.png",
        "01-a-lighthouse/run-002/image-1.png",
        "01-a-lighthouse/run-002/image-2.png",
    ]
    assert manifest.count("\n") == 7  # header + 6 rows

    listed = runner.invoke(app, ["jobs", "list"])
    assert listed.exit_code == 0 and "6/6" in listed.output
    rt = build_runtime(get_settings())
    with rt.session_factory() as s:
        job_id = s.query(Job).one().id
    rt.engine.dispose()
    assert job_id in listed.output  # the whole id, even in a narrow terminal
    shown = runner.invoke(app, ["jobs", "show", job_id])
    assert shown.exit_code == 0 and "succeeded 6" in shown.output
    again = runner.invoke(app, ["jobs", "cancel", job_id])
    assert again.exit_code == EXIT_BAD_INPUT and "already completed" in again.output
    exported = runner.invoke(app, ["jobs", "export", job_id, str(cli_env / "again.zip")])
    assert exported.exit_code == 0
    with zipfile.ZipFile(io.BytesIO((cli_env / "again.zip").read_bytes())) as z:
        assert len([n for n in z.namelist() if n.endswith(".png")]) == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "automatic", "missing-folder", "--prompt", "x"], "does not exist"),
        (
            ["run", "semi-auto", "--prompt", "x", "--model", "gemini-2.5-flash-image"],
            "GEMINI_API_KEY",
        ),
        (["run", "semi-auto", "--prompt", "{unclosed", "--count", "4"], "character"),
        (["run", "semi-auto", "--prompt", "x", "--model", "dall-e-3"], "Unknown model"),
        (
            ["run", "semi-auto", "--prompt", "x", "--model", "gemini-3-pro-image-preview"],
            "was shut down on 2026-06-25",
        ),
        (["jobs", "show", "nope"], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    cli_env: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert message.lower() in " ".join(result.output.split()).lower()


@pytest.mark.parametrize(
    ("content", "message"), [(None, "cannot read"), (b"path,prompt\ncat/1.jpg,caf\xe9\n", "UTF-8")]
)
def test_unreadable_prompts_csv_exits_2_before_uploading(
    cli_env: Path, content: bytes | None, message: str
) -> None:
    """Was a traceback with exit 1 ("some outputs failed") after the dataset was uploaded."""
    make_dataset(cli_env / "photos", {"cat": 2})
    csv = cli_env / "prompts.csv"
    if content is not None:
        csv.write_bytes(content)
    result = CliRunner().invoke(
        app,
        ["run", "automatic", str(cli_env / "photos"), "--prompt", "x", "--prompts-csv", str(csv)],
    )
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert message in " ".join(result.output.split())
    assert not (cli_env / "data" / "bananabatch.db").exists() or _job_count() == 0


def _job_count() -> int:
    rt = build_runtime(get_settings())
    try:
        with rt.session_factory() as s:
            return s.query(Job).count()
    finally:
        rt.engine.dispose()


def test_run_refuses_before_creating_anything_when_another_process_schedules(
    cli_env: Path,
) -> None:
    """A `serve` holding the data dir's lock would otherwise run the CLI's job itself,
    after the CLI had already said "error" and exited 2 ("nothing started")."""
    make_dataset(cli_env / "photos", {"cat": 2})
    holder = OrchestratorLock(cli_env / "data" / "orchestrator.lock")
    holder.acquire()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["run", "automatic", str(cli_env / "photos"), "--prompt", "x"])
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        assert "Another BananaBatch process" in " ".join(result.output.split())
        result = runner.invoke(app, ["run", "semi-auto", "--prompt", "x", "--count", "1"])
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        assert _job_count() == 0
        rt = build_runtime(get_settings())
        with rt.session_factory() as s:
            assert s.query(Dataset).count() == 0
        rt.engine.dispose()
    finally:
        holder.release()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BANANABATCH_CONCURRENCY": "0"}, "BANANABATCH_CONCURRENCY: Input should be greater"),
        ({"BANANABATCH_PORT": "eighty"}, "BANANABATCH_PORT: Input should be a valid integer"),
        ({"BANANABATCH_DATABASE_URL": "not a url"}, "is not a database URL"),
        (
            {"BANANABATCH_DATABASE_URL": "postgresql+nodriver://u:s3cretpw@127.0.0.1:1/x"},
            "postgresql+nodriver://u:***@127.0.0.1:1/x",
        ),
    ],
)
@pytest.mark.parametrize("command", [["jobs", "list"], ["serve", "--port", "1"]])
def test_bad_settings_exit_2_with_the_variable_named(
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    message: str,
    command: list[str],
) -> None:
    """Were tracebacks with exit code 1; the database password is never shown."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, command)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    text = " ".join(result.output.split())
    assert message in text
    assert "s3cretpw" not in text and "Traceback" not in text


def test_models_shows_lifecycle_limits_and_prices(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == EXIT_OK, result.output
    text = " ".join(result.output.split())
    assert "gemini-nano-banana-2.1" in text and "current (since 2026-10-06)" in text
    assert "deprecated 2026-09-18" in text  # gemini-2.5-flash-image
    assert "shut down 2026-10-29" in text  # gemini-3.1-flash-image
    assert "1K $0.0336, 2K $0.0504, 4K $0.1134" in text
    assert "1K $0.0168, 2K $0.0252, 4K $0.0567" in text  # batch


def _semi(model: str, cli_env: Path) -> list[str]:
    (cli_env / "ref.png").write_bytes(image_bytes(1, fmt="PNG"))
    ref = ["--ref", str(cli_env / "ref.png")]
    return ["run", "semi-auto", *ref, "--prompt", "a kite", "--count", "1", "--model", model]


def test_run_on_a_deprecated_model_prints_the_warning_and_runs(
    cli_env: Path, gemini_env: FakeGeminiServer
) -> None:
    result = CliRunner().invoke(app, _semi("gemini-2.5-flash-image", cli_env))
    assert result.exit_code == EXIT_OK, result.output
    text = " ".join(result.output.split())
    assert "warning: gemini-2.5-flash-image is deprecated" in text
    assert "gemini-nano-banana-2.1" in text
    assert gemini_env.calls(model="gemini-2.5-flash-image") == 1
    assert gemini_env.hits("/models/gemini-2.5-flash-image", method="GET") == 1  # preflight


def test_run_on_a_shut_down_model_exits_2_naming_the_replacement(
    cli_env: Path, gemini_env: FakeGeminiServer
) -> None:
    result = CliRunner().invoke(app, _semi("gemini-3.1-flash-image", cli_env))
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    text = " ".join(result.output.split())
    assert "gemini-3.1-flash-image was shut down on 2026-10-29" in text
    assert "use gemini-nano-banana-2.1 (Nano Banana 2.1) instead" in text
    assert gemini_env.hits() == 0
    assert _job_count() == 0


def test_run_with_a_key_google_refuses_exits_2_after_one_call(
    cli_env: Path, gemini_env: FakeGeminiServer
) -> None:
    gemini_env.bad_api_keys.add("fake-gemini-key")
    result = CliRunner().invoke(app, _semi("gemini-nano-banana-2.1", cli_env))
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    text = " ".join(result.output.split())
    assert "Google refused the Gemini API key" in text
    assert "fake-gemini-key" not in text
    assert gemini_env.hits() == 1  # estimate and create share one preflight call
    assert _job_count() == 0


def test_a_run_that_reaches_its_cap_writes_what_it_made_and_says_how_to_go_on(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bananabatch.cli import EXIT_BUDGET

    make_dataset(cli_env / "ds", {"cat": 6, "dog": 6})
    with FakeGeminiServer() as fake:
        monkeypatch.setenv("GEMINI_API_KEY", "test-key")
        monkeypatch.setenv("BANANABATCH_GEMINI_BASE_URL", fake.base_url)
        monkeypatch.setenv("BANANABATCH_GEMINI_PREFLIGHT", "false")
        monkeypatch.setenv("BANANABATCH_CONCURRENCY", "1")
        get_settings.cache_clear()
        args = ["run", "automatic", str(cli_env / "ds"), "--prompt", "{class} at noon"]
        model = ["--model", "gemini-nano-banana-2.1", "--variations", "2"]
        result = CliRunner().invoke(
            app, [*args, *model, "--max-cost", "0.2", "--out", str(cli_env / "part")]
        )
        assert result.exit_code == EXIT_BUDGET, result.output
        assert "Budget cap reached" in result.output and "jobs budget" in result.output
        made = [p for p in (cli_env / "part").rglob("*.png")]
        assert 0 < len(made) < 24
        with build_runtime(get_settings()).session_factory() as s:
            job = s.query(Job).one()
            assert job.cost_actual <= 0.2
        spend = CliRunner().invoke(app, ["spend", "--by", "model"])
        assert spend.exit_code == EXIT_OK, spend.output
        assert "gemini-nano" in spend.output and f"total ${job.cost_actual:.4f}" in spend.output
        raised = CliRunner().invoke(app, ["jobs", "budget", job.id, "--max-cost", "5"])
        assert raised.exit_code == EXIT_OK, raised.output
        done = CliRunner().invoke(app, ["jobs", "resume", job.id])
        assert done.exit_code == EXIT_OK, done.output
        assert len(fake.requests) == 24  # the rest, and nothing made twice


def test_a_trial_then_jobs_continue_pays_for_each_image_once(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--trial 4` makes 4 images across the classes; `jobs continue` makes only the rest
    (the fake Gemini server counts every generation), and `--out` gets the whole job."""
    from bananabatch.db.models import Output, SpendEntry

    make_dataset(cli_env / "ds", {"cat": 4, "dog": 3, "fox": 2})
    with FakeGeminiServer() as fake:
        monkeypatch.setenv("GEMINI_API_KEY", "test-key")
        monkeypatch.setenv("BANANABATCH_GEMINI_BASE_URL", fake.base_url)
        monkeypatch.setenv("BANANABATCH_GEMINI_PREFLIGHT", "false")
        get_settings.cache_clear()
        args = ["run", "automatic", str(cli_env / "ds"), "--prompt", "{class} in {rain|fog}"]
        model = ["--model", "gemini-nano-banana-2.1", "--variations", "2", "--trial", "4"]
        result = CliRunner().invoke(app, [*args, *model, "--out", str(cli_env / "trial")])
        assert result.exit_code == EXIT_OK, result.output
        text = " ".join(result.output.split())
        assert "Trial job" in text and "4 of 18 image(s)" in text
        assert "the rest (14 image(s)) would cost $" in text
        assert "jobs continue" in text
        assert fake.calls() == 4
        made = sorted(
            p.relative_to(cli_env / "trial").as_posix() for p in (cli_env / "trial").rglob("*.png")
        )
        assert len(made) == 4 and {m.split("/")[0] for m in made} == {"cat", "dog", "fox"}
        seed = int(text.split(" seed ")[1].split(",")[0])
        with build_runtime(get_settings()).session_factory() as s:
            job = s.query(Job).one()
            assert job.seed == seed  # the estimate's seed is the job's
            trial_paths = {o.archive_path for o in s.query(Output)}

        shown = CliRunner().invoke(app, ["jobs", "show", job.id])
        assert "trial on 4 of 18 image(s)" in " ".join(shown.output.split())
        rest = CliRunner().invoke(app, ["jobs", "continue", job.id, "--out", str(cli_env / "all")])
        assert rest.exit_code == EXIT_OK, rest.output
        assert "14 more image(s) queued" in " ".join(rest.output.split())
        assert fake.calls() == 18  # the trial's 4 were not made again
        assert len(list((cli_env / "all").rglob("*.png"))) == 18
        with build_runtime(get_settings()).session_factory() as s:
            outputs = s.query(Output).all()
            assert len(outputs) == 18 and {o.status for o in outputs} == {"succeeded"}
            assert trial_paths < {o.archive_path for o in outputs}
            ledger = s.query(SpendEntry).all()
            assert len(ledger) == 18 and not any(e.paid_twice for e in ledger)
        again = CliRunner().invoke(app, ["jobs", "continue", job.id])
        assert again.exit_code == EXIT_BAD_INPUT and "already running" in again.output
