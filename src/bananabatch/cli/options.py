"""Option types shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bananabatch.domain.seeds import SEED_LIMIT
from bananabatch.domain.trials import MAX_TRIAL_SIZE
from bananabatch.notify.events import check_webhook_url

MaxCostOption = Annotated[
    float | None,
    typer.Option(
        min=0.01,
        help="Most this job may spend (USD); it stops there (exit 5) with what it made.",
    ),
]


def _check_webhook(value: str | None) -> str | None:
    """Refuse a bad URL before anything is uploaded."""
    if value is None:
        return None
    try:
        return check_webhook_url(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


WebhookOption = Annotated[
    str | None,
    typer.Option(
        "--webhook",
        metavar="URL",
        callback=_check_webhook,
        help="POST a signed JSON event here when the job completes, fails, is cancelled or "
        "is held at a budget cap (default: BANANABATCH_WEBHOOK_URL).",
    ),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write results to a folder, or to a .zip file.")
]
ModelOption = Annotated[str | None, typer.Option(help="Model id (see `bananabatch models`).")]
SeedOption = Annotated[
    int | None,
    typer.Option(
        min=0,
        max=SEED_LIMIT - 1,
        help="Seed for reproducible prompts and images (default: drawn at random, then shown).",
    ),
]
TrialOption = Annotated[
    int | None,
    typer.Option(
        "--trial",
        metavar="N",
        min=1,
        max=MAX_TRIAL_SIZE,
        help="Try on N images first (a sample across classes or prompts); "
        "`bananabatch jobs continue JOB` runs the rest and keeps them.",
    ),
]
AspectOption = Annotated[str | None, typer.Option("--aspect-ratio", help='e.g. "1:1", "16:9".')]
SizeOption = Annotated[str | None, typer.Option("--image-size", help='e.g. "1K", "2K".')]
FormatOption = Annotated[str, typer.Option("--format", help="png, jpeg or webp.")]
PriorityOption = Annotated[int, typer.Option(help="Higher runs first.")]
BatchApiOption = Annotated[
    bool,
    typer.Option(
        "--batch-api",
        help="Gemini Batch API: half price, results within 24 h (Gemini models only).",
    ),
]
BatchFallbackOption = Annotated[
    str,
    typer.Option(
        "--batch-fallback",
        help="With --batch-api: outputs of a batch that expired or lost its results run "
        "again in a new batch (batch) or at once at the standard price (standard).",
    ),
]
