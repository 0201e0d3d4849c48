"""Prompt templating: variables, seeded wildcards, error positions and the prompts CSV."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from bananabatch.domain.seeds import SEED_LIMIT, derive_seed
from bananabatch.domain.templating import (
    SEMI_AUTO_VARIABLES,
    VARIABLES,
    PromptContext,
    has_wildcards,
    parse_prompts_csv,
    render_prompt,
    template_variables,
    validate_template,
)
from bananabatch.errors import TemplateError, ValidationFailed

CTX = PromptContext(filename="001.jpg", stem="001", folder="cat", index=7, variation=3)


# ---- seeds ----


def test_derive_seed_is_stable_and_in_range() -> None:
    # Pinned values: a change here would silently change every stored job's seeds.
    assert derive_seed(42, "cat/001.jpg", 1) == 485068218
    assert derive_seed(0) == 2019721527
    seeds = {derive_seed(s, "x", v) for s in range(20) for v in range(1, 21)}
    assert all(0 <= s < SEED_LIMIT for s in seeds)
    assert len(seeds) == 400  # no collisions in a small grid


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((1, "a", 1), (2, "a", 1)),
        ((1, "a", 1), (1, "b", 1)),
        ((1, "a", 1), (1, "a", 2)),
        ((1, 1), (1, "1")),  # types matter
        ((1, "a", "b"), (1, "ab")),  # boundaries matter
    ],
)
def test_derive_seed_distinguishes_inputs(a: tuple[object, ...], b: tuple[object, ...]) -> None:
    assert derive_seed(a[0], *a[1:]) != derive_seed(b[0], *b[1:])  # type: ignore[arg-type]


# ---- rendering ----


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("a photo of {filename}", "a photo of 001.jpg"),
        ("{stem}", "001"),
        ("a {folder} and a {class}", "a cat and a cat"),
        ("index {index}, variation {variation}", "index 7, variation 3"),
        ("{ filename }", "001.jpg"),  # spaces around a name are tolerated
        ("literal {{braces}} and }}", "literal {braces} and }"),
        ("{{{stem}}}", "{001}"),
        ("no variables at all", "no variables at all"),
        ("café ☕ {class} 猫", "café ☕ cat 猫"),
        ("{only}", None),
    ],
)
def test_render_variables(template: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(TemplateError):
            render_prompt(template, CTX, seed=1)
    else:
        assert render_prompt(template, CTX, seed=1) == expected


def test_wildcard_picks_one_of_the_options_as_written() -> None:
    seen = {
        render_prompt("a {red| green|blue } car", PromptContext(variation=v), seed=5)
        for v in range(60)
    }
    assert seen == {"a red car", "a  green car", "a blue  car"}


def test_wildcard_empty_options_are_allowed() -> None:
    seen = {render_prompt("{|very }dark", PromptContext(variation=v), seed=3) for v in range(40)}
    assert seen == {"dark", "very dark"}


def test_wildcards_are_deterministic_for_the_same_inputs() -> None:
    template = "{red|green|blue|yellow} car, {day|night}, {sunny|rainy|foggy}"
    first = [render_prompt(template, PromptContext(variation=v), seed=11) for v in range(1, 50)]
    again = [render_prompt(template, PromptContext(variation=v), seed=11) for v in range(1, 50)]
    assert first == again


def test_wildcards_vary_across_variations_index_and_seed() -> None:
    template = "{a|b|c|d|e|f|g|h}{a|b|c|d|e|f|g|h}"
    by_variation = {render_prompt(template, PromptContext(variation=v), seed=1) for v in range(20)}
    by_index = {render_prompt(template, PromptContext(index=i), seed=1) for i in range(20)}
    by_seed = {render_prompt(template, PromptContext(), seed=s) for s in range(20)}
    assert len(by_variation) > 10
    assert len(by_index) > 10
    assert len(by_seed) > 10


def test_each_wildcard_in_a_template_is_drawn_independently() -> None:
    # With a shared draw, "{x|y}{x|y}" would only ever give "xx" or "yy".
    seen = {render_prompt("{x|y}{x|y}", PromptContext(variation=v), seed=2) for v in range(60)}
    assert seen == {"xx", "xy", "yx", "yy"}


def test_wildcard_choices_are_roughly_uniform() -> None:
    counts = Counter(
        render_prompt("{a|b|c}", PromptContext(index=i, variation=v), seed=0)
        for i in range(30)
        for v in range(1, 31)
    )
    assert set(counts) == {"a", "b", "c"}
    assert all(200 < c < 400 for c in counts.values()), counts


_SUBPROCESS_SCRIPT = """
import json, sys
from bananabatch.domain.templating import PromptContext, render_prompt
template = "a {red|green|blue|white|black} {car|bus|bike} at {dawn|noon|dusk}, {class}"
out = [render_prompt(template, PromptContext(folder="cat", index=i, variation=v), seed=1234)
       for i in range(5) for v in range(1, 5)]
