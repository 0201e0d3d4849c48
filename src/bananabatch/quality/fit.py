"""Bringing a model's output back to its source's frame, and labels with it. Pure.

A Gemini model answers at one of a few aspect ratios and its own resolution. We
ask for the ratio closest to the source's, then scale the answer to cover the
source's size and crop the centre. The model is assumed to keep the source's
composition across its whole frame (the source stretched to the model's frame),
so a label moves source -> model frame -> fitted frame; both steps are a scale
and a translation, recorded as one 3x3 matrix that can be inverted. The layout
check then tells whether the model really kept the composition.
"""

from __future__ import annotations

import math
import re

import cv2
import numpy as np
from PIL import Image

from bananabatch.contracts import LabelBox, SourceLabels

Size = tuple[int, int]  # width, height
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")
MIN_SIDE = 1.0


def ratio_value(text: str) -> float | None:
    match = _RATIO.match(text)
    if not match or float(match.group(2)) == 0:
        return None
    return float(match.group(1)) / float(match.group(2))


def nearest_aspect_ratio(size: Size, choices: list[str]) -> str | None:
    """The choice closest to width/height, comparing ratios on a log scale (so 2:1 and
    1:2 are as far from 1:1)."""
    target = math.log(size[0] / size[1])
    best: tuple[float, str] | None = None
    for choice in choices:
        value = ratio_value(choice)
        if value is None or value <= 0:
            continue
        distance = abs(math.log(value) - target)
        if best is None or distance < best[0]:
            best = (distance, choice)
    return best[1] if best else None


def fit_matrix(model_size: Size, target: Size) -> np.ndarray:
    """3x3: model-output pixels -> fitted pixels (scale to cover, centre crop)."""
    scale = max(target[0] / model_size[0], target[1] / model_size[1])
    dx = (model_size[0] * scale - target[0]) / 2
    dy = (model_size[1] * scale - target[1]) / 2
    return np.array([[scale, 0.0, -dx], [0.0, scale, -dy], [0.0, 0.0, 1.0]])


def stretch_matrix(source: Size, model_size: Size) -> np.ndarray:
    """3x3: source pixels -> model-output pixels, the composition spread over the frame."""
    return np.diag([model_size[0] / source[0], model_size[1] / source[1], 1.0])


def fit_image(img: Image.Image, target: Size) -> Image.Image:
    """The image scaled to cover `target` and centre-cropped to it."""
    if img.size == target:
        return img
    matrix = fit_matrix(img.size, target)
    scale = float(matrix[0, 0])
    scaled = img.resize(
        (max(target[0], round(img.width * scale)), max(target[1], round(img.height * scale))),
        Image.Resampling.LANCZOS,
    )
    left = (scaled.width - target[0]) // 2
    top = (scaled.height - target[1]) // 2
    return scaled.crop((left, top, left + target[0], top + target[1]))


def warp(img: Image.Image, matrix: np.ndarray, size: Size) -> Image.Image:
    """`img` seen through `matrix` in a frame of `size` (for the layout check)."""
    arr = np.asarray(img.convert("RGB"))
    out = cv2.warpAffine(arr, matrix[:2].astype(np.float64), size, flags=cv2.INTER_AREA,
                         borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return Image.fromarray(out)


def _apply(matrix: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = np.stack([xs, ys, np.ones_like(xs)])
    moved = matrix @ pts
    return moved[0] / moved[2], moved[1] / moved[2]


def map_labels(labels: SourceLabels, matrix: np.ndarray, size: Size) -> SourceLabels:
    """Labels through `matrix` into a frame of `size`, clipped to it; objects left
    with no area are dropped."""
    w, h = size
    out: list[LabelBox] = []
    for obj in labels.objects:
        x1, y1, x2, y2 = obj.bbox
        xs, ys = _apply(matrix, np.array([x1, x2, x2, x1]), np.array([y1, y1, y2, y2]))
        box = (
            float(np.clip(xs.min(), 0, w)), float(np.clip(ys.min(), 0, h)),
            float(np.clip(xs.max(), 0, w)), float(np.clip(ys.max(), 0, h)),
        )  # fmt: skip
        if box[2] - box[0] < MIN_SIDE or box[3] - box[1] < MIN_SIDE:
            continue
        polygons = []
        for flat in obj.polygons:
            pts = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
            px, py = _apply(matrix, pts[:, 0], pts[:, 1])
            moved = np.stack([np.clip(px, 0, w), np.clip(py, 0, h)], axis=1).reshape(-1)
            polygons.append([round(float(v), 2) for v in moved])
        out.append(LabelBox(class_id=obj.class_id, bbox=box, polygons=polygons))
    return SourceLabels(width=w, height=h, objects=out)


def as_list(matrix: np.ndarray) -> list[list[float]]:
    return [[round(float(v), 6) for v in row] for row in matrix]
