"""Deciding quality flags from the worker's measurements. Pure.

Thresholds were set on scikit-image's sample photos: a re-encoded copy of a
source differs by about 0.002 (mean RGB, 0..1) and 0 pHash bits, while the
mildest classic augmentation differs by 0.012 or more; a shift of 3% of the
frame is found by phase correlation with a confidence above 0.75, while a
recolour, relight, fog, rain or noise stays within 1% of the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bananabatch.contracts import OutputChecks
from bananabatch.quality.measure import hash_distance, signature_difference


class Flag(StrEnum):
    near_identical = "near_identical"  # barely differs from its source
    near_duplicate = "near_duplicate"  # barely differs from a sibling variation
    wrong_size = "wrong_size"  # not the size or aspect the job asked for
    label_unsafe = "label_unsafe"  # the layout moved: the labels no longer fit


FLAG_LABELS = {
    Flag.near_identical: "Near-identical to its source",
    Flag.near_duplicate: "Near-duplicate of a sibling",
    Flag.wrong_size: "Wrong size or aspect",
    Flag.label_unsafe: "Layout moved (labels unsafe)",
}

SAME_HASH_BITS = 2
SAME_DIFFERENCE = 0.01
SIZE_TOLERANCE = 0.02  # relative aspect-ratio error accepted
MOVED_SHIFT = 0.02  # fraction of the frame content may move before labels are off
MATCH_CONFIDENCE = 0.3  # below it, phase correlation found no clear match
LOST_SIMILARITY = 0.25  # edge SSIM below which no structure of the source is left


@dataclass(frozen=True)
class Finding:
    flag: Flag
    detail: str
    other_output_id: str | None = None


def near_identical(checks: OutputChecks) -> Finding | None:
    if checks.source_distance is None or checks.source_difference is None:
        return None
    if checks.source_distance <= SAME_HASH_BITS and checks.source_difference < SAME_DIFFERENCE:
        return Finding(
            Flag.near_identical,
            f"differs from its source by {checks.source_difference:.1%} "
            f"(perceptual hash distance {checks.source_distance})",
        )
    return None


def near_duplicate(a: OutputChecks, b: OutputChecks) -> bool:
    return (
        hash_distance(a.phash, b.phash) <= SAME_HASH_BITS
        and signature_difference(a.signature, b.signature) < SAME_DIFFERENCE
    )


def label_unsafe(checks: OutputChecks) -> Finding | None:
    """Layout moved: content found at an offset, or no match with the source at all."""
    shift, confidence = checks.layout_shift, checks.layout_confidence
    similarity = checks.layout_similarity
    if shift is None or confidence is None or similarity is None:
        return None
    if confidence >= MATCH_CONFIDENCE and shift > MOVED_SHIFT:
        return Finding(
            Flag.label_unsafe,
            f"the content moved by {shift:.0%} of the frame; its labels no longer fit",
        )
    if confidence < MATCH_CONFIDENCE and similarity < LOST_SIMILARITY:
        return Finding(
            Flag.label_unsafe,
            f"the source's layout is not found in it (edge similarity {similarity:.2f}); "
            "its labels cannot be trusted",
        )
    return None


def wrong_size(
    width: int | None,
    height: int | None,
    *,
    expected_size: tuple[int, int] | None,
    expected_aspect: float | None,
) -> Finding | None:
    """An exact size when the output should match its source, else an aspect ratio."""
    if not width or not height:
        return None
    if expected_size is not None and (width, height) != expected_size:
        return Finding(
            Flag.wrong_size,
            f"{width}x{height}, the source is {expected_size[0]}x{expected_size[1]}",
        )
    if expected_aspect is not None:
        actual = width / height
        if abs(actual - expected_aspect) / expected_aspect > SIZE_TOLERANCE:
            return Finding(
                Flag.wrong_size,
                f"{width}x{height} has aspect {actual:.3f}, the job asked for {expected_aspect:.3f}",
            )
    return None
