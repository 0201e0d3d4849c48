"""The `bananabatch` command line: serve the product, or run whole jobs headless.

Every job command runs on the embedded engine (this process, the data dir) or,
with `--server URL` (or BANANABATCH_SERVER), on a running `bananabatch serve`
through its REST API; the token comes from BANANABATCH_TOKEN.

Exit codes mean something: 0 every output succeeded; 1 finished with some
outputs failed or blocked; 2 bad input (nothing was started); 3 the job failed
entirely; 4 the job was cancelled; 130 interrupted (the job is saved and
resumes with `bananabatch jobs resume JOB_ID`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from bananabatch import __version__
from bananabatch.cli_backends import Backend, IngestSummary, LocalBackend, RemoteBackend
from bananabatch.cli_review import ReviewPlan, describe_labels, run_review
from bananabatch.client import ApiClient
from bananabatch.config import Settings, get_settings
from bananabatch.db.models import JobStatus
from bananabatch.errors import BananaBatchError, ValidationFailed
from bananabatch.export.entries import ExportSelection
from bananabatch.quality.flags import Flag
from bananabatch.runtime import build_runtime
from bananabatch.services.job_requests import (
    MAX_PROMPTS_CSV_CHARS,
    AutomaticJobCreate,
    JobCreate,
    JobOptionsIn,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)
from bananabatch.services.queries import JobDetail

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
app.add_typer(run_app, name="run")
app.add_typer(jobs_app, name="jobs")

_server: str | None = None
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
    global _server
    _setup_logging(verbose)
    _server = server.rstrip("/") if server else None


@contextmanager
def _errors_exit() -> Iterator[None]:
    try:
        yield
    except BananaBatchError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _settings() -> Settings:
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
def _backend() -> Iterator[Backend]:
    """The embedded engine, or the server named by --server."""
    backend: Backend
    with _errors_exit():
        if _server:
            backend = RemoteBackend(ApiClient.from_env(_server))
        else:
            backend = LocalBackend(build_runtime(_settings()))
        try:
            yield backend
        finally:
            backend.close()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


# ---- server ------------------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    insecure_no_auth: Annotated[
        bool, typer.Option("--insecure-no-auth", help="Allow a public host without a password.")
    ] = False,
) -> None:
    """Serve the web UI, the REST API and the orchestrator in one process."""
    from bananabatch.server import serve as run_server

    with _errors_exit():
        settings = _settings()
        run_server(
            settings,
            host=host or settings.host,
            port=port or settings.port,
            insecure_no_auth=insecure_no_auth,
        )


@app.command()
def openapi() -> None:
    """Print the REST API's OpenAPI schema (the web UI's types are generated from it)."""
    from bananabatch.api.openapi import openapi_json

    sys.stdout.write(openapi_json())


def _lifecycle_cell(status: str, released: str, deprecated: str, shutdown: str) -> str:
    """`current (since 2026-10-06)`, `deprecated 2026-09-18`, `shut down 2026-10-29`."""
    if status == "shut_down":
        return f"[red]shut down[/red] {shutdown}".rstrip()
    if status == "deprecated":
        ends = f", ends {shutdown}" if shutdown else ""
        return f"[yellow]deprecated[/yellow] {deprecated}{ends}".rstrip()
    return f"current (since {released})" if released else "current"


def _prices_cell(prices: dict[str, float]) -> str:
    """`1K $0.0336, 4K $0.1134`, or `$0.039` for a model without sizes."""
    usd = {k: f"${v:.4f}".rstrip("0").rstrip(".") for k, v in prices.items()}
    return ", ".join(v if k == "default" else f"{k} {v}" for k, v in usd.items())


@app.command()
def status() -> None:
    """Where jobs run and what the executor reports (RunPod workers and queue)."""
    with _backend() as backend:
        info = backend.status()
    ex = info["executor"]
    table = Table("", "")
    table.add_row("executor", str(ex.get("kind", "?")))
    if ex.get("kind") == "runpod":
        table.add_row("endpoint", str(ex.get("endpoint_id", "")))
        table.add_row("reachable", "yes" if ex.get("ok") else f"no: {ex.get('error', '?')}")
        workers = ex.get("workers") or {}
        jobs = ex.get("jobs") or {}
        table.add_row("workers", ", ".join(f"{k} {v}" for k, v in workers.items()) or "-")
        table.add_row("endpoint jobs", ", ".join(f"{k} {v}" for k, v in jobs.items()) or "-")
        table.add_row(
            "our tasks",
            f"{ex.get('queued', 0)} queued (oldest {ex.get('oldest_queued_seconds', 0)} s), "
            f"{ex.get('running', 0)} running",
        )
    else:
        table.add_row("in flight", f"{ex.get('in_flight', 0)} of {ex.get('max', '?')}")
    storage = info["storage"]
    table.add_row(
        "storage", f"{storage.get('kind', '?')} ({'ok' if storage.get('ok') else 'NOT ok'})"
    )
    table.add_row("provider", f"{info['provider']} (default model {info['default_model']})")
    table.add_row("Gemini key", "configured" if info["gemini_key_configured"] else "not set")
    out.print(table)


@app.command()
def models() -> None:
    """List the model catalog: lifecycle, limits and prices (standard and Batch API)."""
    from bananabatch.catalog import load_catalog
    from bananabatch.domain.lifecycle import utc_today

    catalog = load_catalog()
    today = utc_today()
    table = Table(
        Column("id", no_wrap=True),
        Column("status", no_wrap=True),
        Column("use instead", no_wrap=True),
        "max refs",
        Column("sizes", no_wrap=True),
        Column("price/image", no_wrap=True),
        Column("batch/image", no_wrap=True),
    )
    for m in catalog.models():
        status = m.status_on(today)
        successor = catalog.successor(m, today) if status != "current" else None
        table.add_row(
            m.id,
            _lifecycle_cell(
                status,
                m.released_on.isoformat() if m.released_on else "",
                m.deprecated_on.isoformat() if m.deprecated_on else "",
                m.shutdown_on.isoformat() if m.shutdown_on else "",
            ),
            successor.id if successor else "-",
            str(m.max_reference_images),
            ", ".join(m.image_sizes) or "-",
            _prices_cell(m.price_per_image),
            _prices_cell(m.batch_price_per_image),
        )
    Console(width=max(out.width, MODELS_WIDTH)).print(table)
    out.print(
        "Deprecated models are accepted with a warning; shut-down models are refused. "
        "Prices: USD per output image (docs/providers.md cites the sources)."
    )


# ---- running jobs ------------------------------------------------------------------------


def _report_ingest(summary: IngestSummary) -> None:
    for path, message in summary.errors:
        console.print(f"[yellow]skipped[/yellow] {path}: {message}")
    console.print(
        f"[green]{summary.accepted} image(s) ready[/green]"
        + (f" ({summary.duplicates} already stored)" if summary.duplicates else "")
        + (f", [yellow]{len(summary.errors)} skipped[/yellow]" if summary.errors else "")
    )


def _create(backend: Backend, req: JobCreate) -> str:
    with _errors_exit():
        estimate = backend.estimate(req)
        for warning in estimate.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}")
        job_id = backend.create(req)
    console.print(
        f"Job [bold]{job_id}[/bold]: {estimate.outputs} image(s) in {estimate.tasks} task(s), "
        f"model {estimate.model} ({estimate.provider}), estimated ${estimate.cost_usd:.2f}"
    )
    return job_id


def _finish(backend: Backend, job_id: str, dest: Path | None) -> None:
    """Wait for the job (running it when embedded), summarise, export, exit with its code."""
    try:
        with _progress() as progress:
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
        with _errors_exit():
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
    with _errors_exit():
        try:
            return JobOptionsIn.model_validate(
                {"aspect_ratio": aspect_ratio, "image_size": image_size, "output_format": fmt}
            )
        except ValueError:
            raise BananaBatchError("--format must be png, jpeg or webp.") from None


MaxCostOption = Annotated[
    float | None,
    typer.Option(
        min=0.01,
        help="Most this job may spend (USD); it stops there (exit 5) with what it made.",
    ),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write results to a folder, or to a .zip file.")
]
ModelOption = Annotated[str | None, typer.Option(help="Model id (see `bananabatch models`).")]
SeedOption = Annotated[int | None, typer.Option(help="Seed for reproducible prompts and images.")]
AspectOption = Annotated[str | None, typer.Option("--aspect-ratio", help='e.g. "1:1", "16:9".')]
SizeOption = Annotated[str | None, typer.Option("--image-size", help='e.g. "1K", "2K".')]
FormatOption = Annotated[str, typer.Option("--format", help="png, jpeg or webp.")]
PriorityOption = Annotated[int, typer.Option(help="Higher runs first.")]


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


@run_app.command("automatic")
def run_automatic(
    dataset: Annotated[
        Path, typer.Argument(help="A folder of images (class sub-folders kept) or a .zip.")
    ],
    prompt: Annotated[str, typer.Option(help="Base prompt; templating: {filename} {class} {a|b}.")],
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
    out_path: OutOption = None,
) -> None:
    """Augment a dataset: every image x N variations; results mirror the dataset layout."""
    if not dataset.exists():
        console.print(f"[red]error:[/red] {dataset} does not exist")
        raise typer.Exit(EXIT_BAD_INPUT)
    options = _options(aspect_ratio, image_size, fmt)
    csv_text = _read_prompts_csv(prompts_csv) if prompts_csv else None
    with _backend() as backend:
        with _errors_exit():
            backend.ensure_can_run()
        with _progress() as progress:
            bar = progress.add_task("Uploading images", total=None)
            with _errors_exit():
                dataset_id, summary = backend.ingest_dataset(
                    dataset, lambda done, total: progress.update(bar, completed=done, total=total)
                )
        _report_ingest(summary)
        if not summary.accepted:
            console.print("[red]error:[/red] no usable images in the dataset; nothing to run.")
            raise typer.Exit(EXIT_BAD_INPUT)
        with _errors_exit():
            labels = backend.dataset_labels(dataset_id)
        for line in describe_labels(labels) if labels else []:
            console.print(line)
        req = AutomaticJobCreate(
            name=name or dataset.stem,
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
        )
        _finish(backend, _create(backend, req), out_path)


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
    out_path: OutOption = None,
) -> None:
    """Creative generation: reference images + prompts, each count split into runs of 4."""
    refs = ref or []
    for p in refs:
        if not p.is_file():
            console.print(f"[red]error:[/red] reference {p} is not a file")
            raise typer.Exit(EXIT_BAD_INPUT)
    options = _options(aspect_ratio, image_size, fmt)
    with _backend() as backend:
        with _errors_exit():
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
        )
        _finish(backend, _create(backend, req), out_path)


# ---- jobs ------------------------------------------------------------------------------------


@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help="Only jobs in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """List jobs, newest first."""
    with _backend() as backend, _errors_exit():
        jobs = backend.list_jobs(status, limit)
    id_width = max((len(j.id) for j in jobs.items), default=2)
    table = Table(
        Column("id", no_wrap=True, min_width=id_width),
        "name",
        "mode",
        "model",
        Column("status", no_wrap=True),
        "progress",
        "cost",
    )
    for job in jobs.items:
        done = job.counts.total - job.counts.pending
        table.add_row(
            job.id,
            job.name,
            job.mode,
            job.model,
            job.status.value,
            f"{done}/{job.counts.total}",
            f"${job.cost_actual:.2f}",
        )
    # Like `docker ps`: never cut a cell (the id is what `jobs show` takes) to fit a narrow
    # terminal or a pipe's 80 columns; a long line wraps in the terminal instead.
    Console(width=max(out.width, LIST_WIDTH)).print(table)


@jobs_app.command("show")
def jobs_show(job_id: str) -> None:
    """Show a job with its counts and batches."""
    with _backend() as backend, _errors_exit():
        job = backend.detail(job_id)
    c = job.counts
    out.print(f"[bold]{job.name}[/bold] ({job.id})")
    out.print(
        f"mode {job.mode} · model {job.model} · status {job.status.value} · priority {job.priority}"
    )
    out.print(
        f"pending {c.pending}, succeeded {c.succeeded}, failed {c.failed}, blocked {c.blocked}, "
        f"cancelled {c.cancelled}, total {c.total} · cost ${job.cost_actual:.2f} "
        f"of ~${job.cost_estimate:.2f}"
    )
    r = job.remote
    if r.queued or r.running or r.avg_delay_ms is not None:
        waited = ""
        if r.oldest_queued_since is not None:
            age = (datetime.now(UTC) - r.oldest_queued_since).total_seconds()
            waited = f" (oldest waiting {age / 60:.0f} min)"
        timings = (
            f" · mean queue wait {r.avg_delay_ms / 1000:.1f} s, run {r.avg_execution_ms / 1000:.1f} s"
            if r.avg_delay_ms is not None and r.avg_execution_ms is not None
            else ""
        )
        out.print(f"executor: {r.queued} task(s) queued{waited}, {r.running} running{timings}")
    for batch in job.batches:
        out.print(
            f"  batch {batch.position + 1}: {batch.name} "
            f"({batch.counts.succeeded}/{batch.count} succeeded)"
        )


def _act(job_id: str, action: str, message: str) -> None:
    with _backend() as backend, _errors_exit():
        n = backend.act(job_id, action)
    console.print(message.format(job_id=job_id, n=n))


@jobs_app.command("budget")
def jobs_budget(
    job_id: str,
    max_cost: Annotated[
        float | None, typer.Option(min=0.01, help="The job's new cap in USD; omit to remove it.")
    ] = None,
) -> None:
    """Change a job's budget cap; raising it releases a job held at its cap."""
    with _backend() as backend, _errors_exit():
        detail = backend.set_budget(job_id, max_cost)
    cap = f"${detail.max_cost:.2f}" if detail.max_cost is not None else "no cap"
    console.print(
        f"Job {job_id}: {cap}, ${detail.cost_actual:.2f} spent, now {detail.status.value}."
    )


