"""The typer app, its exit codes and the helpers every command uses: logging,
errors as exit code 2, settings, the backend (embedded or `--server`), progress."""

from __future__ import annotations

import logging
import signal
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
EXIT_TERMINATED = 143  # SIGTERM (128 + 15): handled exactly like Ctrl-C (130)
EXIT_FOR_STATUS = {
    JobStatus.completed: EXIT_OK,
    JobStatus.completed_with_errors: EXIT_PARTIAL,
    JobStatus.failed: EXIT_FAILED,
    JobStatus.cancelled: EXIT_CANCELLED,
}

HELP_WIDTH = 100
"""Help text wraps at the terminal's width, at most this. Click's plain layout puts a long
option name on its own line rather than cutting it (rich's tables cut names with `…`
at 80 columns)."""
_HELP_SETTINGS = {"max_content_width": HELP_WIDTH}


def _typer(help_text: str) -> typer.Typer:
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings=_HELP_SETTINGS,
    )


app = _typer("BananaBatch: batch image generation with Nano Banana (Gemini image models).")
run_app = _typer("Run a whole job and wait for it.")
jobs_app = _typer("Inspect and act on jobs.")
datasets_app = _typer("The dataset library: list, show, rename, delete.")
app.add_typer(run_app, name="run")
app.add_typer(jobs_app, name="jobs")
app.add_typer(datasets_app, name="datasets")


@dataclass
class CliState:
    """What the top-level options chose, read by every command."""

    server: str | None = None
    terminated: bool = False  # a SIGTERM (not Ctrl-C) interrupted this process


state = CliState()


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (`kill`, a container stop, a CI timeout) takes Ctrl-C's path: the run stops
    cleanly, the job is marked interrupted, the message says how to resume."""
    state.terminated = True
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # a background job of a shell
        raise KeyboardInterrupt
    signal.raise_signal(signal.SIGINT)  # asyncio's own Ctrl-C handling applies


def install_signal_handlers() -> None:
    """Called by the real entry point only (tests driving `app` in-process keep theirs)."""
    signal.signal(signal.SIGTERM, _on_sigterm)


def interrupt_exit() -> typer.Exit:
    """130 after Ctrl-C, 143 after SIGTERM."""
    return typer.Exit(EXIT_TERMINATED if state.terminated else EXIT_INTERRUPTED)


def interrupt_name() -> str:
    return "SIGTERM" if state.terminated else "Ctrl-C"


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
