"""The `classic` provider: offline classical augmentation, no network, no key.

It is what `make run` uses with no configuration, so the whole product works
offline. It is never presented as AI: every result's text starts with
"offline classical augmentation".

Determinism: the random source is seeded from sha256(input bytes, prompt, seed),
so the same image, prompt and seed always give the same bytes, and two source
images with the same seed still get different random parameters.

Recipe: keywords in the prompt (see `KEYWORDS`) pick the operations; every
recipe also gets a mild seeded jitter (small crop, brightness/contrast) so that
variations of one image differ. A prompt with no keyword gets a seeded random
mix of mild geometric and photometric operations.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps, UnidentifiedImageError

from bananabatch.contracts import GenerationOptions, Usage
from bananabatch.providers.base import (
    GeneratedImage,
    GenerationRequest,
    InvalidRequestError,
)

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
_SIZE_LONG_SIDE = {"512": 512, "0.5K": 512, "1K": 1024, "2K": 2048, "4K": 4096}
_DEFAULT_LONG_SIDE = 1024
_ASPECT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")

Op = Callable[[Image.Image, np.random.Generator], tuple[Image.Image, str]]


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


# ---------------------------------------------------------------- helpers ----


def _to_array(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.float32)


def _from_array(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8), "RGB")


def _tint(img: Image.Image, r: float, g: float, b: float) -> Image.Image:
    return _from_array(_to_array(img) * np.array([r, g, b], dtype=np.float32))


def _gamma(img: Image.Image, gamma: float) -> Image.Image:
    table = [round(255 * (i / 255) ** gamma) for i in range(256)] * 3
    return img.point(table)


def _low_freq_noise(rng: np.random.Generator, size: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth noise in [0, 1]: a small random grid scaled up bicubically."""
    w, h = size
    grid = (rng.random((cells, cells)) * 255).astype(np.uint8)
    smooth = Image.fromarray(grid, "L").resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(smooth, dtype=np.float32) / 255.0


def _crop_zoom(img: Image.Image, scale: float, rng: np.random.Generator) -> Image.Image:
    """Crop a `scale` fraction of each side at a random offset, resized back."""
    w, h = img.size
    cw, ch = max(1, round(w * scale)), max(1, round(h * scale))
    x = int(rng.integers(0, w - cw + 1))
    y = int(rng.integers(0, h - ch + 1))
    return img.crop((x, y, x + cw, y + ch)).resize((w, h), Image.Resampling.BICUBIC)


