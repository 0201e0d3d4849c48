"""Trial runs: a few output slots of a planned job, sampled across its batches. Pure.

A trial is the full job with only some of its slots created: the sampled slots
are the very outputs (same prompt, seed and archive path) the full job would
make, so running the rest later pays only for the slots the trial did not make.

The sample is stratified and deterministic from the job seed: batches (classes in
automatic mode, prompts in semi-automatic mode) take turns, so N images cover
as many classes as N allows; inside a batch, distinct source images come before
a second variation of the same source.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass, replace

from bananabatch.domain.plan import (
    Plan,
    PlannedBatch,
    PlannedOutput,
    PlannedTask,
)

DEFAULT_TRIAL_SIZE = 8
MAX_TRIAL_SIZE = 1000


def _batch_order(batch: PlannedBatch, rng: random.Random) -> list[int]:
    """Positions of `batch`'s outputs in the order the trial takes them: one output of
    every source (shuffled) before a second one of any."""
    groups: dict[str | int, list[PlannedOutput]] = {}
    for out in batch.outputs():
        key: str | int = out.source_path if out.source_path is not None else out.position
        groups.setdefault(key, []).append(out)
    members = list(groups.values())
    rng.shuffle(members)
    order: list[int] = []
    depth = max((len(m) for m in members), default=0)
    for rank in range(depth):
        order.extend(m[rank].position for m in members if rank < len(m))
    return order


def trial_sample(plan: Plan, size: int, seed: int) -> frozenset[int]:
    """Positions of `size` outputs of `plan` (all of them when the plan is smaller).

    Batches take turns in an order shuffled by `seed`; the same plan, size and seed
    always give the same sample.
    """
    if size < 1:
        raise ValueError("a trial has at least one output")
    rng = random.Random(f"bananabatch-trial:{seed}")
    queues = [_batch_order(batch, rng) for batch in plan.batches]
    turn = list(range(len(queues)))
    rng.shuffle(turn)
    chosen: list[int] = []
    rank = 0
    while len(chosen) < size and any(rank < len(q) for q in queues):
        for b in turn:
            if rank < len(queues[b]) and len(chosen) < size:
                chosen.append(queues[b][rank])
        rank += 1
    return frozenset(chosen)


def subplan(plan: Plan, positions: Collection[int], *, keep: bool = True) -> Plan:
    """`plan` with only the outputs at `positions` (or, keep=False, all the others).

    Tasks and batches left without outputs are dropped; a batch's `count` becomes the
    outputs it keeps. Everything kept is unchanged (positions, prompts, seeds, paths).
    """
    wanted = set(positions)
    batches: list[PlannedBatch] = []
    for batch in plan.batches:
        tasks: list[PlannedTask] = []
        for task in batch.tasks:
            outs = tuple(o for o in task.outputs if (o.position in wanted) == keep)
            if outs:
                tasks.append(replace(task, outputs=outs))
        if tasks:
            count = sum(len(t.outputs) for t in tasks)
            batches.append(replace(batch, tasks=tuple(tasks), count=count))
    return Plan(batches=tuple(batches), warnings=plan.warnings)


@dataclass(frozen=True)
class TrialSplit:
    """A plan cut into the trial and the rest."""

    trial: Plan
    rest: Plan

    @property
    def covers_all(self) -> bool:
        """The trial is the whole job: there is no rest to run."""
        return self.rest.total_outputs == 0


def split_trial(plan: Plan, size: int, seed: int) -> TrialSplit:
    sample = trial_sample(plan, size, seed)
    return TrialSplit(trial=subplan(plan, sample), rest=subplan(plan, sample, keep=False))
