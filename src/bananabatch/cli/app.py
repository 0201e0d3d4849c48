"""The typer app, its exit codes and the helpers every command uses: logging,
errors as exit code 2, settings, the backend (embedded or `--server`), progress."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bananabatch.cli.backends import Backend, LocalBackend, RemoteBackend
from bananabatch.client import ApiClient
from bananabatch.config import Settings, get_settings
from bananabatch.db.models import JobStatus
from bananabatch.errors import BananaBatchError, ValidationFailed
from bananabatch.runtime import build_runtime

log = logging.getLogger("bananabatch")
console = Console(stderr=True)
out = Console()

EXIT_OK, EXIT_PARTIAL, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_CANCELLED, EXIT_INTERRUPTED = (
    0,
    1,
    2,
    3,
    4,
    130,
)
EXIT_BUDGET = 5  # held at a budget cap: what was made is written, the job waits
EXIT_FOR_STATUS = {
    JobStatus.completed: EXIT_OK,
    JobStatus.completed_with_errors: EXIT_PARTIAL,
    JobStatus.failed: EXIT_FAILED,
    JobStatus.cancelled: EXIT_CANCELLED,
}

app = typer.Typer(
    help="BananaBatch: batch image generation with Nano Banana (Gemini image models).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
run_app = typer.Typer(help="Run a whole job and wait for it.", no_args_is_help=True)
jobs_app = typer.Typer(help="Inspect and act on jobs.", no_args_is_help=True)
datasets_app = typer.Typer(
    help="The dataset library: list, show, rename, delete.", no_args_is_help=True
)
app.add_typer(run_app, name="run")
app.add_typer(jobs_app, name="jobs")
app.add_typer(datasets_app, name="datasets")


@dataclass
class CliState:
    """What the top-level options chose, read by every command."""

    server: str | None = None


state = CliState()

LIST_WIDTH = 150
MODELS_WIDTH = 240


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
        force=True,
    )
    logging.getLogger("bananabatch").setLevel(logging.DEBUG if verbose else logging.WARNING)
    for noisy in ("httpx", "httpcore", "alembic", "google_genai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    server: Annotated[
        str | None,
        typer.Option(
            envvar="BANANABATCH_SERVER",
            help="Act on a running `bananabatch serve` at this URL (token: BANANABATCH_TOKEN).",
        ),
    ] = None,
) -> None:
    _setup_logging(verbose)
    state.server = server.rstrip("/") if server else None


@contextmanager
def errors_exit() -> Iterator[None]:
    try:
        yield
    except BananaBatchError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def load_settings() -> Settings:
    """The settings, or a ValidationFailed naming each bad variable (a bad value in the
    environment or `.env` would otherwise be a pydantic traceback). Values are not
    echoed: some settings are secrets."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = [
            f"{_env_name(err['loc'])}: {err['msg']}" for err in exc.errors(include_input=False)
        ]
        raise ValidationFailed("Invalid setting(s): " + "; ".join(problems)) from None


def _env_name(loc: tuple[int | str, ...]) -> str:
    name = str(loc[0]) if loc else "?"
    return name if name.isupper() else f"BANANABATCH_{name.upper()}"


@contextmanager
def open_backend() -> Iterator[Backend]:
    """The embedded engine, or the server named by --server."""
    backend: Backend
    with errors_exit():
        if state.server:
            backend = RemoteBackend(ApiClient.from_env(state.server))
        else:
            backend = LocalBackend(build_runtime(load_settings()))
        try:
            yield backend
        finally:
            backend.close()


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
