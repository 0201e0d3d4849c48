"""`bananabatch jobs ...`: list, show and act on jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from bananabatch.cli.app import (
    EXIT_BAD_INPUT,
    LIST_WIDTH,
    console,
    errors_exit,
    jobs_app,
    open_backend,
    out,
)
from bananabatch.cli.backends import Backend
from bananabatch.cli.datasets import human_bytes
from bananabatch.cli.job_flow import finish
from bananabatch.cli.options import OutOption
from bananabatch.cli.recipe import print_recipe, retry_lines
from bananabatch.cli.run_state import remembered_out
from bananabatch.db.models import JobStatus
from bananabatch.export.entries import ExportSelection
from bananabatch.services.queries import JobSummary
from bananabatch.services.queries.views import (
    WebhookDeliveryOut,
)

JobRef = Annotated[str, typer.Argument(help="A job id, or a unique prefix of it (4+ chars).")]


def status_text(job: JobSummary) -> str:
    """`interrupted` for a job whose CLI run was stopped (it is paused until resumed)."""
    if job.status == JobStatus.paused and job.interrupted_at is not None:
        return "interrupted"
    return job.status.value


@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help="Only jobs in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """List jobs, newest first."""
    with open_backend() as backend, errors_exit():
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
            status_text(job),
            f"{done}/{job.counts.total}",
            f"${job.cost_actual:.2f}",
        )
    # Like `docker ps`: never cut a cell (the id is what `jobs show` takes) to fit a narrow
    # terminal or a pipe's 80 columns; a long line wraps in the terminal instead.
    Console(width=max(out.width, LIST_WIDTH)).print(table)


def webhook_line(hook: WebhookDeliveryOut) -> str:
    """`job.completed delivered (2 attempts, HTTP 204)` and the like."""
    tries = f"{hook.attempts} attempt{'s' if hook.attempts != 1 else ''}"
    status = f", HTTP {hook.last_status}" if hook.last_status is not None else ""
    line = f"{hook.event} {hook.state} ({tries}{status})"
    if hook.state == "pending" and hook.next_attempt_at is not None:
        line += f", next try {hook.next_attempt_at:%H:%M:%S} UTC"
    if hook.state != "delivered" and hook.last_error:
        line += f": {hook.last_error}"
    return line


@jobs_app.command("show")
def jobs_show(job_id: JobRef) -> None:
    """Show a job with its counts and batches."""
    with open_backend() as backend, errors_exit():
        job = backend.detail(backend.resolve(job_id))
    c = job.counts
    out.print(f"[bold]{job.name}[/bold] ({job.id})")
    out.print(
        f"mode {job.mode} · model {job.model} · status {status_text(job)} · priority {job.priority}"
    )
    if job.status == JobStatus.paused and job.interrupted_at is not None:
        out.print(
            f"interrupted {job.interrupted_at:%Y-%m-%d %H:%M:%S} UTC; resume it with: "
            f"bananabatch jobs resume {job.id}"
        )
    out.print(
        f"pending {c.pending}, succeeded {c.succeeded}, failed {c.failed}, blocked {c.blocked}, "
        f"cancelled {c.cancelled}, total {c.total} · cost ${job.cost_actual:.2f} "
        f"of ~${job.cost_estimate:.2f}"
    )
    if job.trial is not None and not job.trial.continued:
        out.print(
            f"trial on {c.total} of {job.trial.planned_outputs} image(s); the rest "
            f"({job.trial.rest_outputs}, ~${job.trial.rest_cost_usd:.2f}): "
            f"bananabatch jobs continue {job.id}"
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
    if job.route == "batch":
        out.print("route: Gemini Batch API (half price, results within 24 h)")
    for g in job.gemini_batches:
        if g.submitted_at is None:
            when = "not submitted yet"
        else:
            age = (datetime.now(UTC) - g.submitted_at).total_seconds()
            when = "submitted " + (f"{age / 3600:.1f} h" if age >= 3600 else f"{age / 60:.0f} min")
            when += " ago"
        overdue = " · OVERDUE: waiting past the Batch API's 24 h target" if g.overdue else ""
        problem = f" · {g.error}" if g.error else ""
        out.print(
            f"  Gemini batch {g.display_name}: {g.lines_read}/{g.lines} line(s) read, "
            f"{when}, {g.state}{overdue}{problem}"
        )
    for batch in job.batches:
        out.print(
            f"  batch {batch.position + 1}: {batch.name} "
            f"({batch.counts.succeeded}/{batch.count} succeeded)"
        )
    print_recipe(out, job)
    if job.failures.permanent:
        out.print(f"[yellow]{escape(job.failures.message or '')}[/yellow]", soft_wrap=True)
    if job.webhook_url:
        out.print(f"webhook: {escape(job.webhook_url)}")
    for hook in job.webhooks:
        out.print(f"  {escape(webhook_line(hook))}")


def _act(job_ref: str, action: str, message: str) -> None:
    with open_backend() as backend, errors_exit():
        job_id = backend.resolve(job_ref)
        n = backend.act(job_id, action)
    console.print(message.format(job_id=job_id, n=n))


@jobs_app.command("budget")
def jobs_budget(
    job_id: JobRef,
    max_cost: Annotated[
        float | None, typer.Option(min=0.01, help="The job's new cap in USD; omit to remove it.")
    ] = None,
) -> None:
    """Change a job's budget cap; raising it releases a job held at its cap."""
    with open_backend() as backend, errors_exit():
        detail = backend.set_budget(backend.resolve(job_id), max_cost)
    cap = f"${detail.max_cost:.2f}" if detail.max_cost is not None else "no cap"
    console.print(
        f"Job {detail.id}: {cap}, ${detail.cost_actual:.2f} spent, now {detail.status.value}."
    )


