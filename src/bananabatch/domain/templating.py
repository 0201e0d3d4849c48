"""Prompt templates: variables, seeded wildcards and the per-image prompts CSV.

Syntax:
- `{name}` inserts a variable (see VARIABLES), e.g. `a photo of a {class}`;
- `{a|b|c}` picks one option, e.g. `{red|green|blue} car`; options are used
  exactly as written (spaces kept, empty options allowed: `{|very }dark`);
- `{{` and `}}` are literal braces.

Wildcards are picked by a `random.Random` seeded from a sha256 of (job seed,
index, variation, wildcard ordinal), never from Python's per-process `hash()`,
so the same template, context and seed render the same prompt in any process.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bananabatch.domain.seeds import derive_seed, seed_of_json
from bananabatch.errors import TemplateError, ValidationFailed

VARIABLES: tuple[str, ...] = ("filename", "stem", "folder", "class", "index", "variation")
"""Every variable a template may use."""

SEMI_AUTO_VARIABLES: tuple[str, ...] = ("index", "variation")
"""The variables that have a value in semi-automatic mode (there is no source image)."""

MAX_PROMPT_CHARS = 8000
"""Longest prompt template accepted anywhere (job prompt, per-class, per-image CSV row)."""

_PATH_HEADERS = frozenset({"path", "rel_path", "relative_path", "file", "filename", "image"})
_PROMPT_HEADERS = frozenset({"prompt", "template", "text"})


@dataclass(frozen=True)
class PromptContext:
    """The values a template's variables take for one output."""

    filename: str = ""  # "001.jpg"
    stem: str = ""  # "001"
    folder: str = ""  # top-level folder / class ("cat"); {class} is the same value
    index: int = 0  # 0-based source (automatic) or run (semi-auto) position in the job
    variation: int = 1  # 1-based

    def value(self, name: str) -> str:
        if name in ("folder", "class"):
            return self.folder
        if name == "filename":
            return self.filename
        if name == "stem":
            return self.stem
        if name == "index":
            return str(self.index)
        if name == "variation":
            return str(self.variation)
        raise KeyError(name)


@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _Variable:
    name: str
    position: int


@dataclass(frozen=True)
class _Wildcard:
    options: tuple[str, ...]
    ordinal: int  # 0-based count of wildcards before this one
    position: int


_Part = _Literal | _Variable | _Wildcard


def _describe_variables(allowed: Iterable[str]) -> str:
    return ", ".join("{" + name + "}" for name in allowed)


@lru_cache(maxsize=512)
def _parse(template: str) -> tuple[_Part, ...]:
    """Split a template into literal text, variables and wildcards.

    Syntax errors raise TemplateError with the 0-based position of the culprit.
    Cached: a job renders the same few templates thousands of times.
    """
    if not template.strip():
        raise TemplateError("The prompt is empty; write what the image should show.", position=0)
    parts: list[_Part] = []
    text: list[str] = []
    ordinal = 0
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if ch == "{" and template.startswith("{{", i):
            text.append("{")
            i += 2
            continue
        if ch == "}":
            if template.startswith("}}", i):
                text.append("}")
                i += 2
                continue
            raise TemplateError(
                "Stray '}' with no matching '{'; write '}}' for a literal brace.", position=i
            )
        if ch != "{":
            text.append(ch)
            i += 1
            continue
        start = i
        j = i + 1
        while j < n and template[j] not in "{}":
            j += 1
        if j >= n:
            raise TemplateError(
                "Unclosed '{'; close it with '}' or write '{{' for a literal brace.",
                position=start,
            )
        if template[j] == "{":
            raise TemplateError(
                "Braces cannot be nested; a '{...}' may not contain another '{'.", position=j
            )
        body = template[start + 1 : j]
        if text:
            parts.append(_Literal("".join(text)))
            text = []
        if "|" in body:
            parts.append(_Wildcard(tuple(body.split("|")), ordinal, start))
            ordinal += 1
        else:
            name = body.strip()
            if not name:
                raise TemplateError(
                    "Empty '{}'; put a variable name or options like {red|blue} inside, "
                    "or write '{{}}' for literal braces.",
                    position=start,
                )
            parts.append(_Variable(name, start))
        i = j + 1
    if text:
        parts.append(_Literal("".join(text)))
    return tuple(parts)


def validate_template(template: str, *, variables: Iterable[str] = VARIABLES) -> None:
    """Raise TemplateError (with a 0-based position) if `template` cannot be rendered.

    `variables` narrows the accepted names, e.g. SEMI_AUTO_VARIABLES where there
    is no source image to take a filename from.
    """
    allowed = tuple(variables)
    for part in _parse(template):
        if isinstance(part, _Variable) and part.name not in allowed:
            if part.name in VARIABLES:
                raise TemplateError(
                    f"The variable {{{part.name}}} has no value here (there is no source "
                    f"image); available: {_describe_variables(allowed)}.",
                    position=part.position,
                )
            raise TemplateError(
                f"Unknown variable {{{part.name}}}; valid variables are "
                f"{_describe_variables(allowed)}. For a choice of words use "
                "{option1|option2}; for literal braces write {{ and }}.",
                position=part.position,
            )


def template_variables(template: str) -> tuple[str, ...]:
    """The variable names a (valid) template uses, in order of first use."""
    seen: dict[str, None] = {}
    for part in _parse(template):
        if isinstance(part, _Variable):
            seen.setdefault(part.name, None)
    return tuple(seen)


