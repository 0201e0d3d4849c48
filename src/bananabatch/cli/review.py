"""`bananabatch review`: accept, reject and regenerate a job's outputs."""

from __future__ import annotations

from typing import Annotated

import typer

from bananabatch.cli.app import app, errors_exit, open_backend, out
from bananabatch.cli.job_flow import finish
from bananabatch.cli.options import OutOption
from bananabatch.cli.review_plan import ReviewPlan, run_review
from bananabatch.quality.flags import Flag


@app.command()
def review(
    job_id: Annotated[str, typer.Argument(help="A job id, or a unique prefix of it.")],
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
    with open_backend() as backend:
        with errors_exit():
            job_id = backend.resolve(job_id)
            if regenerate:
                backend.ensure_can_run()
            queued = run_review(
                backend, job_id, plan, out, lambda q: yes or typer.confirm(q, default=False)
            )
        if queued:
            finish(backend, job_id, out_path)
