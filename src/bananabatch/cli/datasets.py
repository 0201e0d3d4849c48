"""`bananabatch datasets list|show|rename|delete`: the dataset library. Any command
takes a dataset id or a unique prefix of one (4 characters or more)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from bananabatch.cli.app import (
    EXIT_BAD_INPUT,
    LIST_WIDTH,
    console,
    datasets_app,
    errors_exit,
    open_backend,
    out,
)

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def human_bytes(n: int) -> str:
    """1.2 MB, 830 KB, 12 bytes: sizes as people read them (decimal units)."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


@datasets_app.command("list")
def datasets_list(limit: Annotated[int, typer.Option(min=1, max=500)] = 100) -> None:
    """The stored datasets, newest first, with classes, format, size and jobs."""
    with open_backend() as backend, errors_exit():
        datasets = backend.list_datasets(limit)
    table = Table(
        Column("id", no_wrap=True),
        "name",
        Column("images", justify="right"),
        "classes",
        "format",
        Column("size", justify="right", no_wrap=True),
        Column("jobs", justify="right"),
        Column("created", no_wrap=True),
    )
    for d in datasets.items:
        classes = ", ".join(d.classes[:6]) + (
            f" +{len(d.classes) - 6}" if len(d.classes) > 6 else ""
        )
        table.add_row(
            d.id,
            escape(d.name),
            str(d.item_count),
            escape(classes) or "-",
            d.label_format or "-",
            human_bytes(d.size_bytes),
            str(d.job_count),
            f"{d.created_at:%Y-%m-%d %H:%M}",
        )
    Console(width=max(out.width, LIST_WIDTH)).print(table)
    if not datasets.items:
        console.print("No datasets yet: `bananabatch run automatic FOLDER` uploads one.")


@datasets_app.command("show")
def datasets_show(
    dataset: Annotated[str, typer.Argument(help="Dataset id or unique prefix.")],
    items: Annotated[int, typer.Option(min=0, max=500, help="How many items to list.")] = 20,
) -> None:
    """A dataset: its images (the first ones), classes, size and the jobs made from it."""
    with open_backend() as backend, errors_exit():
        dataset_id = backend.resolve_dataset(dataset)
        usage = backend.dataset_usage(dataset_id)
        entry = next((d for d in backend.list_datasets(500).items if d.id == dataset_id), None)
        page = backend.dataset_items(dataset_id, items) if items else None
    out.print(f"[bold]{escape(usage.name) or '(unnamed)'}[/bold] ({usage.id})")
    fmt = entry.label_format if entry and entry.label_format else "-"
    out.print(
        f"{usage.item_count} image(s) · format {fmt} · {human_bytes(usage.size_bytes)} stored, "
        f"{human_bytes(usage.freed_bytes_if_deleted)} freed if deleted"
    )
    if entry and entry.classes:
        out.print("classes: " + escape(", ".join(entry.classes)))
    for job in usage.jobs:
        out.print(f"  job {job.id} {escape(job.name)} ({job.status.value})")
    if page is not None:
        for item in page.items:
            out.print(f"  {escape(item.rel_path)}  {item.width}x{item.height}  {item.mime_type}")
        if page.next_cursor:
            out.print(f"  … {usage.item_count - len(page.items)} more")


@datasets_app.command("rename")
def datasets_rename(
    dataset: Annotated[str, typer.Argument(help="Dataset id or unique prefix.")],
    name: Annotated[str, typer.Argument(help="The new name.")],
) -> None:
    """Give a dataset a new name."""
    with open_backend() as backend, errors_exit():
        renamed = backend.rename_dataset(backend.resolve_dataset(dataset), name)
    console.print(f"Dataset {renamed.id} is now named {escape(renamed.name)!r}.")


@datasets_app.command("delete")
def datasets_delete(
    dataset: Annotated[str, typer.Argument(help="Dataset id or unique prefix.")],
    yes: YesOption = False,
) -> None:
    """Delete a dataset and the stored files no other dataset or job uses. Refused while
    jobs made from it exist (delete them first: `bananabatch jobs delete JOB`)."""
    with open_backend() as backend:
        with errors_exit():
            dataset_id = backend.resolve_dataset(dataset)
            usage = backend.dataset_usage(dataset_id)
        if usage.jobs:
            names = ", ".join(f"{j.id} ({escape(j.name)})" for j in usage.jobs[:5])
            console.print(
                f"[red]error:[/red] dataset {escape(usage.name)!r} is used by "
                f"{len(usage.jobs)} job(s): {names}. Delete those jobs first "
                "(`bananabatch jobs delete JOB`)."
            )
            raise typer.Exit(EXIT_BAD_INPUT)
        if not yes:
            typer.confirm(
                f"Delete dataset {usage.name!r} ({usage.item_count} images, frees "
                f"{human_bytes(usage.freed_bytes_if_deleted)})?",
                abort=True,
            )
        with errors_exit():
            deleted = backend.delete_dataset(dataset_id)
    console.print(
        f"Deleted dataset {escape(deleted.name)!r} ({deleted.images} images): freed "
        f"{human_bytes(deleted.freed_bytes)} in {deleted.freed_files} file(s)."
    )
