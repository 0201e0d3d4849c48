"""`bananabatch run automatic|semi-auto`: create a whole job, wait for it, write the results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from bananabatch.cli.app import (
    EXIT_BAD_INPUT,
    EXIT_BUDGET,
    EXIT_FAILED,
    EXIT_FOR_STATUS,
    EXIT_INTERRUPTED,
    console,
    errors_exit,
    open_backend,
    progress_bar,
    run_app,
)
from bananabatch.cli.backends import Backend, IngestSummary
from bananabatch.cli.backends.port import MIN_PREFIX
from bananabatch.cli.options import (
    AspectOption,
    BatchApiOption,
    BatchFallbackOption,
    FormatOption,
    MaxCostOption,
    ModelOption,
    OutOption,
    PriorityOption,
    SeedOption,
    SizeOption,
    WebhookOption,
)
from bananabatch.cli.review_plan import describe_labels
from bananabatch.errors import BananaBatchError, NotFound
from bananabatch.services.job_requests import (
    MAX_PROMPTS_CSV_CHARS,
    AutomaticJobCreate,
    JobCreate,
    JobOptionsIn,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)
from bananabatch.services.queries import JobDetail


def _report_ingest(summary: IngestSummary) -> None:
    for path, message in summary.errors:
        console.print(f"[yellow]skipped[/yellow] {path}: {message}")
    console.print(
        f"[green]{summary.accepted} image(s) ready[/green]"
        + (f" ({summary.duplicates} already stored)" if summary.duplicates else "")
        + (f", [yellow]{len(summary.errors)} skipped[/yellow]" if summary.errors else "")
    )


def create_job(backend: Backend, req: JobCreate) -> str:
    with errors_exit():
        estimate = backend.estimate(req)
        for warning in estimate.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}")
        job_id = backend.create(req)
    console.print(
        f"Job [bold]{job_id}[/bold]: {estimate.outputs} image(s) in {estimate.tasks} task(s), "
        f"model {estimate.model} ({estimate.provider}), estimated ${estimate.cost_usd:.2f}"
    )
    return job_id


def finish(backend: Backend, job_id: str, dest: Path | None) -> None:
    """Wait for the job (running it when embedded), summarise, export, exit with its code."""
    try:
        with progress_bar() as progress:
            bar = progress.add_task("Generating", total=None)
            detail = backend.wait(
                job_id, lambda done, total: progress.update(bar, completed=done, total=total)
            )
    except KeyboardInterrupt:
        where = (
            f"Resume it with: [bold]bananabatch jobs resume {job_id}[/bold]"
            if backend.runs_in_process
            else f"It keeps running on the server: [bold]bananabatch jobs show {job_id}[/bold]"
        )
        console.print(
            f"\n[yellow]Interrupted.[/yellow] Job {job_id} is saved; nothing finished is lost. "
            + where
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _summary(detail)
    if dest is not None:
        with errors_exit():
            n = backend.export(job_id, dest)
        console.print(f"Wrote {dest}" + ("" if dest.suffix.lower() == ".zip" else f" ({n} files)"))
    if detail.hold_reason:
        console.print(
            f"[yellow]{detail.hold_reason}[/yellow]\nRaise it with: [bold]bananabatch jobs "
            f"budget {job_id} --max-cost N[/bold], then [bold]bananabatch jobs resume {job_id}"
            "[/bold] runs the rest."
        )
        raise typer.Exit(EXIT_BUDGET)
    raise typer.Exit(EXIT_FOR_STATUS.get(detail.status, EXIT_FAILED))


def _summary(detail: JobDetail) -> None:
    c = detail.counts
    console.print(
        f"Job [bold]{detail.id}[/bold] {detail.status.value}: {c.succeeded} succeeded, "
        f"{c.failed} failed, {c.blocked} blocked, {c.cancelled} cancelled of {c.total} "
        f"(cost ${detail.cost_actual:.2f})"
    )


def _options(aspect_ratio: str | None, image_size: str | None, fmt: str) -> JobOptionsIn:
    with errors_exit():
        try:
            return JobOptionsIn.model_validate(
                {"aspect_ratio": aspect_ratio, "image_size": image_size, "output_format": fmt}
            )
        except ValueError:
            raise BananaBatchError("--format must be png, jpeg or webp.") from None


def _fallback(value: str) -> Literal["batch", "standard"]:
    if value == "batch":
        return "batch"
    if value == "standard":
        return "standard"
    console.print("[red]error:[/red] --batch-fallback must be batch or standard")
    raise typer.Exit(EXIT_BAD_INPUT)


def _read_prompts_csv(path: Path) -> str:
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


def _dataset_source(dataset: str | None, dataset_id: str | None) -> tuple[Path | None, str | None]:
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


def _resolve(backend: Backend, ref: str, *, given_as_path: bool) -> str:
    try:
        return backend.resolve_dataset(ref)
    except NotFound:
        if not given_as_path:
            raise
        raise NotFound(
            f"{ref} does not exist: it is neither a folder, a .zip nor a stored dataset "
            "(`bananabatch datasets list`)."
        ) from None


def _upload(backend: Backend, source: Path) -> str:
    """Upload the folder or ZIP and finish the upload: the id of the dataset to use (an
    identical stored one when there is one); exit 2 when no image could be used (the
    empty dataset is not kept)."""
    with progress_bar() as progress:
        bar = progress.add_task("Uploading images", total=None)
        with errors_exit():
            dataset_id, summary = backend.ingest_dataset(
                source, lambda done, total: progress.update(bar, completed=done, total=total)
            )
    _report_ingest(summary)
    with errors_exit():
        finished = backend.finish_upload(dataset_id)
    if finished.id is None:
        console.print(f"[red]error:[/red] {finished.message} Nothing to run.")
        raise typer.Exit(EXIT_BAD_INPUT)
    if finished.outcome == "reused":
        console.print(f"[green]{finished.message}[/green]")
    return finished.id


@run_app.command("automatic")
def run_automatic(
    prompt: Annotated[str, typer.Option(help="Base prompt; templating: {filename} {class} {a|b}.")],
    dataset: Annotated[
        str | None,
        typer.Argument(
            help="A folder of images (class sub-folders kept), a .zip, or the id (or a unique "
            "prefix) of a stored dataset.",
            show_default=False,
        ),
    ] = None,
    dataset_id: Annotated[
        str | None,
        typer.Option(
            "--dataset-id",
            help="Use a stored dataset (`bananabatch datasets list`) instead of uploading one.",
        ),
    ] = None,
    variations: Annotated[int, typer.Option(min=1, max=100, help="Variations per image.")] = 1,
    model: ModelOption = None,
    seed: SeedOption = None,
    name: Annotated[str, typer.Option(help="Job name.")] = "",
    prompts_csv: Annotated[Path | None, typer.Option(help="CSV of path,prompt rows.")] = None,
    include_originals: Annotated[
        bool | None,
        typer.Option(
            "--include-originals/--no-include-originals",
            help="Put originals beside variations (default: yes for labelled datasets).",
        ),
    ] = None,
    splits: Annotated[
        list[str] | None,
        typer.Option("--split", help="Augment this split (repeat); default: the training split."),
    ] = None,
    aspect_ratio: AspectOption = None,
    image_size: SizeOption = None,
    fmt: FormatOption = "png",
    priority: PriorityOption = 0,
    max_cost: MaxCostOption = None,
    batch_api: BatchApiOption = False,
    batch_fallback: BatchFallbackOption = "batch",
    webhook: WebhookOption = None,
    out_path: OutOption = None,
) -> None:
    """Augment a dataset: every image x N variations; results mirror the dataset layout."""
    source, stored = _dataset_source(dataset, dataset_id)
    options = _options(aspect_ratio, image_size, fmt)
    csv_text = _read_prompts_csv(prompts_csv) if prompts_csv else None
    with open_backend() as backend:
        with errors_exit():
            backend.ensure_can_run()
        if stored is not None:
            with errors_exit():
                dataset_id = _resolve(backend, stored, given_as_path=dataset == stored)
            console.print(f"Using stored dataset [bold]{dataset_id}[/bold] (nothing uploaded)")
        else:
            assert source is not None
            dataset_id = _upload(backend, source)
        with errors_exit():
            labels = backend.dataset_labels(dataset_id)
        for line in describe_labels(labels) if labels else []:
            console.print(line)
        req = AutomaticJobCreate(
            name=name or (source.stem if source is not None else ""),
            dataset_id=dataset_id,
            prompt=prompt,
            variations=variations,
            model=model,
            seed=seed,
            options=options,
            include_originals=include_originals,
            splits=splits,
            prompts_csv=csv_text,
            priority=priority,
            max_cost=max_cost,
            use_batch_api=batch_api,
            batch_fallback=_fallback(batch_fallback),
            webhook_url=webhook,
        )
        finish(backend, create_job(backend, req), out_path)


@run_app.command("semi-auto")
def run_semi_auto(
    prompt: Annotated[list[str], typer.Option(help="A prompt; repeat for several batches.")],
    ref: Annotated[
        list[Path] | None, typer.Option(help="A reference image; repeat for several.")
    ] = None,
    count: Annotated[
        int, typer.Option(min=1, max=1000, help="Images per prompt (runs of 4).")
    ] = 40,
    model: ModelOption = None,
    seed: SeedOption = None,
    name: Annotated[str, typer.Option(help="Job name.")] = "",
    aspect_ratio: AspectOption = None,
    image_size: SizeOption = None,
    fmt: FormatOption = "png",
    priority: PriorityOption = 0,
    max_cost: MaxCostOption = None,
    batch_api: BatchApiOption = False,
    batch_fallback: BatchFallbackOption = "batch",
    webhook: WebhookOption = None,
    out_path: OutOption = None,
) -> None:
    """Creative generation: reference images + prompts, each count split into runs of 4."""
    refs = ref or []
    for p in refs:
        if not p.is_file():
            console.print(f"[red]error:[/red] reference {p} is not a file")
            raise typer.Exit(EXIT_BAD_INPUT)
    options = _options(aspect_ratio, image_size, fmt)
    with open_backend() as backend:
        with errors_exit():
            backend.ensure_can_run()
            summary = backend.store_references(refs)
        _report_ingest(summary)
        if summary.errors:
            raise typer.Exit(EXIT_BAD_INPUT)
        req = SemiAutoJobCreate(
            name=name,
            reference_asset_ids=summary.asset_ids,
            prompts=[SemiAutoPromptIn(prompt=p, count=count) for p in prompt],
            model=model,
            seed=seed,
            options=options,
            priority=priority,
            max_cost=max_cost,
            use_batch_api=batch_api,
            batch_fallback=_fallback(batch_fallback),
            webhook_url=webhook,
        )
        finish(backend, create_job(backend, req), out_path)
