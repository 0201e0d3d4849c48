"""The `classic` provider: offline classical augmentation, no network, no key.

It is what `make run` uses with no configuration, so the whole product works
offline. It is never presented as AI: every result's text starts with
"offline classical augmentation".

Determinism: the random source is seeded from sha256(input bytes, prompt, seed),
so the same image, prompt and seed always give the same bytes, and two source
images with the same seed still get different random parameters.

Recipe: keywords in the prompt (see `KEYWORDS`) pick albumentations transforms
(`classic_recipes`); every recipe also gets a mild seeded jitter (small crop,
brightness/contrast) so that variations of one image differ. A prompt with no
keyword gets a seeded random mix of mild geometric and photometric steps.

Labels: geometric steps run first, with the source's labels, through
albumentations' own bbox and mask handling (`classic_labels`); photometric steps
then touch the pixels only. The geometric-only image is kept as the source "as
seen in this frame" for the layout check.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import math
import re
from typing import TYPE_CHECKING

import albumentations as A  # type: ignore[import-untyped]
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from bananabatch.contracts import GenerationOptions, OutputTransform, Usage
from bananabatch.providers.base import (
    GeneratedImage,
    GenerationRequest,
    InvalidRequestError,
)
from bananabatch.providers.classic_labels import run_geometric
from bananabatch.providers.classic_recipes import plan

if TYPE_CHECKING:
    from bananabatch.worker.cpu import Offload

RESULT_LABEL = "offline classical augmentation"

KEYWORDS: dict[str, str] = {
    "night": "darken, lower the gamma and tint blue, with a little sensor noise",
    "rain": "slanted rain streaks over a slightly darker, duller image",
    "snow": "falling snow flakes over a cooler, brighter image",
    "fog": "patchy haze that washes out contrast",
    "sunny": "warm, brighter light with a soft glow from the top",
    "warm": "shift the colour balance towards orange",
    "cold": "shift the colour balance towards blue (also: colder, cooler, cool tones, icy)",
    "blur": "gaussian blur (also: blurry, soft)",
    "sharpen": "unsharp-mask sharpening (also: sharp, crisp)",
    "grayscale": "black and white (also: greyscale, black and white, b&w, monochrome)",
    "sepia": "sepia toning",
    "vintage": "faded sepia colours, vignette and film grain (also: retro, old photo)",
    "bright": "raise the brightness (also: brighter, lighten)",
    "dark": "lower the brightness (also: darker, darken, dim)",
    "contrast": "raise the contrast",
    "vivid": "raise the saturation (also: saturated, colorful)",
    "muted": "lower the saturation (also: desaturated, faded)",
    "hue": "shift the hue around the colour wheel",
    "flip": "mirror left to right (also: mirror, flipped)",
    "upside down": "flip top to bottom (also: vertical flip)",
    "rotate": "rotate by 5-15 degrees, cropped so no border shows (also: rotated, tilt)",
    "zoom": "crop into the image and scale back up (also: crop, zoomed)",
    "shear": "slant the image as if seen at an angle (also: perspective, skew)",
    "noise": "gaussian sensor noise (also: noisy, grain, grainy)",
    "vignette": "darken the corners",
}

# keyword -> the spellings that trigger it (matched as whole words, case-insensitive)
_ALIASES: dict[str, tuple[str, ...]] = {
    "night": ("night", "nighttime", "night-time", "at night", "midnight"),
    "rain": ("rain", "rainy", "raining", "rainfall", "downpour"),
    "snow": ("snow", "snowy", "snowing", "snowfall", "blizzard"),
    "fog": ("fog", "foggy", "mist", "misty", "haze", "hazy"),
    "sunny": ("sunny", "sunshine", "sunlight", "sunlit", "golden hour"),
    "warm": ("warm", "warmer", "warm tones"),
    "cold": ("cold", "colder", "cooler", "cool tones", "icy"),
    "blur": ("blur", "blurry", "blurred", "soft focus", "out of focus"),
    "sharpen": ("sharpen", "sharpened", "sharp", "sharper", "crisp"),
    "grayscale": (
        "grayscale",
        "greyscale",
        "black and white",
        "black & white",
        "b&w",
        "monochrome",
    ),
    "sepia": ("sepia",),
    "vintage": ("vintage", "retro", "old photo", "old photograph"),
    "bright": ("bright", "brighter", "brighten", "lighten", "lighter"),
    "dark": ("dark", "darker", "darken", "dim", "dimmer"),
    "contrast": ("contrast", "high contrast", "contrasty"),
    "vivid": ("vivid", "saturated", "saturate", "colorful", "colourful"),
    "muted": ("muted", "desaturated", "desaturate", "faded", "washed out"),
    "hue": ("hue", "hue shift", "recolor", "recolour"),
    "flip": ("flip", "flipped", "mirror", "mirrored", "horizontal flip"),
    "upside down": ("upside down", "upside-down", "vertical flip", "vflip"),
    "rotate": ("rotate", "rotated", "rotation", "tilt", "tilted"),
    "zoom": ("zoom", "zoomed", "zoom in", "crop", "cropped"),
    "shear": ("shear", "sheared", "perspective", "skew", "skewed"),
    "noise": ("noise", "noisy", "grain", "grainy"),
    "vignette": ("vignette", "vignetting"),
}

_KEYWORD_PATTERNS: dict[str, re.Pattern[str]] = {
    keyword: re.compile(
        r"(?<![\w&])(?:"
        + "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))
        # "b&w" ends in a word char, "black & white" has inner spaces: plain lookarounds do
        + r")(?![\w&])",
        re.IGNORECASE,
    )
    for keyword, aliases in _ALIASES.items()
}

_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
ALPHA_FORMATS = frozenset({"png", "webp"})
"""Output formats that hold transparency; a JPEG output lays it on white."""
_SIZE_LONG_SIDE = {"512": 512, "0.5K": 512, "1K": 1024, "2K": 2048, "4K": 4096}
_DEFAULT_LONG_SIDE = 1024
_ASPECT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")


def find_keywords(prompt: str) -> list[str]:
    """The `KEYWORDS` a prompt mentions, in `KEYWORDS` order."""
    return [k for k, pattern in _KEYWORD_PATTERNS.items() if pattern.search(prompt)]


def parse_aspect_ratio(value: str) -> float:
    """'16:9' -> 1.777...; raises InvalidRequestError on anything else."""
    match = _ASPECT_RE.match(value)
    if not match or float(match.group(1)) <= 0 or float(match.group(2)) <= 0:
        raise InvalidRequestError(
            f"aspect ratio {value!r} is not valid: use width:height, for example 16:9"
        )
    return float(match.group(1)) / float(match.group(2))


def _rng_for(data: bytes, prompt: str, seed: int) -> np.random.Generator:
    digest = hashlib.sha256()
    digest.update(hashlib.sha256(data).digest())
    digest.update(prompt.encode("utf-8"))
    digest.update(str(seed).encode("ascii"))
    return np.random.default_rng(int.from_bytes(digest.digest()[:16], "big"))


# ------------------------------------------------------------------ inputs ----


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def _decode(data: bytes, name: str | None, keep_alpha: bool = False) -> Image.Image:
    """The reference as RGB, or RGBA when it has transparency and `keep_alpha` (the
    output format can hold it); otherwise transparent parts are laid on white."""
    label = f"reference image {name!r}" if name else "the reference image"
    try:
        with Image.open(io.BytesIO(data)) as opened:
            img = ImageOps.exif_transpose(opened)
            img.load()
    except Image.DecompressionBombError as exc:
        raise InvalidRequestError(f"{label} has too many pixels to process") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidRequestError(f"{label} is not a readable image: {exc}") from exc
    if _has_alpha(img):
        rgba = img.convert("RGBA")
        if keep_alpha:
            return rgba
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def _center_crop_size(size: tuple[int, int], ratio: float) -> tuple[int, int] | None:
    """(width, height) of the centred crop with this aspect ratio; None if it fits."""
    w, h = size
    if abs(w / h - ratio) < 1e-3:
        return None
    if w / h > ratio:
        return max(1, round(h * ratio)), h
    return w, max(1, round(w / ratio))


def _from_array(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8), "RGB")


def _low_freq_noise(rng: np.random.Generator, size: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth noise in [0, 1]: a small random grid scaled up bicubically."""
    w, h = size
    grid = (rng.random((cells, cells)) * 255).astype(np.uint8)
    smooth = Image.fromarray(grid, "L").resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(smooth, dtype=np.float32) / 255.0


