"""The classic provider's recipes as albumentations transforms.

Each keyword becomes one or more albumentations transforms whose parameters are
drawn from the provider's seeded generator and pinned (a range of one value), so
the description of what was done is exact and the same (image, prompt, seed)
always gives the same result. Geometric steps are kept apart from photometric
ones: they run with the labels (albumentations moves boxes and masks with the
image), the others only touch pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import albumentations as A  # type: ignore[import-untyped]
import numpy as np

Size = tuple[int, int]  # width, height
Build = Callable[[np.random.Generator, Size], tuple[list[A.BasicTransform], str]]


@dataclass(frozen=True)
class Recipe:
    stage: int  # 0 geometric, 1 colour, 2 tone, 3 weather/light, 4 lens, 5 grain
    build: Build

    @property
    def geometric(self) -> bool:
        return self.stage == 0


@dataclass
class Plan:
    """The transforms to run, split by what they touch, and what they do in words."""

    geometric: list[A.BasicTransform] = field(default_factory=list)
    photometric: list[A.BasicTransform] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def add(self, recipe: Recipe, rng: np.random.Generator, size: Size) -> None:
        transforms, description = recipe.build(rng, size)
        (self.geometric if recipe.geometric else self.photometric).extend(transforms)
        self.steps.append(description)


def _sign(rng: np.random.Generator) -> int:
    return 1 if rng.random() < 0.5 else -1


def _brightness(value: float) -> A.BasicTransform:
    return A.RandomBrightnessContrast(brightness_limit=(value, value), contrast_limit=(0, 0), p=1)


def _contrast(value: float) -> A.BasicTransform:
    return A.RandomBrightnessContrast(brightness_limit=(0, 0), contrast_limit=(value, value), p=1)


def _saturation(factor: float) -> A.BasicTransform:
    return A.ColorJitter(brightness=(1, 1), contrast=(1, 1), saturation=(factor, factor),
                         hue=(0, 0), p=1)  # fmt: skip


def _rgb_shift(r: float, g: float, b: float) -> A.BasicTransform:
    return A.RGBShift(r_shift_limit=(r, r), g_shift_limit=(g, g), b_shift_limit=(b, b), p=1)


def _noise(std: float) -> A.BasicTransform:
    return A.GaussNoise(std_range=(std, std), per_channel=False, p=1)


# ---- geometric --------------------------------------------------------------------------


def _crop_zoom(scale: float, size: Size) -> A.BasicTransform:
    """Keep `scale` of each side at a seeded place, scaled back to the full size."""
    w, h = size
    area = scale * scale
    return A.RandomResizedCrop(size=(h, w), scale=(area, area), ratio=(w / h, w / h), p=1)


def _rotate(angle: float) -> A.BasicTransform:
    """Rotate and crop the largest border-free box (scaled back to size afterwards)."""
    return A.Rotate(limit=(angle, angle), crop_border=True, p=1)


def flip(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    return [A.HorizontalFlip(p=1)], "horizontal flip"


def vflip(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    return [A.VerticalFlip(p=1)], "vertical flip"


def rotate(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    angle = float(rng.uniform(5.0, 15.0)) * _sign(rng)
    return [_rotate(angle)], f"rotate {angle:+.1f}°"


def small_rotate(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    angle = float(rng.uniform(-6.0, 6.0))
    return [_rotate(angle)], f"rotate {angle:+.1f}°"


def zoom(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    scale = float(rng.uniform(0.7, 0.88))
    return [_crop_zoom(scale, size)], f"zoom x{1 / scale:.2f}"


def mild_zoom(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    scale = float(rng.uniform(0.85, 0.97))
    return [_crop_zoom(scale, size)], f"zoom x{1 / scale:.2f}"


def shear(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    """Slant the image, zoomed in just enough that no empty corner shows."""
    w, h = size
    sx = float(rng.uniform(6.0, 15.0)) * _sign(rng)
    sy = float(rng.uniform(-3.0, 3.0))
    tx, ty = abs(math.tan(math.radians(sx))), abs(math.tan(math.radians(sy)))
    cover = 1.0 + tx * h / w + ty * w / h
    transform = A.Affine(shear={"x": (sx, sx), "y": (sy, sy)}, scale=(cover, cover), p=1)
    return [transform], f"shear {sx:+.1f}°/{sy:+.1f}°"


def jitter(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    """Mild seeded variety (a small crop) so two variations of a recipe never match."""
    scale = float(rng.uniform(0.94, 0.99))
    return [_crop_zoom(scale, size)], f"jitter zoom x{1 / scale:.2f}"


def jitter_tone(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    b, c = float(rng.uniform(-0.05, 0.05)), float(rng.uniform(-0.05, 0.05))
    tone = A.RandomBrightnessContrast(brightness_limit=(b, b), contrast_limit=(c, c), p=1)
    return [tone], f"jitter brightness {b:+.2f}, contrast {c:+.2f}"


# ---- photometric ------------------------------------------------------------------------


def night(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    level = float(rng.uniform(-0.5, -0.38))
    gamma = float(rng.uniform(110, 125))
    transforms = [
        _brightness(level),
        A.RandomGamma(gamma_limit=(gamma, gamma), p=1),
        _saturation(0.7),
        _rgb_shift(-18, -6, 22),
        _noise(float(rng.uniform(0.012, 0.027))),
    ]
    return transforms, f"night {level:+.2f}"


def rain(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    slant = float(rng.uniform(-12.0, 12.0))
    kind = "heavy" if rng.random() < 0.4 else "default"
    drops = A.RandomRain(slant_range=(slant, slant), drop_width=max(1, round(max(size) / 1200)),
                         blur_value=3, brightness_coefficient=0.82, rain_type=kind, p=1)  # fmt: skip
    return [_saturation(0.8), drops], f"rain ({kind}, slant {slant:+.0f})"


def snow(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    amount = float(rng.uniform(0.12, 0.28))
    flakes = A.RandomSnow(snow_point_range=(amount, amount), brightness_coeff=2.0,
                          method="texture", p=1)  # fmt: skip
    return [_rgb_shift(-8, -3, 10), flakes], f"snow {amount:.2f}"


def fog(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    density = float(rng.uniform(0.3, 0.5))
    haze = A.RandomFog(fog_coef_range=(density, density), alpha_coef=0.1, p=1)
    return [_contrast(-0.15), haze], f"fog {density:.2f}"


def sunny(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    radius = max(8, round(max(size) * float(rng.uniform(0.2, 0.35))))
    flare = A.RandomSunFlare(flare_roi=(0, 0, 1, 0.3), src_radius=radius,
                             src_color=(255, 236, 190), method="overlay", p=1)  # fmt: skip
    return [_brightness(float(rng.uniform(0.05, 0.15))), _rgb_shift(18, 8, -20), flare], "sunny"


def warm(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    k = float(rng.uniform(14, 32))
    return [_rgb_shift(k, k / 4, -k)], f"warm {k:.0f}"


def cold(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    k = float(rng.uniform(14, 32))
    return [_rgb_shift(-k, k / 6, k)], f"cold {k:.0f}"


def blur_between(low: float, high: float) -> Build:
    def build(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
        sigma = float(rng.uniform(low, high)) * max(0.5, max(size) / 1024)
        return [
            A.GaussianBlur(blur_limit=0, sigma_limit=(sigma, sigma), p=1)
        ], f"blur sigma {sigma:.1f}"

    return build


def sharpen(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    alpha = float(rng.uniform(0.3, 0.6))
    return [A.Sharpen(alpha=(alpha, alpha), lightness=(1.0, 1.0), p=1)], f"sharpen {alpha:.2f}"


def grayscale(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    return [A.ToGray(num_output_channels=3, p=1)], "grayscale"


def sepia(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    return [A.ToSepia(p=1)], "sepia"


def vignette(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    strength = float(rng.uniform(0.12, 0.2))
    light = A.Illumination(mode="gaussian", effect_type="brighten", intensity_range=(strength, strength),
                           center_range=(0.5, 0.5), sigma_range=(0.45, 0.45), p=1)  # fmt: skip
    return [light, _brightness(-strength * 0.8)], f"vignette {strength:.2f}"


def vintage(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    steps, _ = vignette(rng, size)
    grain = _noise(float(rng.uniform(0.02, 0.04)))
    return [A.ToSepia(p=1), _contrast(-0.15), *steps, grain], "vintage"


def tone(kind: str, low: float, high: float) -> Build:
    def build(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
        value = float(rng.uniform(low, high))
        made = {"brightness": _brightness, "contrast": _contrast, "saturation": _saturation}
        return [made[kind](value)], f"{kind} {value:+.2f}" if kind != "saturation" else (
            f"saturation x{value:.2f}"
        )

    return build


def hue_up_to(max_degrees: float) -> Build:
    def build(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
        degrees = float(rng.uniform(max_degrees / 3, max_degrees)) * _sign(rng)
        shift = degrees / 360
        jitter = A.ColorJitter(brightness=(1, 1), contrast=(1, 1), saturation=(1, 1),
                               hue=(shift, shift), p=1)  # fmt: skip
        return [jitter], f"hue {degrees:+.0f}°"

    return build


def gamma(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
    value = float(rng.uniform(80, 125))
    return [A.RandomGamma(gamma_limit=(value, value), p=1)], f"gamma {value / 100:.2f}"


def noise_between(low: float, high: float) -> Build:
    def build(rng: np.random.Generator, size: Size) -> tuple[list[A.BasicTransform], str]:
        std = float(rng.uniform(low, high))
        return [_noise(std)], f"noise sigma {std:.3f}"

    return build


RECIPES: dict[str, Recipe] = {
    "flip": Recipe(0, flip),
    "upside down": Recipe(0, vflip),
    "rotate": Recipe(0, rotate),
    "zoom": Recipe(0, zoom),
    "shear": Recipe(0, shear),
    "grayscale": Recipe(1, grayscale),
    "sepia": Recipe(1, sepia),
    "vintage": Recipe(1, vintage),
    "vivid": Recipe(1, tone("saturation", 1.35, 1.7)),
    "muted": Recipe(1, tone("saturation", 0.35, 0.65)),
    "hue": Recipe(1, hue_up_to(60.0)),
    "warm": Recipe(1, warm),
    "cold": Recipe(1, cold),
    "bright": Recipe(2, tone("brightness", 0.25, 0.4)),
    "dark": Recipe(2, tone("brightness", -0.45, -0.25)),
    "contrast": Recipe(2, tone("contrast", 0.3, 0.6)),
    "night": Recipe(3, night),
    "sunny": Recipe(3, sunny),
    "fog": Recipe(3, fog),
    "rain": Recipe(3, rain),
    "snow": Recipe(3, snow),
    "blur": Recipe(4, blur_between(1.5, 3.5)),
    "sharpen": Recipe(4, sharpen),
    "vignette": Recipe(4, vignette),
    "noise": Recipe(5, noise_between(0.03, 0.07)),
}

RANDOM_GEOMETRIC: tuple[Recipe, ...] = (
    Recipe(0, flip),
    Recipe(0, small_rotate),
    Recipe(0, mild_zoom),
    Recipe(0, shear),
)
RANDOM_PHOTOMETRIC: tuple[Recipe, ...] = (
    Recipe(2, tone("brightness", -0.15, 0.15)),
    Recipe(2, tone("contrast", -0.15, 0.2)),
    Recipe(1, tone("saturation", 0.7, 1.3)),
    Recipe(1, hue_up_to(12.0)),
    Recipe(2, gamma),
    Recipe(4, blur_between(0.6, 1.2)),
    Recipe(4, sharpen),
    Recipe(5, noise_between(0.012, 0.03)),
)


def plan(keywords: list[str], rng: np.random.Generator, size: Size) -> Plan:
    """The keywords' recipes in stage order after a mild jitter, or, with no keyword, a
    seeded mix of one geometric and two or three photometric steps."""
    out = Plan()
    if keywords:
        out.add(Recipe(0, jitter), rng, size)
        out.add(Recipe(2, jitter_tone), rng, size)
        for recipe in sorted((RECIPES[k] for k in keywords), key=lambda r: r.stage):
            out.add(recipe, rng, size)
        return out
    out.add(RANDOM_GEOMETRIC[int(rng.integers(len(RANDOM_GEOMETRIC)))], rng, size)
    picks = rng.choice(len(RANDOM_PHOTOMETRIC), size=int(rng.integers(2, 4)), replace=False)
    for i in sorted(int(p) for p in picks):
        out.add(RANDOM_PHOTOMETRIC[i], rng, size)
    return out
