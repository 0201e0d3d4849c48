"""The planner: a job spec becomes batches of tasks of output slots. Pure.

Automatic mode (`plan_automatic`): every source image x V variations, one source per
task, one batch per top-level dataset folder. Semi-automatic mode (`plan_semi_auto`):
one batch per prompt, its count split into runs that share the job's references.
This module gathers both planners and the plan's types (`plan`) under one name.
"""

from __future__ import annotations

from bananabatch.domain.plan import (
    BATCH_NAME_MAX,
    FLAT_BATCH,
    MAX_OUTPUTS_PER_TASK,
    MAX_SEMI_AUTO_COUNT,
    MAX_VARIATIONS,
    ROOT_BATCH,
    AutomaticSpec,
    Plan,
    PlannedBatch,
    PlannedOutput,
    PlannedTask,
    SemiAutoPrompt,
    SemiAutoSpec,
    SourceImage,
    top_level_folder,
)
from bananabatch.domain.plan_automatic import (
    check_automatic_spec,
    plan_automatic,
    preview_automatic_prompts,
)
from bananabatch.domain.plan_semi_auto import batch_name_for_prompt, plan_semi_auto

__all__ = [
    "BATCH_NAME_MAX",
    "FLAT_BATCH",
    "MAX_OUTPUTS_PER_TASK",
    "MAX_SEMI_AUTO_COUNT",
    "MAX_VARIATIONS",
    "ROOT_BATCH",
    "AutomaticSpec",
    "Plan",
    "PlannedBatch",
    "PlannedOutput",
    "PlannedTask",
    "SemiAutoPrompt",
    "SemiAutoSpec",
    "SourceImage",
    "batch_name_for_prompt",
    "check_automatic_spec",
    "plan_automatic",
    "plan_semi_auto",
    "preview_automatic_prompts",
    "top_level_folder",
]
