"""The classic provider on albumentations with labels: geometric recipes move boxes
and polygons with the image, deterministically, and photometric ones leave them be."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bananabatch.contracts import LabelBox, SourceLabels
from bananabatch.providers.base import GeneratedImage, GenerationRequest, ReferenceImage
from bananabatch.providers.classic import augment
from tests import labelled


def _labels(p: labelled.Photo, *, polygons: bool) -> SourceLabels:
    objects = []
    for r in p.regions:
        x1, y1, x2, y2 = r.box
        poly = [[x1, y1, x2, y1, x2, y2, x1, y2]] if polygons else []
        objects.append(LabelBox(class_id=r.class_id, bbox=(x1, y1, x2, y2), polygons=poly))
    return SourceLabels(width=p.size[0], height=p.size[1], objects=objects)


def _run(p: labelled.Photo, prompt: str, seed: int, labels: SourceLabels | None) -> GeneratedImage:
    data = labelled.encode(p.image, "PNG")
    return augment(
        GenerationRequest(
            model="classic",
            prompt=prompt,
            seed=seed,
            references=[ReferenceImage(data, "image/png", "x.png")],
            labels=labels,
        )
    )


def _enclosed(image: GeneratedImage, labels: SourceLabels, margin: float = 2.0) -> float:
    """The smallest share, over labelled regions, of the region's pixels inside its box."""
    out = Image.open(io.BytesIO(image.data))
    worst = 1.0
    for obj in labels.objects:
        px = labelled.region_pixels(out, obj.class_id, tolerance=40)
        assert len(px) > 50, "the painted region is still visible"
        x1, y1, x2, y2 = obj.bbox
        inside = (
            (px[:, 0] >= x1 - margin)
            & (px[:, 0] <= x2 + margin)
            & (px[:, 1] >= y1 - margin)
            & (px[:, 1] <= y2 + margin)
        )
        worst = min(worst, float(inside.mean()))
    return worst


@pytest.mark.parametrize("prompt", ["flip", "upside down", "rotate", "zoom", "shear", ""])
@pytest.mark.parametrize("polygons", [False, True], ids=["boxes", "polygons"])
def test_geometric_recipes_move_labels_with_the_image(prompt: str, polygons: bool) -> None:
    photo = labelled.photo("astronaut", "train")
    for seed in (1, 2):
        result = _run(photo, prompt, seed, _labels(photo, polygons=polygons))
        assert result.labels is not None
        assert [o.class_id for o in result.labels.objects] == [0, 1]
        assert (result.labels.width, result.labels.height) == (result.width, result.height)
        assert _enclosed(result, result.labels) >= 0.99
        if polygons:
            assert all(o.polygons for o in result.labels.objects)


def test_flip_mirrors_the_boxes() -> None:
    photo = labelled.photo("coffee", "train")
    result = _run(photo, "flip", 3, _labels(photo, polygons=False))
    assert result.labels is not None
    (sx1, _, sx2, _), (ox1, _, ox2, _) = photo.regions[0].box, result.labels.objects[0].bbox
    w = photo.size[0]
    # mirrored (the jitter zoom moves it a little): the region crossed the centre line
    assert (sx1 + sx2) / 2 < w / 2 < (ox1 + ox2) / 2


def test_photometric_recipes_keep_the_boxes_in_place() -> None:
    photo = labelled.photo("chelsea", "train")
    labels = _labels(photo, polygons=False)
    result = _run(photo, "night fog", 4, labels)
    assert result.labels is not None
    for before, after in zip(labels.objects, result.labels.objects, strict=True):
        # only the mild jitter crop (at most 6%) moved them
        assert np.allclose(before.bbox, after.bbox, atol=0.1 * max(photo.size))


def test_labels_are_deterministic_and_the_transform_is_recorded() -> None:
    photo = labelled.photo("rocket", "val")
    labels = _labels(photo, polygons=True)
    first = _run(photo, "rotate zoom", 9, labels)
    again = _run(photo, "rotate zoom", 9, labels)
    assert first.data == again.data and first.labels == again.labels
    assert first.transform is not None and first.transform.geometric
    assert any(step.startswith("rotate ") for step in first.transform.steps)
    assert first.reference_view is not None and first.reference_view.size == photo.size


def test_an_object_cropped_away_is_dropped() -> None:
    photo = labelled.photo("camera", "test")
    tiny = SourceLabels(
        width=photo.size[0],
        height=photo.size[1],
        objects=[LabelBox(class_id=0, bbox=(0, 0, 3, 3)), *_labels(photo, polygons=False).objects],
    )
    result = _run(photo, "zoom", 5, tiny)
    assert result.labels is not None
    assert len(result.labels.objects) in (2, 3)  # the corner speck may be cut away
    assert all(o.bbox[2] > o.bbox[0] and o.bbox[3] > o.bbox[1] for o in result.labels.objects)


def test_labels_of_another_frame_are_scaled_to_the_decoded_source() -> None:
    photo = labelled.photo("astronaut", "train")
    labels = _labels(photo, polygons=False)
    half = SourceLabels(
        width=labels.width // 2,
        height=labels.height // 2,
        objects=[
            LabelBox(class_id=o.class_id, bbox=tuple(v / 2 for v in o.bbox))  # type: ignore[arg-type]
            for o in labels.objects
        ],
    )
    result = _run(photo, "flip", 1, half)
    assert result.labels is not None and (result.labels.width, result.labels.height) == photo.size
    assert _enclosed(result, result.labels, margin=3.0) >= 0.99


def test_without_labels_nothing_is_carried() -> None:
    photo = labelled.photo("coffee", "train")
    result = _run(photo, "rotate", 1, None)
    assert result.labels is None