@app.command()
def spend(
    by: Annotated[str, typer.Option(help="day, job or model")] = "day",
    since: Annotated[str | None, typer.Option(help="From this UTC day on (YYYY-MM-DD).")] = None,
) -> None:
    """What was paid, from the spend ledger: by day, job or model."""
    if by not in ("day", "job", "model"):
        console.print("[red]error:[/red] --by must be day, job or model")
        raise typer.Exit(EXIT_BAD_INPUT)
    with _backend() as backend, _errors_exit():
        summary = backend.spend(by, since)
    table = Table("cost", "images", "blocked/text", "paid twice", "batch calls")
    table.columns.insert(0, Column(by, overflow="fold"))  # ids are never cut
    for row in summary.rows:
        table.add_row(
            row.label,
            f"${row.cost:.4f}",
            str(row.images),
            str(row.blocked_or_text),
            f"{row.paid_twice} (${row.paid_twice_cost:.4f})",
            str(row.batch_calls),
        )
    out.print(table)
    out.print(f"total ${summary.total:.4f} (paid twice: ${summary.paid_twice_cost:.4f})")


@jobs_app.command("cancel")
def jobs_cancel(job_id: str) -> None:
    """Cancel a job (what has not started is never paid for)."""
    _act(job_id, "cancel", "Job {job_id} cancelled")


