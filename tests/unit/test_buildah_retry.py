"""The image tests run buildah again only on its known transient memfd error."""

from __future__ import annotations

from pathlib import Path

from tests.container.buildah import FLAKE, _run


def _flaky(tmp_path: Path, failures: int, message: str) -> list[str]:
    """A command that fails `failures` times with `message`, then succeeds; the argv is
    padded like buildah's (storage options first) so the log names the subcommand."""
    count = tmp_path / "count"
    script = (
        f"n=$(cat {count} 2>/dev/null || echo 0); echo $((n+1)) > {count}; "
        f'if [ "$n" -lt {failures} ]; then echo "{message}" >&2; exit 125; fi; echo ok'
    )
    return ["sh", "-c", script, *["pad"] * 4, "bud"]


def test_the_memfd_error_is_run_again(tmp_path: Path) -> None:
    done = _run(_flaky(tmp_path, 2, f"error: Close_Fd {FLAKE}: Device or resource busy"), 10)

    assert done.returncode == 0 and done.stdout.strip() == "ok"
    assert (tmp_path / "count").read_text().strip() == "3"


def test_any_other_failure_is_not(tmp_path: Path) -> None:
    done = _run(_flaky(tmp_path, 1, "error: no such image"), 10)

    assert done.returncode == 125 and "no such image" in done.stderr
    assert (tmp_path / "count").read_text().strip() == "1"
