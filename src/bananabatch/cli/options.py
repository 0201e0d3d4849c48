"""Option types shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