@jobs_app.command("pause")
def jobs_pause(job_id: str) -> None:
    """Pause a job: nothing new is dispatched until it is resumed."""
    _act(job_id, "pause", "Job {job_id} paused")


@jobs_app.command("retry")
def jobs_retry(job_id: str, out_path: OutOption = None) -> None:
    """Queue a job's failed outputs again and wait for them."""
    with _backend() as backend:
        with _errors_exit():
            backend.ensure_can_run()
            n = backend.act(job_id, "retry")
        console.print(f"{n} failed output(s) queued again")
        _finish(backend, job_id, out_path)


@jobs_app.command("resume")
def jobs_resume(job_id: str, out_path: OutOption = None) -> None:
    """Continue an interrupted or paused job and wait for it to finish."""
    with _backend() as backend:
        with _errors_exit():
            backend.ensure_can_run()
            if backend.detail(job_id).status == JobStatus.paused:
                backend.act(job_id, "resume")
        _finish(backend, job_id, out_path)


@jobs_app.command("export")
def jobs_export(
    job_id: str,
    dest: Annotated[Path, typer.Argument(help="A folder or a .zip file.")],
    accepted_only: Annotated[
        bool, typer.Option("--accepted-only", help="Only outputs accepted in review.")
    ] = False,
    include_flagged: Annotated[
        bool,
        typer.Option("--include-flagged", help="Keep label-unsafe outputs in a labelled export."),
    ] = False,
) -> None:
    """Export a job's results (works while it runs: pending outputs are in the manifest).
    A job on a YOLO, COCO or VOC dataset exports as that dataset, labels included."""
    selection = ExportSelection(accepted_only=accepted_only, include_flagged=include_flagged)
    with _backend() as backend, _errors_exit():
        n = backend.export(job_id, dest, selection)
    console.print(f"Wrote {dest} ({n} files)")


