"""The planner: automatic (dataset x variations) and semi-automatic (prompt x count) plans."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from bananabatch.catalog import ModelInfo, load_catalog
from bananabatch.domain.naming import automatic_output_name
from bananabatch.domain.plan import (
    AutomaticSpec,
    Plan,
    PlannedOutput,
    SemiAutoPrompt,
    SemiAutoSpec,
    SourceImage,
    top_level_folder,
)
from bananabatch.domain.plan_automatic import (
    plan_automatic,
    preview_automatic_prompts,
)
from bananabatch.domain.plan_semi_auto import (
    batch_name_for_prompt,
    plan_semi_auto,
)
from bananabatch.domain.seeds import derive_seed
from bananabatch.errors import TemplateError, TooManyReferences, ValidationFailed


def _model(model_id: str) -> ModelInfo:
    info, _ = load_catalog().resolve(model_id)
    return info


def _sources(*paths: str) -> list[SourceImage]:
    return [SourceImage(rel_path=p, asset_id=f"asset-{i}") for i, p in enumerate(paths)]


def _auto(prompt: str = "a photo", variations: int = 1, **kw: object) -> AutomaticSpec:
    return AutomaticSpec(prompt=prompt, variations=variations, seed=kw.pop("seed", 7), **kw)  # type: ignore[arg-type]


def _task_sizes(plan: Plan) -> list[list[int]]:
    return [[len(t.outputs) for t in b.tasks] for b in plan.batches]


def _all_outputs(plan: Plan) -> list[PlannedOutput]:
    return list(plan.outputs())


# ---- top_level_folder ----


@pytest.mark.parametrize(
    ("rel_path", "folder"),
    [
        ("cat/sub/1.jpg", "cat"),
        ("cat/1.jpg", "cat"),
        ("1.jpg", ""),
        ("./cat/1.jpg", "cat"),
        ("cat\\1.jpg", "cat"),
        ("/1.jpg", ""),
        ("猫/1.jpg", "猫"),
    ],
)
def test_top_level_folder(rel_path: str, folder: str) -> None:
    assert top_level_folder(rel_path) == folder


# ---- automatic: packing ----


@pytest.mark.parametrize(
    ("variations", "per_task", "sizes"),
    [
        (10, 4, [4, 4, 2]),
        (1, 4, [1]),
        (4, 4, [4]),
        (5, 4, [4, 1]),
        (8, 4, [4, 4]),
        (3, 1, [1, 1, 1]),
        (100, 16, [16] * 6 + [4]),
        (7, 3, [3, 3, 1]),
    ],
)
def test_automatic_packs_variations_per_source(
    variations: int, per_task: int, sizes: list[int]
) -> None:
    plan = plan_automatic(
        _auto(variations=variations, outputs_per_task=per_task), _sources("a.jpg", "b.jpg")
    )
    assert _task_sizes(plan) == [sizes * 2]
    assert plan.total_outputs == 2 * variations
    assert plan.total_tasks == 2 * len(sizes)


def test_automatic_one_source_per_task_and_variations_in_order() -> None:
    plan = plan_automatic(_auto(variations=10), _sources("cat/1.jpg", "cat/2.jpg", "dog/1.jpg"))
    for batch in plan.batches:
        for task in batch.tasks:
            assert {o.source_path for o in task.outputs} == {task.source_path}
            assert {o.source_asset_id for o in task.outputs} == {task.source_asset_id}
    cat = plan.batches[0]
    assert [[o.variation for o in t.outputs] for t in cat.tasks] == [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10],
    ] * 2
    assert [t.position for t in cat.tasks] == list(range(6))  # run index within the batch
    assert [t.position for t in plan.batches[1].tasks] == [0, 1, 2]


def test_automatic_output_positions_are_the_job_order() -> None:
    plan = plan_automatic(_auto(variations=3), _sources("b/2.jpg", "a/1.jpg", "root.jpg"))
    outputs = _all_outputs(plan)
    assert [o.position for o in outputs] == list(range(9))


# ---- automatic: batches ----


def test_flat_dataset_is_one_batch_named_all() -> None:
    plan = plan_automatic(_auto(variations=2), _sources("2.jpg", "1.jpg", "3.png"))
    assert [(b.position, b.name, b.slug, b.count) for b in plan.batches] == [(0, "all", "all", 6)]
    assert [t.source_path for t in plan.batches[0].tasks] == ["1.jpg", "2.jpg", "3.png"]


def test_one_batch_per_top_level_folder_sorted() -> None:
    paths = ["dog/1.jpg", "cat/2.jpg", "cat/sub/deep/3.jpg", "Bird Photos/1.jpg", "cat/1.jpg"]
    plan = plan_automatic(_auto(variations=1), _sources(*paths))
    assert [(b.name, b.slug, b.count) for b in plan.batches] == [
        ("Bird Photos", "bird-photos", 1),
        ("cat", "cat", 3),
        ("dog", "dog", 1),
    ]
    assert [t.source_path for t in plan.batches[1].tasks] == [
        "cat/1.jpg",
        "cat/2.jpg",
        "cat/sub/deep/3.jpg",
    ]


def test_mixed_dataset_puts_root_files_in_a_root_batch_first() -> None:
    plan = plan_automatic(_auto(), _sources("zebra.jpg", "cat/1.jpg", "apple.jpg"))
    assert [(b.name, b.slug) for b in plan.batches] == [("(root)", "root"), ("cat", "cat")]
    assert [t.source_path for t in plan.batches[0].tasks] == ["apple.jpg", "zebra.jpg"]


def test_batch_slugs_are_unique() -> None:
    plan = plan_automatic(_auto(), _sources("Cat/1.jpg", "cat/1.jpg", "root/1.jpg", "x.jpg"))
    slugs = [b.slug for b in plan.batches]
    assert len(set(slugs)) == len(slugs)
    assert slugs == ["root", "cat", "cat-2", "root-2"]


def test_folders_with_similar_names_stay_contiguous() -> None:
    # "cat-2/" sorts before "cat/" as a path, but batches are per folder.
    plan = plan_automatic(_auto(), _sources("cat/1.jpg", "cat-2/1.jpg", "cat/2.jpg", "cat.jpg"))
    assert [(b.name, b.count) for b in plan.batches] == [("(root)", 1), ("cat", 2), ("cat-2", 1)]
    assert [o.position for o in _all_outputs(plan)] == [0, 1, 2, 3]


def test_batch_prompt_is_the_class_template() -> None:
    plan = plan_automatic(
        _auto(prompt="base {class}", per_class_prompts={"dog": "a dog {a|b}"}),
        _sources("cat/1.jpg", "dog/1.jpg"),
    )
    assert [b.prompt for b in plan.batches] == ["base {class}", "a dog {a|b}"]


# ---- automatic: prompts, seeds, names ----


def test_prompt_precedence_image_over_class_over_base() -> None:
    spec = _auto(
        prompt="base for {filename}",
        per_class_prompts={"cat": "class prompt for {class}"},
        per_image_prompts={"cat/special.jpg": "image prompt for {stem}"},
    )
    plan = plan_automatic(spec, _sources("cat/special.jpg", "cat/plain.jpg", "dog/1.jpg"))
    prompts = {o.source_path: o.prompt for o in _all_outputs(plan)}
    assert prompts == {
        "cat/plain.jpg": "class prompt for cat",
        "cat/special.jpg": "image prompt for special",
        "dog/1.jpg": "base for 1.jpg",
    }


def test_per_image_prompt_paths_are_matched_after_normalization() -> None:
    spec = _auto(per_image_prompts={"./cat\\caf\u0065\u0301.jpg": "matched"})
    plan = plan_automatic(spec, _sources("cat/caf\u00e9.jpg"))
    assert _all_outputs(plan)[0].prompt == "matched"
    assert plan.warnings == ()


def test_variables_render_per_source_and_variation() -> None:
    spec = _auto(prompt="{filename}|{stem}|{folder}|{class}|{index}|{variation}", variations=2)
    # "|" outside braces is plain text
    plan = plan_automatic(spec, _sources("dog/b.png", "cat/sub/a.jpg", "root.jpg"))
    assert [o.prompt for o in _all_outputs(plan)] == [
        "root.jpg|root|||0|1",
        "root.jpg|root|||0|2",
        "a.jpg|a|cat|cat|1|1",
        "a.jpg|a|cat|cat|1|2",
        "b.png|b|dog|dog|2|1",
        "b.png|b|dog|dog|2|2",
    ]


def test_seeds_and_archive_paths() -> None:
    plan = plan_automatic(_auto(variations=3, seed=99, output_format="jpeg"), _sources("cat/1.jpg"))
    outputs = _all_outputs(plan)
    assert [o.seed for o in outputs] == [derive_seed(99, "cat/1.jpg", v) for v in (1, 2, 3)]
    assert [o.archive_path for o in outputs] == [
        automatic_output_name("cat/1.jpg", v, "jpg") for v in (1, 2, 3)
    ]
    assert outputs[0].archive_path == "cat/1__v1.jpg"


def test_wildcards_differ_between_variations() -> None:
    spec = _auto(prompt="a {red|green|blue|yellow|white|black|pink|grey} car", variations=20)
    prompts = [o.prompt for o in _all_outputs(plan_automatic(spec, _sources("car.jpg")))]
    assert len(set(prompts)) >= 4


def test_unicode_filenames() -> None:
    paths = ["猫/写真 1.jpg", "chiens/été.png", "émoji/😀.webp"]
    plan = plan_automatic(_auto(prompt="{class}: {stem}", variations=2), _sources(*paths))
    by_path = {o.archive_path: o.prompt for o in _all_outputs(plan)}
    assert by_path["猫/写真 1__v2.png"] == "猫: 写真 1"
    assert by_path["chiens/été__v1.png"] == "chiens: été"
    assert by_path["émoji/😀__v1.png"] == "émoji: 😀"
    assert [b.slug for b in plan.batches] == ["chiens", "emoji", "batch"]


def test_same_stem_with_different_extensions_gets_distinct_names() -> None:
    plan = plan_automatic(_auto(), _sources("cat/001.jpg", "cat/001.png", "cat/002.jpg"))
    assert sorted(o.archive_path for o in _all_outputs(plan)) == [
        "cat/001_jpg__v1.png",
        "cat/001_png__v1.png",
        "cat/002__v1.png",
    ]


def test_unresolvable_archive_collision_is_an_error() -> None:
    with pytest.raises(
        ValidationFailed, match=re.escape("would both be saved as 'cat/001_jpg__v1.png'")
    ):
        plan_automatic(_auto(), _sources("cat/001.jpg", "cat/001.png", "cat/001_jpg.gif"))


def test_archive_paths_are_unique_in_a_large_plan() -> None:
    paths = [f"{c}/{i:04d}.jpg" for c in ("cat", "dog", "bird") for i in range(400)]
    plan = plan_automatic(_auto(variations=5), _sources(*paths))
    archive = [o.archive_path for o in _all_outputs(plan)]
    assert len(archive) == len(set(archive)) == 6000
    assert plan.total_tasks == 1200 * 2
    assert [b.count for b in plan.batches] == [2000, 2000, 2000]


def test_plan_is_deterministic_and_independent_of_input_order() -> None:
    paths = [f"{c}/{i}.jpg" for c in ("a", "b") for i in range(20)] + ["top.jpg"]
    spec = _auto(prompt="{x|y|z} {class} {p|q}", variations=6)
    first = plan_automatic(spec, _sources(*paths))
    shuffled = list(_sources(*paths))
    random.Random(3).shuffle(shuffled)
    second = plan_automatic(spec, shuffled)
    strip = [(o.position, o.prompt, o.seed, o.archive_path) for o in _all_outputs(first)]
    assert strip == [(o.position, o.prompt, o.seed, o.archive_path) for o in _all_outputs(second)]


def test_a_different_job_seed_changes_seeds_and_wildcards() -> None:
    paths = _sources(*[f"{i}.jpg" for i in range(10)])
    a = _all_outputs(plan_automatic(_auto(prompt="{a|b|c|d}", variations=4, seed=1), paths))
    b = _all_outputs(plan_automatic(_auto(prompt="{a|b|c|d}", variations=4, seed=2), paths))
    assert [o.seed for o in a] != [o.seed for o in b]
    assert [o.prompt for o in a] != [o.prompt for o in b]


# ---- automatic: validation ----


@pytest.mark.parametrize("variations", [0, -1, 101])
def test_variations_out_of_range(variations: int) -> None:
    with pytest.raises(ValidationFailed, match="between 1 and 100"):
        plan_automatic(_auto(variations=variations), _sources("a.jpg"))


@pytest.mark.parametrize("variations", [1, 100])
def test_variations_bounds_are_accepted(variations: int) -> None:
    assert plan_automatic(_auto(variations=variations), _sources("a.jpg")).total_outputs == (
        variations
    )


@pytest.mark.parametrize("per_task", [0, 17])
def test_outputs_per_task_out_of_range(per_task: int) -> None:
    with pytest.raises(ValidationFailed, match="outputs_per_task"):
        plan_automatic(_auto(outputs_per_task=per_task), _sources("a.jpg"))


def test_empty_dataset() -> None:
    with pytest.raises(ValidationFailed, match="The dataset has no images"):
        plan_automatic(_auto(), [])


def test_bad_output_format() -> None:
    with pytest.raises(ValidationFailed, match="output format"):
        plan_automatic(_auto(output_format="gif"), _sources("a.jpg"))


@pytest.mark.parametrize(
    ("paths", "fragment"),
    [
        (["a.jpg", "a.jpg"], "twice"),
        (["cat/a.jpg", "./cat/a.jpg"], "twice"),
        (["../etc/passwd"], "Unusable"),
        (["", "a.jpg"], "Unusable"),
    ],
)
def test_bad_source_paths(paths: list[str], fragment: str) -> None:
    with pytest.raises(ValidationFailed, match=fragment):
        plan_automatic(_auto(), _sources(*paths))


def test_base_template_error_keeps_its_position() -> None:
    with pytest.raises(TemplateError) as excinfo:
        plan_automatic(_auto(prompt="a photo of {colour}"), _sources("a.jpg"))
    assert excinfo.value.position == 11
    assert "Unknown variable {colour}" in str(excinfo.value)


def test_class_template_error_names_the_class() -> None:
    spec = _auto(per_class_prompts={"dog": "a {dog"})
    with pytest.raises(TemplateError) as excinfo:
        plan_automatic(spec, _sources("dog/1.jpg"))
    assert str(excinfo.value).startswith("Prompt for class 'dog': Unclosed")
    assert excinfo.value.position == 2


def test_image_template_error_names_the_image() -> None:
    spec = _auto(per_image_prompts={"a.jpg": "ok }"})
    with pytest.raises(TemplateError, match=re.escape("Prompt for image 'a.jpg': Stray")):
        plan_automatic(spec, _sources("a.jpg"))


def test_empty_base_prompt_is_fine_when_every_image_has_its_own() -> None:
    spec = _auto(prompt="", per_image_prompts={"a.jpg": "x"}, per_class_prompts={"c": "y"})
    plan = plan_automatic(spec, _sources("a.jpg", "c/1.jpg"))
    assert [o.prompt for o in _all_outputs(plan)] == ["x", "y"]
    with pytest.raises(TemplateError, match="empty"):
        plan_automatic(spec, _sources("a.jpg", "b.jpg"))


def test_unmatched_prompts_produce_warnings() -> None:
    spec = _auto(
        per_image_prompts={f"missing{i}.jpg": "x" for i in range(7)} | {"a.jpg": "y"},
        per_class_prompts={"ghost": "z"},
    )
    plan = plan_automatic(spec, _sources("a.jpg"))
    assert len(plan.warnings) == 2
    assert "7 per-image prompt(s) match no image" in plan.warnings[0]
    assert "and 2 more" in plan.warnings[0]
    assert "'ghost'" in plan.warnings[1]


# ---- automatic: preview ----


def test_preview_is_the_start_of_the_plan() -> None:
    spec = _auto(prompt="{class} {a|b|c}", variations=3)
    sources = _sources("b/1.jpg", "a/1.jpg", "a/2.jpg", "c/9.jpg")
    plan = _all_outputs(plan_automatic(spec, sources))
    assert preview_automatic_prompts(spec, sources) == plan[:5]
    assert preview_automatic_prompts(spec, sources, limit=2) == plan[:2]
    assert preview_automatic_prompts(spec, sources, limit=100) == plan
    assert preview_automatic_prompts(spec, sources, limit=0) == []


def test_preview_validates_like_the_planner() -> None:
    with pytest.raises(TemplateError):
        preview_automatic_prompts(_auto(prompt="{"), _sources("a.jpg"))
    with pytest.raises(ValidationFailed, match="no images"):
        preview_automatic_prompts(_auto(), [])


# ---- semi-automatic ----


def _semi(*prompts: tuple[str, int], refs: int = 0, seed: int = 5, **kw: object) -> SemiAutoSpec:
    return SemiAutoSpec(
        prompts=[SemiAutoPrompt(p, c) for p, c in prompts],
        reference_count=refs,
        seed=seed,
        **kw,  # type: ignore[arg-type]
    )


NANO = "gemini-2.5-flash-image"


@pytest.mark.parametrize(
    ("count", "per_task", "sizes"),
    [
        (40, 4, [4] * 10),
        (10, 4, [4, 4, 2]),
        (1, 4, [1]),
        (4, 4, [4]),
        (5, 4, [4, 1]),
        (1000, 4, [4] * 250),
        (9, 2, [2, 2, 2, 2, 1]),
    ],
)
def test_semi_auto_splits_counts_into_runs(count: int, per_task: int, sizes: list[int]) -> None:
    plan = plan_semi_auto(_semi(("a cat", count), outputs_per_task=per_task), _model(NANO))
    assert _task_sizes(plan) == [sizes]
    assert plan.total_outputs == count
    assert plan.batches[0].count == count
    assert [t.position for t in plan.batches[0].tasks] == list(range(len(sizes)))


def test_semi_auto_40_images_with_3_references() -> None:
    plan = plan_semi_auto(_semi(("a red car", 40), refs=3), _model(NANO))
    assert plan.total_tasks == 10
    assert plan.total_outputs == 40
    task = plan.batches[0].tasks[2]
    assert [o.archive_path for o in task.outputs] == [
        f"01-a-red-car/run-003/image-{i}.png" for i in (1, 2, 3, 4)
    ]
    assert [o.variation for o in task.outputs] == [9, 10, 11, 12]
    assert all(o.source_asset_id is None and o.source_path is None for o in task.outputs)
    assert task.source_asset_id is None and task.source_path is None


def test_semi_auto_one_batch_per_prompt() -> None:
    plan = plan_semi_auto(
        _semi(("A Red Car!", 8), ("sunset over the sea", 3), ("A Red Car!", 2)), _model(NANO)
    )
    assert [(b.position, b.name, b.slug, b.count) for b in plan.batches] == [
        (0, "A Red Car!", "a-red-car", 8),
        (1, "sunset over the sea", "sunset-over-the-sea", 3),
        (2, "A Red Car!", "a-red-car", 2),
    ]
    outputs = _all_outputs(plan)
    assert [o.position for o in outputs] == list(range(13))
    paths = [o.archive_path for o in outputs]
    assert len(set(paths)) == 13
    assert paths[-1] == "03-a-red-car/run-001/image-2.png"
    assert paths[8] == "02-sunset-over-the-sea/run-001/image-1.png"


def test_semi_auto_seeds_and_prompts() -> None:
    plan = plan_semi_auto(_semi(("run {index} image {variation}", 6), seed=77), _model(NANO))
    outputs = _all_outputs(plan)
    assert [o.prompt for o in outputs] == [
        "run 0 image 1",
        "run 0 image 2",
        "run 0 image 3",
        "run 0 image 4",
        "run 1 image 5",
        "run 1 image 6",
    ]
    assert [o.seed for o in outputs] == [derive_seed(77, 0, n) for n in range(1, 7)]


def test_semi_auto_wildcards_vary_between_images_and_are_reproducible() -> None:
    spec = _semi(("a {red|green|blue|black|white} {car|bike}", 40))
    first = [o.prompt for o in _all_outputs(plan_semi_auto(spec, _model(NANO)))]
    again = [o.prompt for o in _all_outputs(plan_semi_auto(spec, _model(NANO)))]
    assert first == again
    assert len(set(first)) >= 6


def test_semi_auto_batch_names_are_truncated_single_lines() -> None:
    long = "A very detailed prompt\nabout a red car driving through a neon-lit city at night in the rain"
    plan = plan_semi_auto(_semi((long, 1)), _model(NANO))
    name = plan.batches[0].name
    assert len(name) <= 60
    assert name.endswith("…")
    assert "\n" not in name
    assert plan.batches[0].prompt == long
    assert batch_name_for_prompt("  short  ") == "short"


def test_too_many_references_message() -> None:
    with pytest.raises(TooManyReferences) as excinfo:
        plan_semi_auto(_semi(("a cat", 4), refs=5), _model(NANO))
    message = str(excinfo.value)
    assert message.startswith(
        "gemini-2.5-flash-image accepts at most 3 reference images; you gave 5. Remove 2 or pick "
        "a model that accepts more ("
    )
    suggested = re.search(r"accepts more \(([^:]+):", message)
    assert suggested is not None
    # only models a new job may use: no shut-down ones, no deprecated ones, not classic
    assert set(suggested.group(1).split(", ")) == {
        "gemini-nano-banana-2.1",
        "gemini-3-pro-image",
        "gemini-3.1-flash-lite-image",
    }
    assert excinfo.value.details == {"model": NANO, "max": 3, "given": 5}


def test_too_many_references_for_every_model() -> None:
    with pytest.raises(
        TooManyReferences, match=re.escape("you gave 15. Remove 1 or no model accepts")
    ):
        plan_semi_auto(_semi(("a cat", 4), refs=15), _model("gemini-3-pro-image"))


def test_unknown_gemini_model_uses_the_conservative_reference_limit() -> None:
    model = _model("gemini-9-image-preview")
    assert model.known is False
    plan_semi_auto(_semi(("x", 1), refs=3), model)
    with pytest.raises(TooManyReferences, match="gemini-9-image-preview accepts at most 3"):
        plan_semi_auto(_semi(("x", 1), refs=4), model)


@pytest.mark.parametrize(
    ("model_id", "refs"),
    [(NANO, 0), (NANO, 3), ("gemini-3-pro-image-preview", 14), ("classic", 0), ("classic", 5)],
)
def test_reference_counts_within_limits(model_id: str, refs: int) -> None:
    assert plan_semi_auto(_semi(("x", 4), refs=refs), _model(model_id)).total_outputs == 4


def test_negative_reference_count() -> None:
    with pytest.raises(ValidationFailed, match="negative"):
        plan_semi_auto(_semi(("x", 4), refs=-1), _model(NANO))


@pytest.mark.parametrize("count", [0, -3, 1001])
def test_semi_auto_count_out_of_range(count: int) -> None:
    with pytest.raises(ValidationFailed, match="between 1 and 1000"):
        plan_semi_auto(_semi(("x", count)), _model(NANO))


def test_semi_auto_count_error_names_the_prompt() -> None:
    with pytest.raises(ValidationFailed, match=r"^Prompt 2: count"):
        plan_semi_auto(_semi(("x", 4), ("y", 0)), _model(NANO))


def test_semi_auto_needs_a_prompt() -> None:
    with pytest.raises(ValidationFailed, match="at least one prompt"):
        plan_semi_auto(_semi(), _model(NANO))


@pytest.mark.parametrize(
    ("prompt", "fragment", "position"),
    [
        ("a photo of {filename}", "{filename} has no value here", 11),
        ("{class} car", "{class} has no value here", 0),
        ("a {red|blue car", "Unclosed", 2),
        ("", "empty", 0),
    ],
)
def test_semi_auto_template_errors(prompt: str, fragment: str, position: int) -> None:
    with pytest.raises(TemplateError) as excinfo:
        plan_semi_auto(_semi((prompt, 4)), _model(NANO))
    assert fragment in str(excinfo.value)
    assert excinfo.value.position == position


def test_semi_auto_template_error_names_the_prompt_when_there_are_several() -> None:
    with pytest.raises(TemplateError, match=r"^Prompt 2: Stray") as excinfo:
        plan_semi_auto(_semi(("fine", 1), ("bad }", 1)), _model(NANO))
    assert excinfo.value.position == 4


def test_semi_auto_output_format() -> None:
    plan = plan_semi_auto(_semi(("x", 1), output_format="webp"), _model(NANO))
    assert _all_outputs(plan)[0].archive_path == "01-x/run-001/image-1.webp"


def test_plan_totals_and_iteration_agree() -> None:
    plan = plan_semi_auto(_semi(("x", 10), ("y", 7)), _model(NANO))
    assert plan.total_outputs == len(_all_outputs(plan)) == 17
    assert plan.total_tasks == 3 + 2
    assert Counter(o.archive_path.split("/")[0] for o in plan.outputs()) == {"01-x": 10, "02-y": 7}


def test_seeds_are_the_same_as_json_dumps_gave_them() -> None:
    """The seed of every output is stable across versions: the cached encoder must give
    exactly what `json.dumps` with the same options gave."""
    import hashlib
    import json

    for parts in ((7, "cat/1.jpg", 2), (0, "wildcard", 3, 1, 0), (5, "é/ü.png", None)):
        material = json.dumps(list(parts), default=str, ensure_ascii=False, sort_keys=True)
        expected = int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big") % 2**31
        assert derive_seed(parts[0], *parts[1:]) == expected