def _sepia(img: Image.Image) -> Image.Image:
    arr = _to_array(img)
    matrix = np.array(
        [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float32
    )
    return _from_array(arr @ matrix.T)


def _add_noise(img: Image.Image, rng: np.random.Generator, sigma: float) -> Image.Image:
    arr = _to_array(img)
    noise = rng.normal(0.0, sigma, size=(*arr.shape[:2], 1)).astype(np.float32)
    return _from_array(arr + noise)


def _vignette(img: Image.Image, strength: float) -> Image.Image:
    w, h = img.size
    ys = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    falloff = 1.0 - strength * np.clip((xs**2 + ys**2) / 2.0, 0.0, 1.0)
    return _from_array(_to_array(img) * falloff[:, :, None])


def _overlay(img: Image.Image, mask: Image.Image, colour: float, opacity: float) -> Image.Image:
    alpha = (np.asarray(mask, dtype=np.float32) / 255.0 * opacity)[:, :, None]
    return _from_array(_to_array(img) * (1.0 - alpha) + colour * alpha)


# -------------------------------------------------------------- operations ----
# Each op returns the new image and a short description of what it did.


def _op_flip(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    return ImageOps.mirror(img), "horizontal flip"


def _op_vflip(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    return ImageOps.flip(img), "vertical flip"


def _rotate(img: Image.Image, angle: float) -> Image.Image:
    """Rotate, then crop the largest centred box with no border and scale back."""
    w, h = img.size
    rotated = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False)
    a = math.radians(abs(angle))
    # scale so the rotated frame still covers the original frame
    scale = math.cos(a) + max(w / h, h / w) * math.sin(a)
    cw, ch = max(1, round(w / scale)), max(1, round(h / scale))
    left, top = (w - cw) // 2, (h - ch) // 2
    return rotated.crop((left, top, left + cw, top + ch)).resize((w, h), Image.Resampling.BICUBIC)


def _op_rotate(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    angle = float(rng.uniform(5.0, 15.0)) * (1 if rng.random() < 0.5 else -1)
    return _rotate(img, angle), f"rotate {angle:+.1f}°"


def _op_small_rotate(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    angle = float(rng.uniform(-6.0, 6.0))
    return _rotate(img, angle), f"rotate {angle:+.1f}°"


def _op_zoom(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    scale = float(rng.uniform(0.7, 0.88))
    return _crop_zoom(img, scale, rng), f"zoom x{1 / scale:.2f}"


def _op_mild_zoom(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    scale = float(rng.uniform(0.85, 0.97))
    return _crop_zoom(img, scale, rng), f"zoom x{1 / scale:.2f}"


def _op_shear(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    w, h = img.size
    sx = float(rng.uniform(0.06, 0.15)) * (1 if rng.random() < 0.5 else -1)
    sy = float(rng.uniform(-0.05, 0.05))
    # shear around the centre, then zoom in enough to hide the empty corners
    cx, cy = w / 2, h / 2
    coeffs = (1.0, sx, -sx * cy, sy, 1.0, -sy * cx)
    sheared = img.transform((w, h), Image.Transform.AFFINE, coeffs, Image.Resampling.BICUBIC)
    margin = 1.0 / (1.0 + abs(sx) * h / w + abs(sy) * w / h)
    cw, ch = max(1, round(w * margin)), max(1, round(h * margin))
    left, top = (w - cw) // 2, (h - ch) // 2
    cropped = sheared.crop((left, top, left + cw, top + ch)).resize(
        (w, h), Image.Resampling.BICUBIC
    )
    return cropped, f"shear {sx:+.2f}/{sy:+.2f}"


def _op_enhance(
    enhancer: Callable[[Image.Image], ImageEnhance._Enhance], low: float, high: float, label: str
) -> Callable[[Image.Image, np.random.Generator], tuple[Image.Image, str]]:
    """A seeded factor in [low, high) for one of Pillow's enhancers."""

    def op(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
        factor = float(rng.uniform(low, high))
        return enhancer(img).enhance(factor), f"{label} x{factor:.2f}"

    return op


def _op_hue(
    max_shift: float,
) -> Callable[[Image.Image, np.random.Generator], tuple[Image.Image, str]]:
    def op(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
        shift = float(rng.uniform(max_shift / 3, max_shift)) * (1 if rng.random() < 0.5 else -1)
        h, s, v = img.convert("HSV").split()
        offset = round(shift / 360 * 256)
        h = h.point([(i + offset) % 256 for i in range(256)])
        return Image.merge("HSV", (h, s, v)).convert("RGB"), f"hue {shift:+.0f}°"

    return op


def _op_gamma(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    gamma = float(rng.uniform(0.8, 1.25))
    return _gamma(img, gamma), f"gamma {gamma:.2f}"


def _op_blur(
    low: float, high: float
) -> Callable[[Image.Image, np.random.Generator], tuple[Image.Image, str]]:
    def op(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
        radius = float(rng.uniform(low, high)) * max(0.5, max(img.size) / 1024)
        return img.filter(ImageFilter.GaussianBlur(radius)), f"blur r{radius:.1f}"

    return op


def _op_sharpen(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    percent = int(rng.integers(80, 180))
    radius = max(1.0, max(img.size) / 512)
    sharpened = img.filter(ImageFilter.UnsharpMask(radius=radius, percent=percent, threshold=2))
    return sharpened, f"sharpen {percent}%"


def _op_noise(
    low: float, high: float
) -> Callable[[Image.Image, np.random.Generator], tuple[Image.Image, str]]:
    def op(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
        sigma = float(rng.uniform(low, high))
        return _add_noise(img, rng, sigma), f"noise sigma {sigma:.0f}"

    return op


def _op_grayscale(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    return ImageOps.grayscale(img).convert("RGB"), "grayscale"


def _op_sepia(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    return _sepia(img), "sepia"


def _op_vintage(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    amount = float(rng.uniform(0.55, 0.8))
    toned = Image.blend(img, _sepia(img), amount)
    toned = ImageEnhance.Contrast(toned).enhance(0.85)
    toned = _vignette(toned, float(rng.uniform(0.35, 0.55)))
    return _add_noise(toned, rng, float(rng.uniform(5, 10))), f"vintage {amount:.2f}"


def _op_vignette(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    strength = float(rng.uniform(0.35, 0.6))
    return _vignette(img, strength), f"vignette {strength:.2f}"


def _op_warm(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    k = float(rng.uniform(0.06, 0.14))
    return _tint(img, 1 + k, 1 + k / 4, 1 - k), f"warm {k:.2f}"


def _op_cold(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    k = float(rng.uniform(0.06, 0.14))
    return _tint(img, 1 - k, 1 + k / 6, 1 + k), f"cold {k:.2f}"


def _op_night(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    level = float(rng.uniform(0.5, 0.65))
    out = ImageEnhance.Brightness(img).enhance(level)
    out = _gamma(out, float(rng.uniform(1.1, 1.25)))
    out = ImageEnhance.Color(out).enhance(0.7)
    out = _tint(out, 0.8, 0.92, 1.2)
    return _add_noise(out, rng, float(rng.uniform(3, 7))), f"night {level:.2f}"


def _op_sunny(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    w, h = img.size
    out = _tint(
        ImageEnhance.Brightness(img).enhance(float(rng.uniform(1.05, 1.15))), 1.08, 1.03, 0.9
    )
    cx = float(rng.uniform(0.1, 0.9)) * w
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    dist = np.sqrt((xs - cx) ** 2 + ys**2) / math.hypot(w, h)
    glow = np.clip(1.0 - dist * 1.6, 0.0, 1.0) ** 2 * float(rng.uniform(0.25, 0.45))
    arr = _to_array(out)
    arr = arr + (np.array([255, 236, 190], dtype=np.float32) - arr) * glow[:, :, None]
    return _from_array(arr), "sunny"


def _streak_count(img: Image.Image, per_megapixel: float) -> int:
    w, h = img.size
    return max(20, min(6000, round(w * h / 1e6 * per_megapixel)))


def _op_rain(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    w, h = img.size
    base = ImageEnhance.Color(ImageEnhance.Brightness(img).enhance(0.82)).enhance(0.8)
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    slant = float(rng.uniform(-0.35, 0.35))
    n = _streak_count(img, float(rng.uniform(900, 1600)))
    length = max(6.0, h * float(rng.uniform(0.03, 0.06)))
    width = max(1, round(max(w, h) / 1200))
    xs = rng.uniform(-0.2 * w, 1.2 * w, n)
    ys = rng.uniform(-length, h, n)
    lens = length * rng.uniform(0.6, 1.2, n)
    shades = rng.integers(140, 256, n)
    for x, y, ln, shade in zip(xs, ys, lens, shades, strict=True):
        draw.line(
            [(float(x), float(y)), (float(x + slant * ln), float(y + ln))],
            fill=int(shade),
            width=width,
        )
    mask = mask.filter(ImageFilter.GaussianBlur(max(0.6, width * 0.7)))
    return _overlay(base, mask, 215.0, 0.75), f"rain ({n} streaks)"


def _op_snow(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    w, h = img.size
    base = _tint(ImageEnhance.Brightness(img).enhance(1.05), 0.95, 0.98, 1.06)
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    n = _streak_count(img, float(rng.uniform(700, 1400)))
    scale = max(w, h) / 1024
    xs = rng.uniform(0, w, n)
    ys = rng.uniform(0, h, n)
    radii = rng.uniform(0.8, 3.2, n) * scale
    shades = rng.integers(180, 256, n)
    for x, y, r, shade in zip(xs, ys, radii, shades, strict=True):
        draw.ellipse([float(x - r), float(y - r), float(x + r), float(y + r)], fill=int(shade))
    mask = mask.filter(ImageFilter.GaussianBlur(max(0.5, scale * 0.8)))
    return _overlay(base, mask, 250.0, 0.95), f"snow ({n} flakes)"


def _op_fog(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    density = float(rng.uniform(0.35, 0.6))
    patches = _low_freq_noise(rng, img.size, int(rng.integers(3, 7)))
    h = img.size[1]
    # a bit denser towards the top, like a real horizon haze
    vertical = np.linspace(1.0, 0.75, h, dtype=np.float32)[:, None]
    alpha = np.clip(density * (0.55 + 0.45 * patches) * vertical, 0.0, 0.9)[:, :, None]
    arr = _to_array(ImageEnhance.Contrast(img).enhance(0.85))
    fogged = arr * (1.0 - alpha) + np.float32(218.0) * alpha
    return _from_array(fogged), f"fog {density:.2f}"


def _op_jitter(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """Mild seeded variety so two variations of one recipe are never identical."""
    scale = float(rng.uniform(0.94, 0.99))
    out = _crop_zoom(img, scale, rng)
    b = float(rng.uniform(0.95, 1.05))
    c = float(rng.uniform(0.95, 1.05))
    out = ImageEnhance.Contrast(ImageEnhance.Brightness(out).enhance(b)).enhance(c)
    return out, f"jitter (zoom x{1 / scale:.2f}, brightness x{b:.2f}, contrast x{c:.2f})"


@dataclass(frozen=True)
class _Step:
    stage: int  # 0 geometric, 1 colour, 2 tone, 3 weather/light, 4 lens, 5 grain
    op: Op


_RECIPES: dict[str, _Step] = {
    "flip": _Step(0, _op_flip),
    "upside down": _Step(0, _op_vflip),
    "rotate": _Step(0, _op_rotate),
    "zoom": _Step(0, _op_zoom),
    "shear": _Step(0, _op_shear),
    "grayscale": _Step(1, _op_grayscale),
    "sepia": _Step(1, _op_sepia),
    "vintage": _Step(1, _op_vintage),
    "vivid": _Step(1, _op_enhance(ImageEnhance.Color, 1.35, 1.7, "saturation")),
    "muted": _Step(1, _op_enhance(ImageEnhance.Color, 0.35, 0.65, "saturation")),
    "hue": _Step(1, _op_hue(60.0)),
    "warm": _Step(1, _op_warm),
    "cold": _Step(1, _op_cold),
    "bright": _Step(2, _op_enhance(ImageEnhance.Brightness, 1.25, 1.5, "brightness")),
    "dark": _Step(2, _op_enhance(ImageEnhance.Brightness, 0.55, 0.75, "brightness")),
    "contrast": _Step(2, _op_enhance(ImageEnhance.Contrast, 1.3, 1.6, "contrast")),
    "night": _Step(3, _op_night),
    "sunny": _Step(3, _op_sunny),
    "fog": _Step(3, _op_fog),
    "rain": _Step(3, _op_rain),
    "snow": _Step(3, _op_snow),
    "blur": _Step(4, _op_blur(1.5, 3.5)),
    "sharpen": _Step(4, _op_sharpen),
    "vignette": _Step(4, _op_vignette),
    "noise": _Step(5, _op_noise(8.0, 18.0)),
}

_RANDOM_GEOMETRIC: tuple[Op, ...] = (_op_flip, _op_small_rotate, _op_mild_zoom, _op_shear)
_RANDOM_PHOTOMETRIC: tuple[Op, ...] = (
    _op_enhance(ImageEnhance.Brightness, 0.8, 1.2, "brightness"),
    _op_enhance(ImageEnhance.Contrast, 0.8, 1.25, "contrast"),
    _op_enhance(ImageEnhance.Color, 0.7, 1.3, "saturation"),
    _op_hue(12.0),
    _op_gamma,
    _op_blur(0.6, 1.2),
    _op_sharpen,
    _op_noise(3.0, 8.0),
)


def _plan(prompt: str, rng: np.random.Generator) -> list[Op]:
    keywords = find_keywords(prompt)
    if keywords:
        steps = sorted((_RECIPES[k] for k in keywords), key=lambda s: s.stage)
        return [_op_jitter, *(s.op for s in steps)]
    geometric = _RANDOM_GEOMETRIC[int(rng.integers(len(_RANDOM_GEOMETRIC)))]
    n_photo = int(rng.integers(2, 4))
    picks = rng.choice(len(_RANDOM_PHOTOMETRIC), size=n_photo, replace=False)
    return [geometric, *(_RANDOM_PHOTOMETRIC[int(i)] for i in sorted(picks))]


# ------------------------------------------------------------------ inputs ----


def _decode(data: bytes, name: str | None) -> Image.Image:
    label = f"reference image {name!r}" if name else "the reference image"
    try:
        with Image.open(io.BytesIO(data)) as opened:
            img = ImageOps.exif_transpose(opened)
            img.load()
    except Image.DecompressionBombError as exc:
        raise InvalidRequestError(f"{label} has too many pixels to process") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidRequestError(f"{label} is not a readable image: {exc}") from exc
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def _center_crop(img: Image.Image, ratio: float) -> Image.Image:
    w, h = img.size
    if abs(w / h - ratio) < 1e-3:
        return img
    if w / h > ratio:
        cw, ch = max(1, round(h * ratio)), h
    else:
        cw, ch = w, max(1, round(w / ratio))
    left, top = (w - cw) // 2, (h - ch) // 2
    return img.crop((left, top, left + cw, top + ch))


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


def augment(request: GenerationRequest) -> GeneratedImage:
    """The whole classic pipeline, synchronous and CPU-bound (run it off the loop)."""
    options = request.options
    first = request.references[0] if request.references else None
    rng = _rng_for(first.data if first else b"", request.prompt, request.seed)
    applied: list[str] = []
    if first is not None:
        img = _decode(first.data, first.name)
        if options.aspect_ratio:
            img = _center_crop(img, parse_aspect_ratio(options.aspect_ratio))
            applied.append(f"center crop {options.aspect_ratio}")
    else:
        img = _procedural(options, rng)
        applied.append("procedural pattern (no reference image)")
    for op in _plan(request.prompt, rng):
        img, description = op(img, rng)
        applied.append(description)
    fmt = options.output_format
    return GeneratedImage(
        data=_encode(img, fmt),
        mime_type=_MIME[fmt],
        width=img.width,
        height=img.height,
        usage=Usage(),
        text=f"{RESULT_LABEL}: " + ", ".join(applied),
    )


class ClassicProvider:
    """Offline, seeded classical augmentation; labelled as such, never as AI."""

    name = "classic"

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        return await asyncio.to_thread(augment, request)

    async def aclose(self) -> None:
        """Nothing to release: the provider holds no connections."""
