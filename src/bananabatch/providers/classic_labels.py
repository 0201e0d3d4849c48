"""Running the classic provider's geometric steps with the source's labels.

albumentations moves everything with the image in one call: boxes through its
bbox handling (clipped to the frame, dropped once nothing of them is left) and
segmentation polygons as masks (rasterised with supervision, transformed with
nearest-neighbour interpolation, traced back to polygons with supervision), so
a segmented object's box is the tight box of its transformed mask.
"""

from __future__ import annotations

import albumentations as A  # type: ignore[import-untyped]
import numpy as np
import supervision as sv

from bananabatch.contracts import LabelBox, SourceLabels

MIN_BOX_SIDE = 1.0  # pixels; anything thinner after a crop is no longer an object


def _scaled(labels: SourceLabels, width: int, height: int) -> list[LabelBox]:
    """The labels in a frame of this size (a source decoded at another size than the
    one the labels were read against is scaled, never silently mismatched)."""
    if (labels.width, labels.height) == (width, height):
        return list(labels.objects)
    sx, sy = width / labels.width, height / labels.height
    return [
        LabelBox(
            class_id=o.class_id,
            bbox=(o.bbox[0] * sx, o.bbox[1] * sy, o.bbox[2] * sx, o.bbox[3] * sy),
            polygons=[
                [v * (sx if i % 2 == 0 else sy) for i, v in enumerate(p)] for p in o.polygons
            ],
        )
        for o in labels.objects
    ]


def _mask(obj: LabelBox, width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=np.uint8)
    for flat in obj.polygons:
        points = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
        mask |= sv.polygon_to_mask(points, (width, height)).astype(np.uint8)
    return mask


def _from_mask(class_id: int, mask: np.ndarray) -> LabelBox | None:
    region = mask.astype(bool)
    if not region.any():
        return None
    x1, y1, x2, y2 = (float(v) for v in sv.mask_to_xyxy(region[None])[0])
    polygons = [
        [float(v) for v in poly.reshape(-1)]
        for poly in sv.mask_to_polygons(region)
        if len(poly) >= 3
    ]
    return LabelBox(class_id=class_id, bbox=(x1, y1, x2 + 1.0, y2 + 1.0), polygons=polygons)


def run_geometric(
    image: np.ndarray,
    labels: SourceLabels | None,
    transforms: list[A.BasicTransform],
    seed: int,
    frame: tuple[int, int],
) -> tuple[np.ndarray, SourceLabels | None]:
    """Apply `transforms`, then resize to `frame` (width, height; a rotation that crops
    its border shrinks the image), to the image and its labels; returns the new image
    and the labels in its frame."""
    height, width = image.shape[:2]
    steps = [*transforms, A.Resize(height=frame[1], width=frame[0], p=1)]
    if labels is None:
        return A.Compose(steps, seed=seed)(image=image)["image"], None
    objects = _scaled(labels, width, height)
    boxes, keep = [], []
    for i, o in enumerate(objects):
        x1, y1 = max(0.0, o.bbox[0]), max(0.0, o.bbox[1])
        x2, y2 = min(float(width), o.bbox[2]), min(float(height), o.bbox[3])
        if x2 - x1 >= MIN_BOX_SIDE and y2 - y1 >= MIN_BOX_SIDE:
            boxes.append([x1, y1, x2, y2])
            keep.append(i)
    segmented = [i for i in keep if objects[i].polygons]
    masks = [_mask(objects[i], width, height) for i in segmented]
    compose = A.Compose(
        steps,
        bbox_params=A.BboxParams(
            format="pascal_voc",
            label_fields=["index"],
            clip=True,
            min_width=MIN_BOX_SIDE,
            min_height=MIN_BOX_SIDE,
            filter_invalid_bboxes=True,
        ),
        seed=seed,
    )
    args: dict[str, object] = {"image": image, "bboxes": boxes, "index": keep}
    if masks:
        args["masks"] = masks
    out = compose(**args)
    moved_masks = dict(zip(segmented, out.get("masks", []), strict=False))
    result: list[LabelBox] = []
    for box, i in zip(out["bboxes"], out["index"], strict=True):
        index = int(i)
        if index in moved_masks:
            found = _from_mask(objects[index].class_id, np.asarray(moved_masks[index]))
            if found is not None:
                result.append(found)
            continue
        x1, y1, x2, y2 = (float(v) for v in box)
        result.append(LabelBox(class_id=objects[index].class_id, bbox=(x1, y1, x2, y2)))
    return out["image"], SourceLabels(width=frame[0], height=frame[1], objects=result)
