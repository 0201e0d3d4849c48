"""`bananabatch run automatic|semi-auto`: create a whole job, wait for it, write the results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bananabatch.cli.app import (
    EXIT_BAD_INPUT,
    console,
    errors_exit,
    interrupt_exit,
    interrupt_name,
    open_backend,
    run_app,
)
from bananabatch.cli.inputs import (
    batch_fallback_of,
    dataset_source,
    job_options,
    read_prompts_csv,
    report_ingest,
    resolve_dataset,
    upload_dataset,
)
from bananabatch.cli.job_flow import check_first, create_job, finish
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
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)


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
    source, stored = dataset_source(dataset, dataset_id)
    options = job_options(aspect_ratio, image_size, fmt)
    csv_text = read_prompts_csv(prompts_csv) if prompts_csv else None
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
        batch_fallback=batch_fallback_of(batch_fallback),
        webhook_url=webhook,
        trial=trial,
    )
    with open_backend() as backend:
        shown = check_first(backend, req)
        if stored is not None:
            with errors_exit():
                dataset_id = resolve_dataset(backend, stored, given_as_path=dataset == stored)
            console.print(f"Using stored dataset [bold]{dataset_id}[/bold] (nothing uploaded)")
        else:
            assert source is not None
            try:
                dataset_id = upload_dataset(backend, source)
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
    options = job_options(aspect_ratio, image_size, fmt)
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
        batch_fallback=batch_fallback_of(batch_fallback),
        webhook_url=webhook,
        trial=trial,
    )
    with open_backend() as backend:
        shown = check_first(backend, req)
        with errors_exit():
            summary = backend.store_references(refs)
        report_ingest(summary)
        if summary.errors:
            raise typer.Exit(EXIT_BAD_INPUT)
        req.reference_asset_ids = summary.asset_ids
        finish(backend, create_job(backend, req, out_path, shown), out_path)
