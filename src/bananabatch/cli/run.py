"""`bananabatch run automatic|semi-auto`: create a whole job, wait for it, write the results."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

import typer

from bananabatch.cli.app import (
    EXIT_BAD_INPUT,
    EXIT_BUDGET,
    EXIT_FAILED,
    EXIT_FOR_STATUS,
    console,
    errors_exit,
    interrupt_exit,
    interrupt_name,
    open_backend,
    progress_bar,
    run_app,
    state,
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
    TrialOption,
    WebhookOption,
)
from bananabatch.cli.review_plan import describe_labels
from bananabatch.cli.run_state import remember_out
from bananabatch.domain.seeds import new_job_seed
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


def _without_path(path: str, message: str) -> str:
    """The reason alone: upload errors start with the file's name, already printed."""
    for name in (path, PurePosixPath(path).name):
        if name and message.startswith(f"{name}: "):
            return message[len(name) + 2 :]
    return message


def _report_ingest(summary: IngestSummary) -> None:
    for path, message in summary.errors:
        console.print(f"[yellow]skipped[/yellow] {path}: {_without_path(path, message)}")
    console.print(
        f"[green]{summary.accepted} image(s) ready[/green]"
        + (f" ({summary.duplicates} already stored)" if summary.duplicates else "")
        + (f", [yellow]{len(summary.errors)} skipped[/yellow]" if summary.errors else "")
    )


def with_seed(req: JobCreate) -> JobCreate:
    """The request with its seed drawn now when none was given, so the estimate (and its
    trial sample) and the job are planned with the same seed."""
    if req.seed is not None:
        return req
    return req.model_copy(update={"seed": new_job_seed()})


def check_first(backend: Backend, req: JobCreate) -> list[str]:
    """Everything that can be checked before an upload (exit 2 on a problem); returns the
    warnings printed, so the estimate does not print them again."""
    with errors_exit():
        backend.ensure_can_run()
        checked = backend.validate(req)
    for warning in checked.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    return checked.warnings


def create_job(
    backend: Backend, req: JobCreate, dest: Path | None, shown: list[str] | None = None
) -> str:
    req = with_seed(req)
    with errors_exit():
        estimate = backend.estimate(req)
        for warning in estimate.warnings:
            if warning not in (shown or []):
                console.print(f"[yellow]warning:[/yellow] {warning}")
        job_id = backend.create(req)
    if dest is not None:
        remember_out(job_id, dest)  # `jobs resume` writes there too
    trial = estimate.trial
    if trial is None:
        console.print(
            f"Job [bold]{job_id}[/bold]: {estimate.outputs} image(s) in {estimate.tasks} "
            f"task(s), model {estimate.model} ({estimate.provider}), seed {req.seed}, "
            f"estimated ${estimate.cost_usd:.2f}"
        )
    else:
        console.print(
            f"Trial job [bold]{job_id}[/bold]: {trial.outputs} of {estimate.outputs} image(s), "
            f"model {estimate.model} ({estimate.provider}), seed {req.seed}, estimated "
            f"${trial.cost_usd:.2f}; the rest ({trial.rest_outputs} image(s)) would cost "
            f"${trial.rest_cost_usd:.2f}"
        )
    return job_id


def _interrupted(backend: Backend, job_id: str) -> typer.Exit:
    """Say what happened to the job and how to go on; the exit to raise."""
    how = interrupt_name()
    if backend.runs_in_process:
        paused = backend.interrupted(job_id)
        status = "is paused (interrupted)" if paused else "is saved"
        console.print(
            f"\n[yellow]Interrupted ({how}).[/yellow] Job {job_id} {status}; nothing finished "
            f"is lost. Resume it with: [bold]bananabatch jobs resume {job_id}[/bold]"
        )
    else:
        server = f"--server {state.server} " if state.server else ""
        console.print(
            f"\n[yellow]Interrupted ({how}).[/yellow] Job {job_id} keeps running on the "
            f"server. Wait for it and write its results with: [bold]bananabatch {server}jobs "
            f"resume {job_id}[/bold]"
        )
    return interrupt_exit()


def finish(backend: Backend, job_id: str, dest: Path | None) -> None:
    """Wait for the job (running it when embedded), summarise, export, exit with its code."""
    try:
        with progress_bar() as progress:
            bar = progress.add_task("Generating", total=None)
            detail = backend.wait(
                job_id, lambda done, total: progress.update(bar, completed=done, total=total)
            )
    except KeyboardInterrupt:
        raise _interrupted(backend, job_id) from None
    _summary(detail)
    if detail.trial is not None and not detail.trial.continued:
        console.print(
            f"This was a trial on {detail.counts.total} of {detail.trial.planned_outputs} "
            f"image(s). Run the rest ({detail.trial.rest_outputs} image(s), about "
            f"${detail.trial.rest_cost_usd:.2f}; the trial's are kept): [bold]bananabatch jobs "
            f"continue {job_id}[/bold]"
        )
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
    trial: TrialOption = None,
    out_path: OutOption = None,
) -> None:
    """Augment a dataset: every image x N variations; results mirror the dataset layout."""
    source, stored = _dataset_source(dataset, dataset_id)
    options = _options(aspect_ratio, image_size, fmt)
    csv_text = _read_prompts_csv(prompts_csv) if prompts_csv else None
    req = AutomaticJobCreate(
        name=name or (source.stem if source is not None else ""),
        dataset_id="",  # set once uploaded: everything else is checked before the upload
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
        trial=trial,
    )
    with open_backend() as backend:
        shown = check_first(backend, req)
        if stored is not None:
            with errors_exit():
                dataset_id = _resolve(backend, stored, given_as_path=dataset == stored)
            console.print(f"Using stored dataset [bold]{dataset_id}[/bold] (nothing uploaded)")
        else:
            assert source is not None
            try:
                dataset_id = _upload(backend, source)
            except KeyboardInterrupt:
                console.print(
                    f"\n[yellow]Interrupted ({interrupt_name()}) during the upload.[/yellow] "
                    "No job was created; run the command again (stored images are not sent "
                    "twice)."
                )
                raise interrupt_exit() from None
        with errors_exit():
            labels = backend.dataset_labels(dataset_id)
        for line in describe_labels(labels) if labels else []:
            console.print(line)
        req.dataset_id = dataset_id
        finish(backend, create_job(backend, req, out_path, shown), out_path)


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
    trial: TrialOption = None,
    out_path: OutOption = None,
) -> None:
    """Creative generation: reference images + prompts, each count split into runs of 4."""
    refs = ref or []
    for p in refs:
        if not p.is_file():
            console.print(f"[red]error:[/red] reference {p} is not a file")
            raise typer.Exit(EXIT_BAD_INPUT)
    options = _options(aspect_ratio, image_size, fmt)
    req = SemiAutoJobCreate(
        name=name,
        # placeholders until uploaded: only their number is checked before the upload
        reference_asset_ids=[f"pending-{i}" for i in range(len(refs))],
        prompts=[SemiAutoPromptIn(prompt=p, count=count) for p in prompt],
        model=model,
        seed=seed,
        options=options,
        priority=priority,
        max_cost=max_cost,
        use_batch_api=batch_api,
        batch_fallback=_fallback(batch_fallback),
        webhook_url=webhook,
        trial=trial,
    )
    with open_backend() as backend:
        shown = check_first(backend, req)
        with errors_exit():
            summary = backend.store_references(refs)
        _report_ingest(summary)
        if summary.errors:
            raise typer.Exit(EXIT_BAD_INPUT)
        req.reference_asset_ids = summary.asset_ids
        finish(backend, create_job(backend, req, out_path, shown), out_path)
