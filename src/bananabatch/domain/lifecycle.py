"""Which models a new job may use: a deprecated model is accepted with a warning, a
shut-down one is refused naming what to use instead.

Pure rules over the catalog data and a given day, so they are unit-tested without a
clock. Only new work is checked (estimate, create): jobs already stored on a model
that was shut down later still load, display and price (`Catalog.resolve`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from bananabatch.catalog import Catalog, ModelInfo
from bananabatch.errors import ModelShutDown


def utc_today() -> date:
    """Today in UTC: shutdown dates are calendar days at Google, not local ones."""
    return datetime.now(UTC).date()


def _instead(model: ModelInfo, catalog: Catalog, day: date) -> str:
    successor = catalog.successor(model, day)
    if successor is None:
        return "pick another model (see `bananabatch models` or GET /api/v1/models)"
    return f"use {successor.id} ({successor.display_name}) instead"


def lifecycle_warning(model: ModelInfo, catalog: Catalog, day: date) -> str | None:
    """None for a current model, a warning for a deprecated one; raises ModelShutDown
    (naming the replacement) for a model shut down on or before `day`."""
    status = model.status_on(day)
    if status == "shut_down":
        when = f" on {model.shutdown_on.isoformat()}" if model.shutdown_on else ""
        successor = catalog.successor(model, day)
        raise ModelShutDown(
            f"{model.id} was shut down{when} and no longer generates images; "
            f"{_instead(model, catalog, day)}.",
            details={
                "model": model.id,
                "shutdown": model.shutdown_on.isoformat() if model.shutdown_on else None,
                "replacement": successor.id if successor else None,
            },
        )
    if status == "deprecated":
        since = f" since {model.deprecated_on.isoformat()}" if model.deprecated_on else ""
        ends = (
            f"; Google shuts it down on {model.shutdown_on.isoformat()}"
            if model.shutdown_on
            else ""
        )
        note = f" {model.lifecycle_note}" if model.lifecycle_note else ""
        return (
            f"{model.id} is deprecated{since}{ends}.{note} "
            f"The job is accepted; for new work {_instead(model, catalog, day)}."
        )
    return None