json.dump(out, sys.stdout)
"""


def test_rendering_is_identical_across_processes_with_different_hash_seeds() -> None:
    results = []
    for hash_seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run(
            [sys.executable, "-c", _SUBPROCESS_SCRIPT],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        )
        results.append(json.loads(proc.stdout))
    template = "a {red|green|blue|white|black} {car|bus|bike} at {dawn|noon|dusk}, {class}"
    here = [
        render_prompt(template, PromptContext(folder="cat", index=i, variation=v), seed=1234)
        for i in range(5)
        for v in range(1, 5)
    ]
    assert results[0] == results[1] == results[2] == here
    assert len(set(here)) > 5


def test_rendering_to_an_empty_prompt_is_an_error() -> None:
    with pytest.raises(TemplateError, match="empty"):
        render_prompt("{|}", PromptContext(), seed=1)
    with pytest.raises(TemplateError, match="empty"):
        render_prompt("{folder}", PromptContext(folder=""), seed=1)


# ---- validation and error positions ----


@pytest.mark.parametrize(
    ("template", "position", "fragment"),
    [
        ("a {red|blue", 2, "Unclosed"),
        ("{", 0, "Unclosed"),
        ("abc {stem", 4, "Unclosed"),
        ("a } b", 2, "Stray"),
        ("}", 0, "Stray"),
        ("{stem}}", 6, "Stray"),
        ("x {} y", 2, "Empty"),
        ("x {  } y", 2, "Empty"),
        ("a {red|{blue}}", 7, "nested"),
        ("a {b{c}", 4, "nested"),
        ("a photo of {colour}", 11, "Unknown variable {colour}"),
        ("{Filename}", 0, "Unknown variable {Filename}"),
        ("", 0, "empty"),
        ("   \n\t", 0, "empty"),
        ("ok {stem} then {bad}", 15, "{bad}"),
    ],
)
def test_template_errors_name_the_position(template: str, position: int, fragment: str) -> None:
    with pytest.raises(TemplateError) as excinfo:
        validate_template(template)
    assert excinfo.value.position == position
    assert fragment.lower() in str(excinfo.value).lower()
    assert f"at character {position + 1}" in str(excinfo.value)
    assert excinfo.value.details == {"position": position}


def test_unknown_variable_message_lists_the_valid_ones() -> None:
    with pytest.raises(TemplateError) as excinfo:
        validate_template("{colour}")
    for name in VARIABLES:
        assert "{" + name + "}" in str(excinfo.value)


def test_restricted_variables_explain_why() -> None:
    validate_template("{index} {variation} {a|b}", variables=SEMI_AUTO_VARIABLES)
    with pytest.raises(TemplateError, match=r"\{filename\} has no value here") as excinfo:
        validate_template("shot of {filename}", variables=SEMI_AUTO_VARIABLES)
    assert excinfo.value.position == 8


@pytest.mark.parametrize(
    "template",
    ["{red|green}", "{{}}", "{{", "}}", "{|}", "a{b|c}d{e|f}", "{filename}{stem}{class}", "x"],
)
def test_valid_templates(template: str) -> None:
    validate_template(template)


def test_template_introspection() -> None:
    assert template_variables("{class} {stem} {class} {a|b}") == ("class", "stem")
    assert has_wildcards("{a|b}") is True
    assert has_wildcards("{{a|b}}") is False


def test_template_error_is_a_validation_failure() -> None:
    with pytest.raises(ValidationFailed):
        validate_template("{")


# ---- prompts CSV ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cat/001.jpg,a red cat\n", {"cat/001.jpg": "a red cat"}),
        ("path,prompt\ncat/001.jpg,a red cat\n", {"cat/001.jpg": "a red cat"}),
        ("Path , Prompt\r\na.jpg,x\r\n", {"a.jpg": "x"}),
        ("filename,template\na.jpg,x", {"a.jpg": "x"}),
        ('a.jpg,"a cat, sitting"\n', {"a.jpg": "a cat, sitting"}),
        ('a.jpg, "a cat, sitting"\n', {"a.jpg": "a cat, sitting"}),
        ('"b, c.jpg","say ""hi"""\n', {"b, c.jpg": 'say "hi"'}),
        ('a.jpg,"two\nlines"\nb.jpg,y\n', {"a.jpg": "two\nlines", "b.jpg": "y"}),
        ("a.jpg,a cat, sitting, in the sun\n", {"a.jpg": "a cat, sitting, in the sun"}),
        ("\ufeffpath,prompt\na.jpg,x\n", {"a.jpg": "x"}),
        ("\n\na.jpg,x\n,\n\nb.jpg,y\n", {"a.jpg": "x", "b.jpg": "y"}),
        ("./cat\\001.jpg,x\n/dog/2.png,y\n", {"cat/001.jpg": "x", "dog/2.png": "y"}),
        ("  a.jpg  ,  padded  \n", {"a.jpg": "padded"}),
        ("chats/été 1.jpg,un {chat|chien}\n", {"chats/été 1.jpg": "un {chat|chien}"}),
        ("cafe\u0301.jpg,x\n", {"caf\u00e9.jpg": "x"}),  # NFD from macOS -> NFC
        ("a.jpg,{class} in {red|blue}\n", {"a.jpg": "{class} in {red|blue}"}),
    ],
)
def test_parse_prompts_csv(text: str, expected: dict[str, str]) -> None:
    assert parse_prompts_csv(text) == expected


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a.jpg,x\nb.jpg\n", 2, "one field"),
        ("path,prompt\na.jpg,x\n,y\n", 3, "path is empty"),
        ("a.jpg,x\nb.jpg,   \n", 2, "prompt for 'b.jpg' is empty"),
        ("a.jpg,x\nb.jpg,y\n./a.jpg,z\n", 3, "line 1"),
        ('a.jpg,x\nb.jpg,"never closed\nc.jpg,z\n', 2, "quote"),
        ('a.jpg,"multi\nline"\nb.jpg,ok\nc.jpg\n', 4, "one field"),
    ],
)
def test_parse_prompts_csv_errors_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        parse_prompts_csv(text)
    assert f"line {line}" in str(excinfo.value)
    assert fragment in str(excinfo.value)


def test_duplicate_path_error_names_both_lines() -> None:
    with pytest.raises(ValidationFailed, match=r"line 3: 'a.jpg' already has a prompt on line 1"):
        parse_prompts_csv("a.jpg,x\nb.jpg,y\na.jpg,z\n")


def test_csv_prompt_with_a_bad_template_names_line_and_position() -> None:
    with pytest.raises(TemplateError) as excinfo:
        parse_prompts_csv("path,prompt\na.jpg,fine\nb.jpg,a {colour} cat\n")
    assert "line 3" in str(excinfo.value)
    assert "'b.jpg'" in str(excinfo.value)
    assert excinfo.value.position == 2
    assert str(excinfo.value).count("at character") == 1


@pytest.mark.parametrize("text", ["", "\n\n", "path,prompt\n", "\ufeff"])
def test_empty_csv_is_an_error(text: str) -> None:
    with pytest.raises(ValidationFailed, match="no rows"):
        parse_prompts_csv(text)
