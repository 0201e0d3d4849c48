"""Trial samples: stratified across batches, deterministic from the seed, and the
trial plus the rest are exactly the full plan."""

from __future__ import annotations

from collections import Counter

import pytest

from bananabatch.catalog import load_catalog
from bananabatch.domain.plan import (
    AutomaticSpec,
    Plan,
    SemiAutoPrompt,
    SemiAutoSpec,
    SourceImage,
)
from bananabatch.domain.plan_automatic import (
    plan_automatic,
)
from bananabatch.domain.plan_semi_auto import (
    plan_semi_auto,
)
from bananabatch.domain.trials import split_trial, subplan, trial_sample


def _auto_plan(classes: dict[str, int], variations: int = 1, seed: int = 7) -> Plan:
    sources = [
        SourceImage(rel_path=f"{cls}/{i:03d}.jpg", asset_id=f"{cls}-{i}")
        for cls, n in classes.items()
        for i in range(n)
    ]
    spec = AutomaticSpec(prompt="a {red|blue} {class}", variations=variations, seed=seed)
    return plan_automatic(spec, sources)


def _semi_plan(counts: list[int], seed: int = 7) -> Plan:
    model, _ = load_catalog().resolve("classic")
    spec = SemiAutoSpec(
        prompts=[
            SemiAutoPrompt(prompt=f"prompt {i} {{a|b}}", count=c) for i, c in enumerate(counts)
        ],
        reference_count=0,
        seed=seed,
    )
    return plan_semi_auto(spec, model)


def _by_position(plan: Plan) -> dict[int, object]:
    return {o.position: o for o in plan.outputs()}


def test_sample_spreads_over_every_class() -> None:
    plan = _auto_plan({"cat": 40, "dog": 5, "fox": 3})
    sample = trial_sample(plan, 8, seed=1)
    outs = _by_position(plan)
    classes = Counter(outs[p].source_path.split("/")[0] for p in sample)  # type: ignore[attr-defined]
    assert len(sample) == 8
    assert set(classes) == {"cat", "dog", "fox"}
    assert max(classes.values()) - min(classes.values()) <= 1  # turns, not proportions


def test_sample_prefers_distinct_sources_before_second_variations() -> None:
    plan = _auto_plan({"cat": 3, "dog": 3}, variations=4)
    sample = trial_sample(plan, 6, seed=3)
    outs = _by_position(plan)
    sources = [outs[p].source_path for p in sample]  # type: ignore[attr-defined]
    assert len(set(sources)) == 6
    assert {outs[p].variation for p in sample} == {1}  # type: ignore[attr-defined]
    bigger = trial_sample(plan, 8, seed=3)
    assert sample <= bigger  # growing the trial keeps what it had


def test_sample_is_deterministic_from_the_seed() -> None:
    plan = _auto_plan({"cat": 30, "dog": 30})
    assert trial_sample(plan, 8, seed=5) == trial_sample(plan, 8, seed=5)
    draws = {trial_sample(plan, 8, seed=s) for s in range(10)}
    assert len(draws) > 1


def test_semi_auto_trial_takes_turns_across_prompts() -> None:
    plan = _semi_plan([40, 40, 3])
    sample = trial_sample(plan, 8, seed=2)
    outs = _by_position(plan)
    per_prompt = Counter(outs[p].archive_path.split("/")[0] for p in sample)  # type: ignore[attr-defined]
    assert sorted(per_prompt.values()) == [2, 3, 3]


def test_trial_bigger_than_the_job_is_the_whole_job() -> None:
    plan = _semi_plan([3])
    split = split_trial(plan, 8, seed=0)
    assert split.covers_all
    assert split.trial.total_outputs == 3


@pytest.mark.parametrize("variations", [1, 3])
def test_trial_and_rest_are_the_full_plan(variations: int) -> None:
    plan = _auto_plan({"cat": 7, "dog": 4}, variations=variations)
    split = split_trial(plan, 5, seed=9)
    assert split.trial.total_outputs == 5
    assert split.trial.total_outputs + split.rest.total_outputs == plan.total_outputs
    full = _by_position(plan)
    for part in (split.trial, split.rest):
        for out in part.outputs():
            assert full[out.position] == out  # same prompt, seed and path as the full job
    assert set(_by_position(split.trial)).isdisjoint(_by_position(split.rest))
    for batch in split.trial.batches:
        assert batch.count == sum(len(t.outputs) for t in batch.tasks)


def test_subplan_drops_empty_tasks_and_batches() -> None:
    plan = _semi_plan([4, 4])
    first = {o.position for o in plan.batches[0].outputs()}
    only_first = subplan(plan, first)
    assert [b.position for b in only_first.batches] == [0]
    assert subplan(plan, first, keep=False).batches[0].position == 1


def test_trial_needs_at_least_one_output() -> None:
    with pytest.raises(ValueError):
        trial_sample(_semi_plan([2]), 0, seed=0)
