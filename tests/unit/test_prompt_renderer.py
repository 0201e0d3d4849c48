"""The compiled prompt renderer gives, byte for byte, what the per-output path gives:
every pick, prompt and seed of a job stays what it was before the renderer existed."""

from __future__ import annotations

import random

import pytest

from bananabatch.domain.naming import automatic_output_name
from bananabatch.domain.plan import (
    AutomaticSpec,
    SourceImage,
)
from bananabatch.domain.plan_automatic import (
    plan_automatic,
)
from bananabatch.domain.prompt_renderer import TemplateRenderer, WildcardPicker
from bananabatch.domain.seeds import SEED_LIMIT, derive_seed
from bananabatch.domain.templating import PromptContext, render_prompt
from bananabatch.errors import TemplateError

TEMPLATES = [
    "a photo",
    "the same {class}, {winter|summer|autumn} light",
    "{filename} / {stem} / {folder} / {class} / #{index} v{variation}",
    "{red|green|blue|black} {car|bike} {{literal}} {a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q}",
    "{|very }dark {variation}",
    "  {ein|zwei} Fahrräder in {folder} — {Ω|ß|名|∂|é} ",
    "{ x | y }{x|y}{x|y}{x|y}{x|y}{x|y}{x|y}{x|y}",
    "no {variation} wildcards, {index}",
]

SOURCES = [
    ("001.jpg", "001", "cat", 0),
    ("a b.png", "a b", "dog food", 17),
    ("é.jpeg", "é", "", 24_999),
    ("x.y.z.webp", "x.y", "classe 名前", 3),
]

SEEDS = [0, 1, 7, 42, 2**31 - 1, 123_456_789, 2**40 + 5]


def test_a_pick_is_what_a_new_random_random_picks() -> None:
    picker = WildcardPicker()
    rng = random.Random(99)
    lengths = [2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 64, 100, 1000]
    for _ in range(20_000):
        seed = rng.randrange(SEED_LIMIT)
        options = [str(i) for i in range(rng.choice(lengths))]
        assert picker.pick(seed, options) == random.Random(seed).choice(options)


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_rendered_prompt_is_what_render_prompt_gives(template: str) -> None:
    for seed in SEEDS:
        renderer = TemplateRenderer(template, seed, WildcardPicker())
        for filename, stem, folder, index in SOURCES:
            prompt = renderer.for_source(filename=filename, stem=stem, folder=folder, index=index)
            for variation in range(1, 13):
                ctx = PromptContext(
                    filename=filename, stem=stem, folder=folder, index=index, variation=variation
                )
                assert prompt(variation) == render_prompt(template, ctx, seed=seed)


@pytest.mark.parametrize("template", ["{|}", "{ | }{|}", "   "])
def test_an_empty_prompt_fails_as_render_prompt_fails(template: str) -> None:
    ctx = PromptContext(filename="a.jpg", stem="a", folder="", index=2, variation=3)
    with pytest.raises(TemplateError) as old:
        render_prompt(template, ctx, seed=5)
    with pytest.raises(TemplateError) as new:
        renderer = TemplateRenderer(template, 5, WildcardPicker())
        renderer.for_source(filename="a.jpg", stem="a", folder="", index=2)(3)
    assert new.value.message == old.value.message
    assert new.value.position == old.value.position


def test_a_bad_template_is_refused_like_render_prompt_refuses_it() -> None:
    with pytest.raises(TemplateError, match="Unknown variable"):
        TemplateRenderer("a {colour}", 1, WildcardPicker())


def test_every_planned_output_is_what_the_per_output_path_gives() -> None:
    """The whole automatic plan against the old way: render_prompt, derive_seed and
    automatic_output_name called for each output."""
    paths = [f"{c}/{i:03d}.jpg" for c in ("cat", "dog", "名前") for i in range(40)]
    paths += ["root.png", "cat/007.png"]  # a root file; two sources sharing a stem
    sources = [SourceImage(rel_path=p, asset_id=f"a{i}") for i, p in enumerate(paths)]
    spec = AutomaticSpec(
        prompt="a {class} {stem}, {winter|summer|autumn} light, v{variation}",
        variations=6,
        seed=31337,
        outputs_per_task=4,
        per_class_prompts={"dog": "a {good|bad|fine} dog {index}"},
        per_image_prompts={"cat/003.jpg": "only {this|that} one"},
    )
    plan = plan_automatic(spec, sources)
    outputs = list(plan.outputs())
    assert len(outputs) == len(paths) * 6
    index_of: dict[str, int] = {}
    for out in outputs:
        assert out.source_path is not None
        index = index_of.setdefault(out.source_path, len(index_of))
        folder = out.source_path.split("/")[0] if "/" in out.source_path else ""
        filename = out.source_path.rsplit("/", 1)[-1]
        template = {"cat/003.jpg": "only {this|that} one"}.get(out.source_path) or (
            "a {good|bad|fine} dog {index}" if folder == "dog" else spec.prompt
        )
        ctx = PromptContext(
            filename=filename,
            stem=filename.rsplit(".", 1)[0],
            folder=folder,
            index=index,
            variation=out.variation,
        )
        assert out.prompt == render_prompt(template, ctx, seed=spec.seed)
        assert out.seed == derive_seed(spec.seed, out.source_path, out.variation)
        keep = out.source_path in ("cat/007.jpg", "cat/007.png")
        assert out.archive_path == automatic_output_name(
            out.source_path, out.variation, "png", keep_source_ext=keep
        )
