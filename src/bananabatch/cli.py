"""The `bananabatch` command line: serve the product, or run whole jobs headless.

Exit codes mean something: 0 every output succeeded; 1 finished with some
outputs failed or blocked; 2 bad input (nothing was started); 3 the job failed
entirely; 4 the job was cancelled; 130 interrupted (the job is saved and
resumes with `bananabatch jobs resume JOB_ID`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bananabatch import __version__
from bananabatch.config import Settings, get_settings
from bananabatch.db.models import Job, JobStatus
from bananabatch.errors import BananaBatchError
from bananabatch.export.archive import ExportSelection, stream_job_zip
from bananabatch.ingest.paths import is_ignored_path
from bananabatch.ingest.service import IngestReport, create_dataset, ingest_files, ingest_zip
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services import jobs as job_service
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    JobCreate,
    JobOptionsIn,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)

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
EXIT_FOR_STATUS = {
    JobStatus.completed: EXIT_OK,
    JobStatus.completed_with_errors: EXIT_PARTIAL,
    JobStatus.failed: EXIT_FAILED,
    JobStatus.cancelled: EXIT_CANCELLED,
}
INGEST_CHUNK = 100

app = typer.Typer(
    help="BananaBatch: batch image generation with Nano Banana (Gemini image models).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
run_app = typer.Typer(help="Run a whole job in this process and wait for it.", no_args_is_help=True)
jobs_app = typer.Typer(help="Inspect and act on jobs.", no_args_is_help=True)
app.add_typer(run_app, name="run")
app.add_typer(jobs_app, name="jobs")


def _setup_logging(verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING
    logging.basicConfig(
        level=level,
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
) -> None:
    _setup_logging(verbose)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    insecure_no_auth: Annotated[
        bool, typer.Option("--insecure-no-auth", help="Allow a public host without a password.")
    ] = False,
) -> None:
    """Serve the web UI, the REST API and the orchestrator in one process."""
    from bananabatch.server import serve as run_server

    settings = get_settings()
    with _errors_exit():
        run_server(
            settings,
            host=host or settings.host,
            port=port or settings.port,
            insecure_no_auth=insecure_no_auth,
        )


@contextmanager
def _errors_exit() -> Iterator[None]:
    try:
        yield
    except BananaBatchError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


# ---- dataset ingest ----------------------------------------------------------------


def _iter_folder(root: Path) -> list[tuple[str, Path]]:
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not path.is_symlink() and not is_ignored_path(rel):
            files.append((rel, path))
    return files


def _report_ingest(report: IngestReport) -> None:
    for err in report.errors:
        console.print(f"[yellow]skipped[/yellow] {err.rel_path}: {err.message}")
    dupes = sum(1 for f in report.accepted if f.duplicate)
    console.print(
        f"[green]{len(report.accepted)} image(s) ready[/green]"
        + (f" ({dupes} already stored)" if dupes else "")
        + (f", [yellow]{len(report.errors)} skipped[/yellow]" if report.errors else "")
    )


def _ingest_dataset(runtime: Runtime, source: Path) -> str:
    with runtime.session_factory() as session:
        dataset = create_dataset(session, source.stem)
        session.commit()
        dataset_id = dataset.id
        if source.is_file() and source.suffix.lower() == ".zip":
            console.print(f"Importing {source} ...")
            report = ingest_zip(session, runtime.storage, runtime.settings, dataset_id, source)
        elif source.is_dir():
            files = _iter_folder(source)
            report = IngestReport(accepted=[], errors=[])
            with _progress() as progress:
                bar = progress.add_task("Uploading images", total=len(files))
                for i in range(0, len(files), INGEST_CHUNK):
                    chunk = files[i : i + INGEST_CHUNK]
                    handles: list[tuple[str, BinaryIO]] = [(rel, p.open("rb")) for rel, p in chunk]
                    try:
                        part = ingest_files(
                            session, runtime.storage, runtime.settings, dataset_id, handles
                        )
                    finally:
                        for _, fh in handles:
                            fh.close()
                    report.accepted.extend(part.accepted)
                    report.errors.extend(part.errors)
                    progress.advance(bar, len(chunk))
        else:
            raise typer.BadParameter(f"{source} is neither a folder nor a .zip file")
    _report_ingest(report)
    if not report.accepted:
        console.print("[red]error:[/red] no usable images in the dataset; nothing to run.")
        raise typer.Exit(EXIT_BAD_INPUT)
    return dataset_id


def _store_references(runtime: Runtime, refs: list[Path]) -> list[str]:
    handles: list[tuple[str, BinaryIO]] = [(p.name, p.open("rb")) for p in refs]
    try:
        with runtime.session_factory() as session:
            report = ingest_files(session, runtime.storage, runtime.settings, None, handles)
    finally:
        for _, fh in handles:
            fh.close()
    _report_ingest(report)
    if report.errors:
        raise typer.Exit(EXIT_BAD_INPUT)
    return [f.asset_id for f in report.accepted]


# ---- running ----------------------------------------------------------------------------


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


async def _drive(runtime: Runtime, job_id: str) -> str:
    """Run the orchestrator until the job is terminal, with a progress bar."""
    await runtime.start()
    try:
        with _progress() as progress:
            with runtime.session_factory() as session:
                job = job_service.get_job(session, job_id)
                total = job.total_outputs
            bar = progress.add_task(f"Generating ({job.model})", total=total)
            waiter = asyncio.create_task(runtime.orchestrator.wait_for_jobs([job_id]))
            while not waiter.done():
                await asyncio.wait({waiter}, timeout=0.5)
                counts = await asyncio.to_thread(_counts, runtime, job_id)
                done = total - counts["pending"]
                progress.update(bar, completed=done)
            await waiter
    finally:
        await runtime.stop()
    with runtime.session_factory() as session:
        return job_service.get_job(session, job_id).status


def _counts(runtime: Runtime, job_id: str) -> dict[str, int]:
    with runtime.session_factory() as session:
        return job_service.job_counts(session, job_id)


def _run_job(runtime: Runtime, job_id: str, dest: Path | None) -> None:
    try:
        status = asyncio.run(_drive(runtime, job_id))
    except KeyboardInterrupt:
        console.print(
            f"\n[yellow]Interrupted.[/yellow] Job {job_id} is saved; nothing finished is lost. "
            f"Resume it with: [bold]bananabatch jobs resume {job_id}[/bold]"
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _summary(runtime, job_id)
    if dest is not None:
        _export(runtime, job_id, dest)
    raise typer.Exit(EXIT_FOR_STATUS.get(JobStatus(status), EXIT_FAILED))


def _summary(runtime: Runtime, job_id: str) -> None:
    with runtime.session_factory() as session:
        job = job_service.get_job(session, job_id)
        counts = job_service.job_counts(session, job_id)
    console.print(
        f"Job [bold]{job.id}[/bold] {job.status}: {counts['succeeded']} succeeded, "
        f"{counts['failed']} failed, {counts['blocked']} blocked, {counts['cancelled']} cancelled "
        f"of {counts['total']} (cost ${job.cost_actual:.2f})"
    )


def _export(runtime: Runtime, job_id: str, dest: Path) -> None:
    """Write the job's archive to DEST.zip, or unpack it into the folder DEST."""
    _, chunks, _ = stream_job_zip(
        runtime.session_factory,
        runtime.storage,
        job_id,
        ExportSelection(),
        part_bytes=runtime.settings.export_part_bytes,
    )
    if dest.suffix.lower() == ".zip":
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
        console.print(f"Wrote {dest}")
        return
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as tmp:
        for chunk in chunks:
            tmp.write(chunk)
        tmp.seek(0)
        with zipfile.ZipFile(tmp) as archive:
            archive.extractall(dest)  # names come from our own manifest, never from user paths
            n = len(archive.namelist())
    console.print(f"Wrote {n} files under {dest}/")