def _procedural(options: GenerationOptions, rng: np.random.Generator) -> Image.Image:
    """A seeded gradient + soft noise pattern, for prompts with no reference image."""
    long_side = _SIZE_LONG_SIDE.get((options.image_size or "").upper(), _DEFAULT_LONG_SIDE)
    ratio = parse_aspect_ratio(options.aspect_ratio) if options.aspect_ratio else 1.0
    if ratio >= 1:
        w, h = long_side, max(1, round(long_side / ratio))
    else:
        w, h = max(1, round(long_side * ratio)), long_side
    c1 = rng.uniform(20, 235, 3).astype(np.float32)
    c2 = rng.uniform(20, 235, 3).astype(np.float32)
    angle = float(rng.uniform(0, 2 * math.pi))
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    t = (xs / w - 0.5) * math.cos(angle) + (ys / h - 0.5) * math.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    arr = c1 * (1 - t[:, :, None]) + c2 * t[:, :, None]
    blobs = _low_freq_noise(rng, (w, h), int(rng.integers(4, 9)))
    arr = arr * (0.75 + 0.5 * blobs[:, :, None])
    return _from_array(arr)


def _encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "jpeg":
        img.save(buf, "JPEG", quality=92)
    elif fmt == "webp":
        img.save(buf, "WEBP", quality=90, method=4)
    else:
        img.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def augment(request: GenerationRequest) -> GeneratedImage:
    """The whole classic pipeline, synchronous and CPU-bound (run it off the loop)."""
    options = request.options
    first = request.references[0] if request.references else None
    rng = _rng_for(first.data if first else b"", request.prompt, request.seed)
    steps: list[str] = []
    geometric: list[A.BasicTransform] = []
    labels = request.labels if first is not None else None
    keep_alpha = options.output_format in ALPHA_FORMATS
    if first is not None:
        img = _decode(first.data, first.name, keep_alpha)
        frame = img.size
        if options.aspect_ratio:
            crop = _center_crop_size(img.size, parse_aspect_ratio(options.aspect_ratio))
            if crop is not None:
                geometric.append(A.CenterCrop(height=crop[1], width=crop[0], p=1))
                frame = crop
            steps.append(f"center crop {options.aspect_ratio}")
    else:
        img = _procedural(options, rng)
        frame = img.size
        steps.append("procedural pattern (no reference image)")
    recipe = plan(_keywords(request.prompt), rng, frame)
    geometric.extend(recipe.geometric)
    steps.extend(recipe.steps)
    # Geometric steps move the alpha channel with the pixels; photometric ones see RGB.
    arr, moved = run_geometric(np.asarray(img), labels, geometric, _seed(rng), frame)
    alpha = arr[:, :, 3] if arr.ndim == 3 and arr.shape[2] == 4 else None
    arr = np.ascontiguousarray(arr[:, :, :3]) if alpha is not None else arr
    view = Image.fromarray(arr)
    if recipe.photometric:
        arr = A.Compose(recipe.photometric, seed=_seed(rng))(image=arr)["image"]
    out = Image.fromarray(arr)
    if alpha is not None:
        out.putalpha(Image.fromarray(alpha))
        steps.append("transparency kept")
    fmt = options.output_format
    return GeneratedImage(
        data=_encode(out, fmt),
        mime_type=_MIME[fmt],
        width=out.width,
        height=out.height,
        usage=Usage(),
        text=f"{RESULT_LABEL}: " + ", ".join(steps),
        labels=moved,
        transform=OutputTransform(steps=steps, geometric=bool(geometric)),
        reference_view=view if first is not None else None,
    )


def _keywords(prompt: str) -> list[str]:
    return find_keywords(prompt)


class ClassicProvider:
    """Offline, seeded classical augmentation; labelled as such, never as AI. The work
    runs through `offload` (worker processes in the server, see `worker/cpu.py`), else
    in a thread."""

    name = "classic"
    offload: Offload | None = None

    def __init__(self, offload: Offload | None = None) -> None:
        self.offload = offload

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        if self.offload is None:
            return await asyncio.to_thread(augment, request)
        return await self.offload(augment, request)

    async def aclose(self) -> None:
        """Nothing to release: the provider holds no connections."""
