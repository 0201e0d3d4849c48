"""Commands about the installation: version, serve, openapi, status, models, spend."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from bananabatch import __version__
from bananabatch.cli.app import (
    EXIT_BAD_INPUT,
    MODELS_WIDTH,
    app,
    console,
    errors_exit,
    load_settings,
    open_backend,
    out,
)


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


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
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            help="debug, info, warning or error (default BANANABATCH_LOG_LEVEL, else info); "
            "debug adds a line per request.",
        ),
    ] = None,
) -> None:
    """Serve the web UI and the REST API, and run the jobs (in a child process)."""
    from bananabatch.server import serve as run_server

    with errors_exit():
        settings = load_settings()
        if log_level is not None:
            settings = settings.model_copy(update={"log_level": log_level.value})
        logging.getLogger("bananabatch").setLevel(settings.log_level.upper())
        run_server(
            settings,
            host=host or settings.host,
            port=port or settings.port,
            insecure_no_auth=insecure_no_auth,
            announce=lambda text: console.print(text, highlight=False, markup=False),
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
    with open_backend() as backend:
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


@app.command()
def spend(
    by: Annotated[str, typer.Option(help="day, job or model")] = "day",
    since: Annotated[str | None, typer.Option(help="From this UTC day on (YYYY-MM-DD).")] = None,
) -> None:
    """What was paid, from the spend ledger: by day, job or model."""
    if by not in ("day", "job", "model"):
        console.print("[red]error:[/red] --by must be day, job or model")
        raise typer.Exit(EXIT_BAD_INPUT)
    with open_backend() as backend, errors_exit():
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