def _settings() -> Settings:
    return get_settings()


def _options(aspect_ratio: str | None, image_size: str | None, fmt: str) -> JobOptionsIn:
    return JobOptionsIn(aspect_ratio=aspect_ratio, image_size=image_size, output_format=fmt)  # type: ignore[arg-type]


def _create(runtime: Runtime, req: JobCreate) -> Job:
    with runtime.session_factory() as session:
        estimate = job_service.estimate_job(session, runtime.settings, runtime.catalog, req)
        for warning in estimate.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}")
        job = job_service.create_job(session, runtime.settings, runtime.catalog, req)
    console.print(
        f"Job [bold]{job.id}[/bold]: {estimate.outputs} image(s) in {estimate.tasks} task(s), "
        f"model {estimate.model} ({estimate.provider}), estimated ${estimate.cost_usd:.2f}"
    )
    return job


OutOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write results to a folder, or to a .zip file.")
]
ModelOption = Annotated[str | None, typer.Option(help="Model id (see `bananabatch models`).")]
SeedOption = Annotated[int | None, typer.Option(help="Seed for reproducible prompts and images.")]
AspectOption = Annotated[str | None, typer.Option("--aspect-ratio", help='e.g. "1:1", "16:9".')]
SizeOption = Annotated[str | None, typer.Option("--image-size", help='e.g. "1K", "2K".')]
FormatOption = Annotated[str, typer.Option("--format", help="png, jpeg or webp.")]


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
        bool, typer.Option(help="Put originals beside variations.")
    ] = False,
    aspect_ratio: AspectOption = None,
    image_size: SizeOption = None,
    fmt: FormatOption = "png",
    priority: Annotated[int, typer.Option(help="Higher runs first.")] = 0,
    out_path: OutOption = None,
) -> None:
    """Augment a dataset: every image x N variations; results mirror the dataset layout."""
    if not dataset.exists():
        console.print(f"[red]error:[/red] {dataset} does not exist")
        raise typer.Exit(EXIT_BAD_INPUT)
    with _errors_exit():
        runtime = build_runtime(_settings())
        dataset_id = _ingest_dataset(runtime, dataset)
        req = AutomaticJobCreate(
            name=name or dataset.stem,
            dataset_id=dataset_id,
            prompt=prompt,
            variations=variations,
            model=model,
            seed=seed,
            options=_options(aspect_ratio, image_size, fmt),
            include_originals=include_originals,
            prompts_csv=prompts_csv.read_text(encoding="utf-8") if prompts_csv else None,
            priority=priority,
        )
        job = _create(runtime, req)
    _run_job(runtime, job.id, out_path)


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
    priority: Annotated[int, typer.Option(help="Higher runs first.")] = 0,
    out_path: OutOption = None,
) -> None:
    """Creative generation: reference images + prompts, each count split into runs of 4."""
    refs = ref or []
    for p in refs:
        if not p.is_file():
            console.print(f"[red]error:[/red] reference {p} is not a file")
            raise typer.Exit(EXIT_BAD_INPUT)
    with _errors_exit():
        runtime = build_runtime(_settings())
        asset_ids = _store_references(runtime, refs)
        req = SemiAutoJobCreate(
            name=name,
            reference_asset_ids=asset_ids,
            prompts=[SemiAutoPromptIn(prompt=p, count=count) for p in prompt],
            model=model,
            seed=seed,
            options=_options(aspect_ratio, image_size, fmt),
            priority=priority,
        )
        job = _create(runtime, req)
    _run_job(runtime, job.id, out_path)


