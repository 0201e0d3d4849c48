"""How many of a job's reference images its model really uses.

A model may accept more references than it uses: the classic provider takes up
to its catalog limit so a job can switch models, but transforms only the first.
The user is told before the job starts (estimate, form) and on the job page.
"""

from __future__ import annotations

from bananabatch.catalog import ModelInfo


def references_used(model: ModelInfo, given: int) -> int:
    """References of the `given` that a call of `model` actually uses."""
    return max(0, min(given, model.references_used))


def reference_warning(model: ModelInfo, given: int) -> str | None:
    """A sentence when `model` uses fewer of the `given` references than were given."""
    used = references_used(model, given)
    if given <= used:
        return None
    ignored = given - used
    which = "only the first" if used == 1 else f"only the first {used}"
    if used == 0:
        which = "none"
    return (
        f"{model.display_name} uses {which} of the {given} reference images; "
        f"the other {ignored} {'is' if ignored == 1 else 'are'} ignored. "
        "Pick a Gemini model to use them all, or remove the ones it ignores."
    )
