"""Creating a job and waiting for it, shared by `run`, `jobs` and `review`: the seed
drawn before the estimate, the checks before any upload, the summary, the export and
the exit code the job's outcome gives."""

from __future__ import annotations

from pathlib import Path

import typer

from bananabatch.cli.app import (
    EXIT_BUDGET,
    EXIT_FAILED,
    EXIT_FOR_STATUS,
    console,
    errors_exit,
    interrupt_exit,
    interrupt_name,
    progress_bar,
    state,
)
from bananabatch.cli.backends import Backend
from bananabatch.cli.run_state import remember_out
from bananabatch.domain.seeds import new_job_seed
from bananabatch.services.job_requests import (
    JobCreate,
)
from bananabatch.services.queries import JobDetail


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