# ---- jobs ------------------------------------------------------------------------------


@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help="Only jobs in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """List jobs, newest first."""
    from sqlalchemy import select

    with _errors_exit():
        runtime = build_runtime(_settings())
        with runtime.session_factory() as session:
            query = select(Job).order_by(Job.created_at.desc()).limit(limit)
            if status:
                query = query.where(Job.status == status)
            jobs = session.scalars(query).all()
            table = Table("id", "name", "mode", "model", "status", "progress", "cost")
            for job in jobs:
                counts = job_service.job_counts(session, job.id)
                done = counts["total"] - counts["pending"]
                table.add_row(
                    job.id,
                    job.name,
                    job.mode,
                    job.model,
                    job.status,
                    f"{done}/{counts['total']}",
                    f"${job.cost_actual:.2f}",
                )
        runtime.engine.dispose()
    out.print(table)


@jobs_app.command("show")
def jobs_show(job_id: str) -> None:
    """Show a job with its counts and batches."""
    with _errors_exit():
        runtime = build_runtime(_settings())
        with runtime.session_factory() as session:
            job = job_service.get_job(session, job_id)
            counts = job_service.job_counts(session, job_id)
            out.print(f"[bold]{job.name}[/bold] ({job.id})")
            out.print(
                f"mode {job.mode} · model {job.model} · status {job.status} · priority {job.priority}"
            )
            out.print(
                ", ".join(f"{k} {v}" for k, v in counts.items())
                + f" · cost ${job.cost_actual:.2f} of ~${job.cost_estimate:.2f}"
            )
            for batch in job.batches:
                out.print(f"  batch {batch.position + 1}: {batch.name} ({batch.count} images)")
        runtime.engine.dispose()


def _act(job_id: str, action: str) -> Runtime:
    runtime = build_runtime(_settings())
    with runtime.session_factory() as session:
        if action == "cancel":
            job_service.cancel_job(session, job_id)
        elif action == "pause":
            job_service.pause_job(session, job_id)
        elif action == "retry":
            n = job_service.retry_failed(session, job_id)
            console.print(f"{n} failed output(s) queued again")
    return runtime


@jobs_app.command("cancel")
def jobs_cancel(job_id: str) -> None:
    """Cancel a job (what has not started is never paid for)."""
    with _errors_exit():
        _act(job_id, "cancel").engine.dispose()
    console.print(f"Job {job_id} cancelled")


@jobs_app.command("pause")
def jobs_pause(job_id: str) -> None:
    """Pause a job: nothing new is dispatched until it is resumed."""
    with _errors_exit():
        _act(job_id, "pause").engine.dispose()
    console.print(f"Job {job_id} paused")


@jobs_app.command("retry")
def jobs_retry(
    job_id: str,
    out_path: OutOption = None,
) -> None:
    """Queue a job's failed outputs again and run them until done."""
    with _errors_exit():
        runtime = _act(job_id, "retry")
    _run_job(runtime, job_id, out_path)


