"""The CLI wastes no time and tells the truth, through its real entry point: a job is
checked before anything is uploaded; Ctrl-C and SIGTERM leave the job paused as
interrupted with a message saying how to resume; `jobs resume` writes the --out the run
asked for; id prefixes work; `--help` keeps every option name whole at 80 columns."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from bananabatch.cli import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED, app
from bananabatch.config import get_settings
from bananabatch.db.models import Asset, Dataset, Job
from bananabatch.runtime import build_runtime
from tests.fakes.gemini_server import FakeGeminiServer
from tests.imagegen import image_bytes, make_dataset
from tests.integration.test_cli import cli_env  # noqa: F401 (a fixture)
from tests.procs import die_with_parent, isolated_env

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "bananabatch.cli"]


def _stored() -> tuple[int, int, int]:
    """(datasets, assets, jobs) in the embedded data dir."""
    rt = build_runtime(get_settings())
    try:
        with rt.session_factory() as s:
            return s.query(Dataset).count(), s.query(Asset).count(), s.query(Job).count()
    finally:
        rt.engine.dispose()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prompt", "{unclosed"], "character"),
        (["--prompt", "a {colour} car"], "colour"),
        (["--prompt", "x", "--model", "gemini-3-pro-image-preview"], "shut down"),
        (["--prompt", "x", "--aspect-ratio", "7:3"], "7:3"),
        (["--prompt", "x", "--batch-api"], "Batch API"),
        (["--prompt", "x", "--prompts-csv", "prompts.csv"], "cat/000.png"),
    ],
)
def test_automatic_is_checked_before_anything_is_uploaded(
    cli_env: Path,  # noqa: F811
    extra: list[str],
    message: str,
) -> None:
    make_dataset(cli_env / "photos", {"cat": 3})
    (cli_env / "prompts.csv").write_text("path,prompt\ncat/000.png,{broken\n")
    result = CliRunner().invoke(app, ["run", "automatic", str(cli_env / "photos"), *extra])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert message in " ".join(result.output.split())
    assert "Uploading" not in result.output
    assert _stored() == (0, 0, 0)  # no dataset, no image, no job


def test_semi_auto_references_are_not_uploaded_for_a_bad_prompt(
    cli_env: Path,  # noqa: F811
) -> None:
    (cli_env / "ref.png").write_bytes(image_bytes(1, fmt="PNG"))
    result = CliRunner().invoke(
        app,
        ["run", "semi-auto", "--ref", str(cli_env / "ref.png"), "--prompt", "a {filename}"],
    )
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "filename" in result.output
    assert _stored() == (0, 0, 0)


def test_a_skipped_file_is_named_once(cli_env: Path) -> None:  # noqa: F811
    make_dataset(cli_env / "ds", {"cat": 1})
    (cli_env / "ds" / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    result = CliRunner().invoke(
        app, ["run", "automatic", str(cli_env / "ds"), "--prompt", "x", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "broken.jpg" in x)
    assert line.count("broken.jpg") == 1, line


def _commands(group: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    """Every command below `group` (typer's own click: groups have `commands`)."""
    found = [(path, group)]
    for name, cmd in getattr(group, "commands", {}).items():
        found += _commands(cmd, [*path, name])
    return found


def test_help_keeps_every_option_name_whole_at_80_columns() -> None:
    runner = CliRunner(env={"COLUMNS": "80", "TERMINAL_WIDTH": None})
    commands = _commands(typer.main.get_command(app), [])
    assert len(commands) > 15
    for path, command in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        for param in command.params:
            for opt in [*param.opts, *getattr(param, "secondary_opts", [])]:
                if opt.startswith("--"):
                    assert opt in result.output, (path, opt, result.output)
        assert "…" not in result.output, (path, result.output)
        assert max(len(line) for line in result.output.splitlines()) <= 80, path


# ---- signals: a real process, a real (fake) Gemini ----------------------------------------


def _env(tmp_path: Path, base_url: str) -> dict[str, str]:
    env = isolated_env(
        BANANABATCH_DATA_DIR=str(tmp_path / "data"),
        GEMINI_API_KEY="test-key",
        BANANABATCH_GEMINI_BASE_URL=base_url,
        BANANABATCH_CONCURRENCY="1",
        BANANABATCH_SHUTDOWN_GRACE_SECONDS="5",
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    return env


def _succeeded(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("select count(*) from outputs where status='succeeded'")).scalar()
                or 0
            )
    except Exception:
        return 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("sig", "code", "name"),
    [(signal.SIGINT, EXIT_INTERRUPTED, "Ctrl-C"), (signal.SIGTERM, EXIT_TERMINATED, "SIGTERM")],
)
def test_interrupted_run_is_paused_and_resume_writes_the_original_out(
    tmp_path: Path, sig: signal.Signals, code: int, name: str
) -> None:
    make_dataset(tmp_path / "ds", {"cat": 3, "dog": 3})
    db_url = f"sqlite:///{tmp_path / 'data' / 'bananabatch.db'}"
    out = tmp_path / "results"
    with FakeGeminiServer() as fake:
        env = _env(tmp_path, fake.base_url)
        proc = subprocess.Popen(
            [
                *CLI,
                "run",
                "automatic",
                str(tmp_path / "ds"),
                "--prompt",
                "[[slow:0.4]] {class}",
                "--model",
                "gemini-2.5-flash-image",
                "--out",
                str(out),
            ],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent,
        )
        try:
            deadline = time.monotonic() + 90
            while _succeeded(db_url) < 1 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert proc.poll() is None, "the job finished before it could be interrupted"
            proc.send_signal(sig)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        said = " ".join(stderr.split())
        assert proc.returncode == code, stderr
        assert f"Interrupted ({name})" in said and "paused (interrupted)" in said
        engine = create_engine(db_url)
        with engine.connect() as conn:
            job_id, status, interrupted = conn.execute(
                text("select id, status, interrupted_at from jobs")
            ).one()
        engine.dispose()
        assert f"bananabatch jobs resume {job_id}" in said
        assert status == "paused" and interrupted is not None
        assert not out.exists()

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*CLI, *args],
                env={**env, "COLUMNS": "200"},
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )

        listed = cli("jobs", "list")
        row = next(line for line in listed.stdout.splitlines() if job_id in line)
        assert "interrupted" in row and "running" not in row, listed.stdout
        shown = cli("jobs", "show", job_id[:6])  # a prefix is enough
        assert shown.returncode == 0, shown.stderr
        assert "status interrupted" in shown.stdout and job_id in shown.stdout

        resumed = cli("jobs", "resume", job_id[:8])  # no --out: the run's is used
        assert resumed.returncode == 0, resumed.stderr
        assert str(out) in " ".join(resumed.stderr.split())
    images = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(images) == 6 and images[0].startswith("cat/")
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("select status, interrupted_at from jobs")).one() == (
            "completed",
            None,
        )
    engine.dispose()
