"""What a plan is: a job spec becomes batches of tasks of output slots. Pure.

The types every planner shares (specs, planned batches, tasks and outputs) and the
checks both modes make. Everything a plan holds (prompts, seeds, archive paths) is a
pure function of the spec, so planning the same spec twice gives the same plan.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from bananabatch.domain.naming import ext_for_format, normalize_rel_path
from bananabatch.domain.templating import VARIABLES, validate_template
from bananabatch.errors import TemplateError, ValidationFailed

MAX_VARIATIONS = 100
MAX_SEMI_AUTO_COUNT = 1000
MAX_OUTPUTS_PER_TASK = 16
BATCH_NAME_MAX = 60
FLAT_BATCH = ("all", "all")  # (name, slug) of the one batch of a flat dataset
ROOT_BATCH = ("(root)", "root")  # files at the root of a dataset that also has folders


@dataclass(frozen=True)
class SourceImage:
    rel_path: str
    asset_id: str


@dataclass(frozen=True)
class AutomaticSpec:
    prompt: str
    variations: int
    seed: int
    output_format: str = "png"
    outputs_per_task: int = 4
    per_image_prompts: Mapping[str, str] = field(default_factory=dict)  # rel_path -> template
    per_class_prompts: Mapping[str, str] = field(default_factory=dict)  # folder -> template


@dataclass(frozen=True)
class SemiAutoPrompt:
    prompt: str
    count: int


@dataclass(frozen=True)
class SemiAutoSpec:
    prompts: Sequence[SemiAutoPrompt]
    reference_count: int
    seed: int
    output_format: str = "png"
    outputs_per_task: int = 4


class PlannedOutput(NamedTuple):
    """One output slot. A named tuple, not a frozen dataclass: as immutable, and a
    100,000-output plan builds its slots in a third of the time."""

    position: int  # order within the job, 0-based
    variation: int  # automatic: 1..V per source; semi-auto: 1..count within the batch
    prompt: str  # rendered
    seed: int
    archive_path: str
    source_asset_id: str | None
    source_path: str | None


@dataclass(frozen=True)
class PlannedTask:
    position: int  # run index within its batch, 0-based
    outputs: tuple[PlannedOutput, ...]  # 1..outputs_per_task
    source_asset_id: str | None
    source_path: str | None


@dataclass(frozen=True)
class PlannedBatch:
    position: int
    name: str
    slug: str
    prompt: str  # the template (automatic: the class prompt or the base prompt)
    count: int  # outputs in the batch
    tasks: tuple[PlannedTask, ...]

    def outputs(self) -> Iterator[PlannedOutput]:
        for task in self.tasks:
            yield from task.outputs


@dataclass(frozen=True)
class Plan:
    batches: tuple[PlannedBatch, ...]
    warnings: tuple[str, ...] = ()  # things worth telling the user that do not stop the job

    @property
    def total_outputs(self) -> int:
        return sum(len(task.outputs) for batch in self.batches for task in batch.tasks)

    @property
    def total_tasks(self) -> int:
        return sum(len(batch.tasks) for batch in self.batches)

    def outputs(self) -> Iterator[PlannedOutput]:
        for batch in self.batches:
            yield from batch.outputs()


def top_level_folder(rel_path: str) -> str:
    """`cat/sub/1.jpg` -> `cat`; `1.jpg` -> `` (the dataset root)."""
    path = normalize_rel_path(rel_path)
    head, sep, _ = path.partition("/")
    return head if sep else ""


def check_common(outputs_per_task: int, output_format: str) -> str:
    if not 1 <= outputs_per_task <= MAX_OUTPUTS_PER_TASK:
        raise ValidationFailed(
            f"outputs_per_task must be between 1 and {MAX_OUTPUTS_PER_TASK}; "
            f"got {outputs_per_task}."
        )
    return ext_for_format(output_format)


def numbered_runs(total: int, size: int) -> Iterator[range]:
    """1-based numbers 1..total in runs of at most `size`: 10, 4 -> 1-4, 5-8, 9-10."""
    for start in range(1, total + 1, size):
        yield range(start, min(start + size, total + 1))


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def check_template(template: str, label: str, variables: Sequence[str] = VARIABLES) -> None:
    """Validate one template, saying which prompt it is (`label`) when there are several."""
    try:
        validate_template(template, variables=variables)
    except TemplateError as exc:
        if not label:
            raise
        message = exc.message
        if exc.position is not None:
            message = message.removesuffix(f" (at character {exc.position + 1})")
        raise TemplateError(f"{label}: {message}", position=exc.position) from exc