@jobs_app.command("resume")
def jobs_resume(job_id: str, out_path: OutOption = None) -> None:
    """Run an interrupted (or paused) job to the end in this process."""
    with _errors_exit():
        runtime = build_runtime(_settings())
        with runtime.session_factory() as session:
            job = job_service.get_job(session, job_id)
            if job.status == JobStatus.paused:
                job_service.resume_job(session, job_id)
    _run_job(runtime, job_id, out_path)


@jobs_app.command("export")
def jobs_export(
    job_id: str, dest: Annotated[Path, typer.Argument(help="A folder or a .zip file.")]
) -> None:
    """Export a job's results (works while it still runs: pending outputs are in the manifest)."""
    with _errors_exit():
        runtime = build_runtime(_settings())
        job_service.get_job(runtime.session_factory(), job_id)
        _export(runtime, job_id, dest)
        runtime.engine.dispose()


@app.command()
def models() -> None:
    """List the model catalog with limits and prices."""
    from bananabatch.catalog import load_catalog

    table = Table("id", "name", "provider", "max refs", "sizes", "price/image")
    for m in load_catalog().models():
        prices = ", ".join(f"{k} ${v:.3f}" for k, v in m.price_per_image.items())
        table.add_row(
            m.id,
            m.display_name,
            m.provider,
            str(m.max_reference_images),
            ", ".join(m.image_sizes) or "-",
            prices,
        )
    out.print(table)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()


if __name__ == "__main__":
    main()
