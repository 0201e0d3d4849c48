"""One template rendered for many outputs, byte for byte what `render_prompt` gives.

A 100,000-output job renders a handful of templates 100,000 times. `render_prompt`
validates, walks the parts and seeds a new `random.Random` through its Python layers
for every output; here a template is checked and parsed once, the text that does not
change between a source's variations is joined once per source, and each wildcard is
picked by one reused generator seeded in C (`WildcardPicker`), drawing exactly as
`random.Random(seed).choice` does. `tests/unit/test_prompt_renderer.py` compares both
paths over many templates, contexts and seeds.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from bananabatch.domain.seeds import json_part, seed_of_json
from bananabatch.domain.templating import (
    VARIABLES,
    PromptContext,
    _Literal,
    _parse,
    _Variable,
    _Wildcard,
    empty_prompt_error,
    validate_template,
)


class WildcardPicker:
    """`random.Random(seed).choice(options)` without a new generator per pick: one
    generator, re-seeded by the C `seed` (the same state `Random(seed)` starts from),
    then `choice`'s own draw (`_randbelow_with_getrandbits`). Not shared between
    threads: each planner makes its own."""

    def __init__(self) -> None:
        rng = random.Random()
        self._seed: Callable[[int], None] = super(random.Random, rng).seed
        self._bits: Callable[[int], int] = rng.getrandbits

    def pick(self, seed: int, options: Sequence[str]) -> str:
        self._seed(seed)
        n = len(options)
        k = n.bit_length()
        r = self._bits(k)
        while r >= n:
            r = self._bits(k)
        return options[r]


# A source's template after its fixed values are filled in: text, or what changes per
# variation (None: the `{variation}` variable; a wildcard: its pick).
_Piece = str | _Wildcard | None


class TemplateRenderer:
    """`template` with the job `seed`, validated and parsed once, rendered per source."""

    def __init__(self, template: str, seed: int, picker: WildcardPicker) -> None:
        validate_template(template, variables=VARIABLES)
        self.template = template
        self._parts = _parse(template)
        self._seed_json = json_part(seed)
        self._picker = picker

    def for_source(
        self, *, filename: str, stem: str, folder: str, index: int
    ) -> Callable[[int], str]:
        """The prompt of each variation (1-based) of one source; raises TemplateError
        where `render_prompt` would (a prompt that renders to nothing)."""
        fixed = PromptContext(filename=filename, stem=stem, folder=folder, index=index)
        pieces: list[_Piece] = []
        text: list[str] = []
        for part in self._parts:
            if isinstance(part, _Literal):
                text.append(part.text)
            elif isinstance(part, _Variable) and part.name != "variation":
                text.append(fixed.value(part.name))
            else:
                if text:
                    pieces.append("".join(text))
                    text = []
                pieces.append(part if isinstance(part, _Wildcard) else None)
        if text:
            pieces.append("".join(text))
        if all(isinstance(p, str) for p in pieces):
            return self._constant("".join(p for p in pieces if isinstance(p, str)), filename)
        # derive_seed(seed, "wildcard", index, variation, ordinal), encoded once per source
        head = f'{self._seed_json}, "wildcard", {json_part(index)}, '
        pick = self._picker.pick
        template = self.template

        def render(variation: int) -> str:
            number = str(variation)
            out: list[str] = []
            for piece in pieces:
                if piece.__class__ is str:
                    out.append(piece)  # type: ignore[arg-type]
                elif piece is None:
                    out.append(number)
                else:
                    wildcard: _Wildcard = piece  # type: ignore[assignment]
                    material = f"{head}{json_part(variation)}, {wildcard.ordinal}"
                    out.append(pick(seed_of_json(material), wildcard.options))
            rendered = "".join(out)
            if not rendered.strip():
                raise empty_prompt_error(template, filename, variation)
            return rendered

        return render

    def _constant(self, rendered: str, filename: str) -> Callable[[int], str]:
        """A prompt the same for every variation (no wildcard, no `{variation}`)."""
        empty = not rendered.strip()
        template = self.template

        def render(variation: int) -> str:
            if empty:
                raise empty_prompt_error(template, filename, variation)
            return rendered

        return render