@app.command()
def review(
    job_id: str,
    reject: Annotated[list[str] | None, typer.Option(help="Reject this output (repeat).")] = None,
    accept: Annotated[list[str] | None, typer.Option(help="Accept this output (repeat).")] = None,
    reject_flagged: Annotated[
        bool, typer.Option("--reject-flagged", help="Reject outputs with quality flags.")
    ] = False,
    flag: Annotated[
        list[Flag] | None,
        typer.Option(help="With --reject-flagged: only these flags (repeat); default any."),
    ] = None,
    accept_rest: Annotated[
        bool, typer.Option("--accept-rest", help="Accept every output not reviewed yet.")
    ] = False,
    regenerate: Annotated[
        bool,
        typer.Option("--regenerate-rejected", help="Generate the rejected outputs again."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before paying.")] = False,
    out_path: OutOption = None,
) -> None:
    """Review a job's outputs: show flags and review state, reject or accept outputs
    (by id, or all flagged ones), and generate the rejected ones again (priced first)."""
    plan = ReviewPlan(
        reject_ids=reject or [],
        accept_ids=accept or [],
        reject_flagged=reject_flagged,
        flags=flag or [],
        accept_rest=accept_rest,
        regenerate=regenerate,
    )
    with _backend() as backend:
        with _errors_exit():
            if regenerate:
                backend.ensure_can_run()
            queued = run_review(
                backend, job_id, plan, out, lambda q: yes or typer.confirm(q, default=False)
            )
        if queued:
            _finish(backend, job_id, out_path)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
