"""Measurements behind the quality flags. Pure (images in, numbers out).

- Perceptual hash (imagehash's pHash, structure) and a 16x16 colour signature
  (colour, which pHash ignores): a near-identical output or a near-duplicate
  sibling has both close.
- Layout: the two images' edge maps at a small common size (edges sit where the
  objects are, whatever their colours). Phase correlation finds how far the
  content moved and how sure that match is; SSIM of the edge maps says how much
  structure is shared. A recoloured or relit image stays in place with a good
  match; shifted content has a clear match at an offset; a new composition (or a
  source buried under effects) matches nothing. This is the label-safe check:
  labels are positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import imagehash  # type: ignore[import-untyped]
import numpy as np
from PIL import Image

ANALYSIS_SIDE = 128
MEASURE_SIDE = 256
"""About the long side every measurement starts from (`measuring_copy`)."""
SIGNATURE_SIDE = 16
_SSIM_SIGMA = 1.5


def _rgb(img: Image.Image) -> Image.Image:
    return img if img.mode == "RGB" else img.convert("RGB")


def measuring_copy(img: Image.Image) -> Image.Image:
    """`img` box-scaled by 1/n, the same n on both sides, to about `MEASURE_SIDE` on its
    long side (at least that). The measures below compare at 128 pixels or less, so they
    read the same from it, and a full-size image made each one cost milliseconds.
    Not `Image.reduce`: it drops the remainder of a side the factor does not divide, so
    the copy's two sides would be scaled differently and a same-size source would no
    longer line up with the output."""
    factor = max(1, max(img.size) // MEASURE_SIDE)
    if factor == 1:
        return img
    size = (max(1, round(img.width / factor)), max(1, round(img.height / factor)))
    return img.resize(size, Image.Resampling.BOX)


def phash(img: Image.Image) -> str:
    """64-bit perceptual hash as 16 hex digits."""
    return str(imagehash.phash(_rgb(img)))


def hash_distance(a: str, b: str) -> int:
    """Differing bits between two `phash` values (0 = same picture)."""
    if len(a) == len(b):  # the same count as imagehash's, without building two arrays
        try:
            return (int(a, 16) ^ int(b, 16)).bit_count()
        except ValueError:
            pass
    return int(imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b))


def signature(img: Image.Image) -> str:
    """A 16x16 RGB thumbnail as hex (1,536 digits), for cheap pixel comparisons."""
    small = _rgb(img).resize((SIGNATURE_SIDE, SIGNATURE_SIDE), Image.Resampling.BOX)
    return bytes(small.tobytes()).hex()


def signature_difference(a: str, b: str) -> float:
    """Mean absolute difference of two signatures, 0 (same) to 1."""
    x = np.frombuffer(bytes.fromhex(a), dtype=np.uint8).astype(np.float32)
    y = np.frombuffer(bytes.fromhex(b), dtype=np.uint8).astype(np.float32)
    if x.shape != y.shape:
        return 1.0
    return float(np.abs(x - y).mean() / 255.0)


def analysis_size(size: tuple[int, int], side: int = ANALYSIS_SIDE) -> tuple[int, int]:
    """`size` scaled so its long side is `side` (aspect kept)."""
    w, h = size
    scale = side / max(w, h)
    return max(8, round(w * scale)), max(8, round(h * scale))


def gray(img: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Float32 luminance at exactly `size` (width, height), area-averaged."""
    arr = np.asarray(_rgb(img).convert("L"), dtype=np.float32)
    return cv2.resize(arr, size, interpolation=cv2.INTER_AREA)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    """Mean structural similarity (Wang et al. 2004) with a Gaussian window, as
    scikit-image computes it with `gaussian_weights=True`."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), _SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a64), blur(b64)
    # sample covariances, like scikit-image (N / (N - 1) over the 11x11 window)
    n = 11 * 11
    cov = n / (n - 1)
    var_a = cov * (blur(a64 * a64) - mu_a * mu_a)
    var_b = cov * (blur(b64 * b64) - mu_b * mu_b)
    var_ab = cov * (blur(a64 * b64) - mu_a * mu_b)
    num = (2 * mu_a * mu_b + c1) * (2 * var_ab + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    pad = 5  # scikit-image leaves out the border the window does not cover fully
    index = num / den
    return (
        float(index[pad:-pad, pad:-pad].mean())
        if min(index.shape) > 2 * pad
        else float(index.mean())
    )


def edge_map(luma: np.ndarray) -> np.ndarray:
    """Gradient magnitude of a lightly blurred image, scaled to [0, 1] by its own
    98th percentile, so global contrast and brightness do not count."""
    smooth = cv2.GaussianBlur(luma, (3, 3), 0.8)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    magnitude: np.ndarray = np.asarray(cv2.magnitude(gx, gy), dtype=np.float32)
    top = float(np.percentile(magnitude, 98))
    if top <= 1e-6:
        return np.zeros_like(magnitude)
    scaled: np.ndarray = np.clip(magnitude / top, 0.0, 1.0).astype(np.float32)
    return scaled


@dataclass(frozen=True)
class Layout:
    similarity: float  # edge-map SSIM, about 0 (unrelated) to 1 (same structure)
    shift: float  # how far the content moved, as a fraction of the frame (diagonal units)
    confidence: float  # phase-correlation peak: how clearly the two line up at that shift


def compare_layout(reference: Image.Image, output: Image.Image) -> Layout:
    """How the output's layout relates to the reference's. `reference` is the source
    as it should appear in the output's frame; both are compared at the output's
    aspect, long side `ANALYSIS_SIDE`."""
    size = analysis_size(output.size)
    a = edge_map(gray(reference, size))
    b = edge_map(gray(output, size))
    window = cv2.createHanningWindow(size, cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(a, b, window)
    return Layout(
        similarity=round(ssim(a, b, data_range=1.0), 4),
        shift=round(float(np.hypot(dx / size[0], dy / size[1])), 4),
        confidence=round(float(response), 4),
    )


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute RGB difference at about 32 pixels on the long side, 0 (same) to 1."""
    size = analysis_size(b.size, 32)
    x = cv2.resize(np.asarray(_rgb(a), dtype=np.float32), size, interpolation=cv2.INTER_AREA)
    y = cv2.resize(np.asarray(_rgb(b), dtype=np.float32), size, interpolation=cv2.INTER_AREA)
    return float(np.abs(x - y).mean() / 255.0)