def has_wildcards(template: str) -> bool:
    return any(isinstance(part, _Wildcard) for part in _parse(template))


def _wildcard_seed(seed: int, ctx: PromptContext, ordinal: int) -> int:
    """derive_seed(seed, "wildcard", index, variation, ordinal), encoded directly when
    every number is a plain int (always, from the planners)."""
    if type(seed) is type(ctx.index) is type(ctx.variation) is int:
        return seed_of_json(f'{seed}, "wildcard", {ctx.index}, {ctx.variation}, {ordinal}')
    return derive_seed(seed, "wildcard", ctx.index, ctx.variation, ordinal)


def render_prompt(template: str, ctx: PromptContext, *, seed: int) -> str:
    """The prompt for one output: variables filled in, wildcards picked.

    Deterministic in (template, ctx, seed). Raises TemplateError for a bad
    template, or when the result would be empty (an API rejects empty prompts).
    """
    validate_template(template)
    out: list[str] = []
    for part in _parse(template):
        if isinstance(part, _Literal):
            out.append(part.text)
        elif isinstance(part, _Variable):
            out.append(ctx.value(part.name))
        else:
            rng = random.Random(_wildcard_seed(seed, ctx, part.ordinal))
            out.append(rng.choice(part.options))
    rendered = "".join(out)
    if not rendered.strip():
        raise empty_prompt_error(template, ctx.filename, ctx.variation)
    return rendered


def empty_prompt_error(template: str, filename: str, variation: int) -> TemplateError:
    """The error for a template that renders to nothing (an API rejects empty prompts)."""
    return TemplateError(
        f"The prompt {template!r} renders to an empty text for {filename or 'this output'}"
        f" (variation {variation}); add words outside the braces."
    )


def _normalize_csv_path(path: str) -> str:
    """Paths compare the way the dataset stores them: '/' separators, no './', NFC."""
    cleaned = path.strip().replace("\\", "/")
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    cleaned = cleaned.lstrip("/")
    return unicodedata.normalize("NFC", cleaned)


def normalize_prompt_path(path: str) -> str:
    """The key under which a per-image prompt is looked up for `path`."""
    return _normalize_csv_path(path)


def _is_header(row: list[str]) -> bool:
    return (
        len(row) >= 2
        and row[0].strip().lower() in _PATH_HEADERS
        and row[1].strip().lower() in _PROMPT_HEADERS
    )


def parse_prompts_csv(text: str) -> dict[str, str]:
    """Per-image prompts from CSV text: one `path,prompt` row per image.

    A `path,prompt` header is optional. Fields may be quoted (a prompt holding
    commas or newlines should be; an unquoted prompt split at commas is rejoined
    with ", "). Paths are normalised (`\\` -> `/`, no leading `./`, NFC); every
    prompt is validated as a template. Bad rows raise ValidationFailed (or
    TemplateError) naming the line.
    """
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)
    prompts: dict[str, str] = {}
    first_line: dict[str, int] = {}
    line_after_previous = 1
    first_row = True
    try:
        for row in reader:
            line = line_after_previous
            line_after_previous = reader.line_num + 1
            if not row or all(not cell.strip() for cell in row):
                continue
            if first_row:
                first_row = False
                if _is_header(row):
                    continue
            if len(row) < 2:
                raise ValidationFailed(
                    f"Prompts CSV line {line}: expected 'path,prompt' but found one field "
                    f"({row[0].strip()!r}); quote the prompt if it contains commas.",
                    details={"line": line},
                )
            path = _normalize_csv_path(row[0])
            # An unquoted prompt with commas arrives split; prose puts a space after them.
            prompt = ", ".join(cell.strip() for cell in row[1:]).strip()
            if not path:
                raise ValidationFailed(
                    f"Prompts CSV line {line}: the path is empty.", details={"line": line}
                )
            if not prompt:
                raise ValidationFailed(
                    f"Prompts CSV line {line}: the prompt for {path!r} is empty.",
                    details={"line": line},
                )
            if len(prompt) > MAX_PROMPT_CHARS:
                raise ValidationFailed(
                    f"Prompts CSV line {line}: the prompt for {path!r} is {len(prompt)} "
                    f"characters long; the limit is {MAX_PROMPT_CHARS}.",
                    details={"line": line},
                )
            if path in prompts:
                raise ValidationFailed(
                    f"Prompts CSV line {line}: {path!r} already has a prompt on line "
                    f"{first_line[path]}; give each image one row.",
                    details={"line": line},
                )
            try:
                validate_template(prompt)
            except TemplateError as exc:
                raise TemplateError(
                    f"Prompts CSV line {line}, prompt for {path!r}: {_bare_message(exc)}",
                    position=exc.position,
                ) from exc
            prompts[path] = prompt
            first_line[path] = line
    except csv.Error as exc:
        raise ValidationFailed(
            f"Prompts CSV line {line_after_previous}: {exc}; check the quotes on that line.",
            details={"line": line_after_previous},
        ) from exc
    if not prompts:
        raise ValidationFailed(
            "The prompts CSV has no rows; expected lines like 'cat/001.jpg,a red cat'."
        )
    return prompts


def _bare_message(exc: TemplateError) -> str:
    """The message without the ' (at character N)' suffix TemplateError appends."""
    message = exc.message
    if exc.position is not None:
        message = message.removesuffix(f" (at character {exc.position + 1})")
    return message
