"""Answers made from the reference image, for layout checks: `[[echo]]` (a model that
kept the layout), `[[recolour]]` (same layout, other hues), `[[shift:F]]` (the content
moved right by F of the width: a model that moved the layout)."""

from __future__ import annotations

import io
import re

from PIL import Image
from PIL.PngImagePlugin import PngInfo

_MARKER_RE = re.compile(r"\[\[([^\[\]]+)\]\]")

CONTENT_MARKERS: dict[str, str] = {
    "[[echo]]": "the first reference image itself, at the asked aspect ratio (a model that kept "
    "the layout); without an aspect ratio, at the reference's size",
    "[[recolour]]": "like [[echo]] with the hues turned a third of the way round (same layout)",
    "[[shift:F]]": "like [[echo]] with the content moved right by F of the width (default 0.15): "
    "a model that moved the layout",
}


def content_marker(prompt: str) -> tuple[str, float] | None:
    """([[echo]] | [[recolour]] | [[shift:F]], its number) when the prompt has one."""
    for raw in _MARKER_RE.findall(prompt):
        name, _, arg = raw.strip().partition(":")
        name = name.strip().lower()
        if name in ("echo", "recolour", "recolor"):
            return ("recolour" if name.startswith("recolo") else "echo"), 0.0
        if name == "shift":
            return "shift", float(arg or "0.15")
    return None


def from_reference(
    data: bytes, size: tuple[int, int], kind: str, amount: float, meta: dict[str, str]
) -> bytes:
    """The reference as a model that kept (or moved) its layout would return it."""
    with Image.open(io.BytesIO(data)) as ref:
        img = ref.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    if kind == "recolour":
        h, s, v = img.convert("HSV").split()
        img = Image.merge("HSV", (h.point(lambda x: (x + 85) % 256), s, v)).convert("RGB")
    elif kind == "shift":
        dx = int(img.width * amount)
        moved = Image.new("RGB", img.size)
        moved.paste(img.crop((0, 0, img.width - dx, img.height)), (dx, 0))
        moved.paste(img.crop((0, 0, 1, img.height)).resize((dx, img.height)), (0, 0))
        img = moved
    info = PngInfo()
    for key, value in meta.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info)
    return buf.getvalue()
