"""What `run` takes from the command line and the disk before a job exists: options,
the prompts CSV, a dataset given as a path or a stored id, and the upload itself."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Literal

import typer

from bananabatch.cli.app import (
    EXIT_BAD_INPUT,
    console,
    errors_exit,
    progress_bar,
)
from bananabatch.cli.backends import Backend, IngestSummary
from bananabatch.cli.backends.port import MIN_PREFIX
from bananabatch.errors import BananaBatchError, NotFound
from bananabatch.services.job_requests import (
    MAX_PROMPTS_CSV_CHARS,
    JobOptionsIn,
)


def _without_path(path: str, message: str) -> str:
    """The reason alone: upload errors start with the file's name, already printed."""
    for name in (path, PurePosixPath(path).name):
        if name and message.startswith(f"{name}: "):
            return message[len(name) + 2 :]
    return message


def report_ingest(summary: IngestSummary) -> None:
    for path, message in summary.errors:
        console.print(f"[yellow]skipped[/yellow] {path}: {_without_path(path, message)}")
    console.print(
        f"[green]{summary.accepted} image(s) ready[/green]"
        + (f" ({summary.duplicates} already stored)" if summary.duplicates else "")
        + (f", [yellow]{len(summary.errors)} skipped[/yellow]" if summary.errors else "")
    )


def job_options(aspect_ratio: str | None, image_size: str | None, fmt: str) -> JobOptionsIn:
    with errors_exit():
        try:
            return JobOptionsIn.model_validate(
                {"aspect_ratio": aspect_ratio, "image_size": image_size, "output_format": fmt}
            )
        except ValueError:
            raise BananaBatchError("--format must be png, jpeg or webp.") from None


def batch_fallback_of(value: str) -> Literal["batch", "standard"]:
    if value == "batch":
        return "batch"
    if value == "standard":
        return "standard"
    console.print("[red]error:[/red] --batch-fallback must be batch or standard")
    raise typer.Exit(EXIT_BAD_INPUT)


def read_prompts_csv(path: Path) -> str:
    """The CSV's text, or exit 2 with the reason (before anything is uploaded)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        if len(text) <= MAX_PROMPTS_CSV_CHARS:
            return text
        console.print(
            f"[red]error:[/red] {path} has {len(text)} characters; the limit is "
            f"{MAX_PROMPTS_CSV_CHARS}. Split the dataset into several jobs."
        )
    except UnicodeDecodeError:
        console.print(f"[red]error:[/red] {path} is not UTF-8 text; save the CSV as UTF-8.")
    except OSError as exc:
        console.print(f"[red]error:[/red] cannot read {path}: {exc.strerror or exc}")
    raise typer.Exit(EXIT_BAD_INPUT)


def dataset_source(dataset: str | None, dataset_id: str | None) -> tuple[Path | None, str | None]:
    """(folder or ZIP to upload, stored dataset id or prefix): exactly one is set. A
    DATASET that is no file but looks like an id names a stored dataset."""
    if dataset and dataset_id:
        console.print("[red]error:[/red] give a folder (or .zip) or --dataset-id, not both")
        raise typer.Exit(EXIT_BAD_INPUT)
    if dataset_id:
        return None, dataset_id
    if not dataset:
        console.print(
            "[red]error:[/red] give a folder of images, a .zip, or --dataset-id ID "
            "(`bananabatch datasets list` shows the stored ones)"
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    path = Path(dataset)
    if path.exists():
        return path, None
    if dataset.isalnum() and len(dataset) >= MIN_PREFIX:
        return None, dataset
    console.print(f"[red]error:[/red] {dataset} does not exist")
    raise typer.Exit(EXIT_BAD_INPUT)


def resolve_dataset(backend: Backend, ref: str, *, given_as_path: bool) -> str:
    try:
        return backend.resolve_dataset(ref)
    except NotFound:
        if not given_as_path:
            raise
        raise NotFound(
            f"{ref} does not exist: it is neither a folder, a .zip nor a stored dataset "
            "(`bananabatch datasets list`)."
        ) from None


def upload_dataset(backend: Backend, source: Path) -> str:
    """Upload the folder or ZIP and finish the upload: the id of the dataset to use (an
    identical stored one when there is one); exit 2 when no image could be used (the
    empty dataset is not kept)."""
    with progress_bar() as progress:
        bar = progress.add_task("Uploading images", total=None)
        with errors_exit():
            dataset_id, summary = backend.ingest_dataset(
                source, lambda done, total: progress.update(bar, completed=done, total=total)
            )
    report_ingest(summary)
    with errors_exit():
        finished = backend.finish_upload(dataset_id)
    if finished.id is None:
        console.print(f"[red]error:[/red] {finished.message} Nothing to run.")
        raise typer.Exit(EXIT_BAD_INPUT)
    if finished.outcome == "reused":
        console.print(f"[green]{finished.message}[/green]")
    return finished.id