@jobs_app.command("cancel")
def jobs_cancel(job_id: JobRef) -> None:
    """Cancel a job (what has not started is never paid for)."""
    _act(job_id, "cancel", "Job {job_id} cancelled")


@jobs_app.command("pause")
def jobs_pause(job_id: JobRef) -> None:
    """Pause a job: nothing new is dispatched until it is resumed."""
    _act(job_id, "pause", "Job {job_id} paused")


@jobs_app.command("retry")
def jobs_retry(job_id: JobRef, out_path: OutOption = None) -> None:
    """Queue a job's failed outputs again and wait for them."""
    with open_backend() as backend:
        with errors_exit():
            backend.ensure_can_run()
            full_id = backend.resolve(job_id)
            before = backend.detail(full_id)  # the retry clears the errors it re-queues
            n = backend.act(full_id, "retry")
        console.print(f"{n} failed output(s) queued again")
        if n:
            for line in retry_lines(before):
                console.print(line, soft_wrap=True)
        finish(backend, full_id, _destination(full_id, out_path))


@jobs_app.command("continue")
def jobs_continue(job_id: JobRef, out_path: OutOption = None) -> None:
    """Run the rest of a trial and wait for it: the trial's images are kept, not made again."""
    with open_backend() as backend:
        with errors_exit():
            backend.ensure_can_run()
            full_id = backend.resolve(job_id)
            before = backend.detail(full_id)
            detail = backend.continue_trial(full_id)
        added = detail.total_outputs - before.total_outputs
        console.print(
            f"Job {full_id}: {added} more image(s) queued (about "
            f"${detail.cost_estimate - before.cost_estimate:.2f}); the trial's "
            f"{before.total_outputs} are kept."
        )
        finish(backend, full_id, _destination(full_id, out_path))


def _destination(job_id: str, out_path: Path | None) -> Path | None:
    """--out if given, else where the run that created the job wrote (if this machine ran
    it with --out)."""
    if out_path is not None:
        return out_path
    remembered = remembered_out(job_id)
    if remembered is not None:
        console.print(f"Writing to {remembered} (the --out of the run that created the job)")
    return remembered


def _resume(backend: Backend, job_id: str) -> None:
    """Resume a paused (or interrupted) job; one still queued or running just goes on."""
    if backend.detail(job_id).status == JobStatus.paused:
        backend.act(job_id, "resume")


@jobs_app.command("resume")
def jobs_resume(
    job_id: JobRef,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write results to a folder or a .zip (default: the --out of the original run).",
        ),
    ] = None,
) -> None:
    """Continue an interrupted or paused job, wait for it to finish and write its results."""
    with open_backend() as backend:
        with errors_exit():
            backend.ensure_can_run()
            full_id = backend.resolve(job_id)
            _resume(backend, full_id)
        finish(backend, full_id, _destination(full_id, out_path))


@jobs_app.command("export")
def jobs_export(
    job_id: JobRef,
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
    with open_backend() as backend, errors_exit():
        n = backend.export(backend.resolve(job_id), dest, selection)
    console.print(f"Wrote {dest} ({n} files)")


@jobs_app.command("delete")
def jobs_delete(
    job_id: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a finished or cancelled job with its files (outputs and thumbnails); what
    was paid stays in the spend ledger. A running job must be cancelled first."""
    with open_backend() as backend:
        with errors_exit():
            held_files = backend.job_storage(job_id)
        if not held_files.deletable:
            console.print(f"[red]error:[/red] {held_files.reason}")
            raise typer.Exit(EXIT_BAD_INPUT)
        if not yes:
            typer.confirm(
                f"Delete job {held_files.name!r} ({held_files.files} files, "
                f"{human_bytes(held_files.bytes)})?",
                abort=True,
            )
        with errors_exit():
            deleted = backend.delete_job(job_id)
    console.print(
        f"Deleted job {escape(deleted.name)!r}: freed {human_bytes(deleted.freed_bytes)} "
        f"in {deleted.freed_files} file(s)."
    )
