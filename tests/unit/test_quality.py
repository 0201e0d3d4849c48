"""Quality measurements, the fit back to a source's frame and the flags (pure)."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from PIL import Image, ImageOps
from skimage.metrics import structural_similarity

from bananabatch.contracts import GenerationOptions, LabelBox, OutputChecks, SourceLabels
from bananabatch.providers.base import GeneratedImage, GenerationRequest, ReferenceImage
from bananabatch.quality import fit, flags, measure
from bananabatch.quality.finish import finish, generate_checked, prepare
from tests import labelled

GEMINI_RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]


def shifted(img: Image.Image, fraction: float) -> Image.Image:
    arr = np.asarray(img)
    dx = int(img.width * fraction)
    out = np.roll(arr, dx, axis=1)
    out[:, :dx] = arr[:, :1]
    return Image.fromarray(out)


def recoloured(img: Image.Image) -> Image.Image:
    h, s, v = img.convert("HSV").split()
    return Image.merge("HSV", (h.point(lambda x: (x + 85) % 256), s, v)).convert("RGB")


def test_ssim_matches_scikit_image() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((64, 80)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    ours = measure.ssim(a, b, 1.0)
    theirs = structural_similarity(
        a, b, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=True
    )
    assert ours == pytest.approx(theirs, abs=1e-6)


@pytest.mark.parametrize("name", list(labelled.PHOTOS))
def test_layout_check_flags_a_shift_and_not_a_recolour(name: str) -> None:
    photo = labelled.photo(name, "train").image
    checks = {
        "recolour": recoloured(photo),
        "shift": shifted(photo, 0.12),
        "solid": Image.new("RGB", photo.size, (20, 40, 200)),
        "same": photo,
    }
    verdicts = {}
    for label, img in checks.items():
        layout = measure.compare_layout(photo, img)
        found = flags.label_unsafe(
            OutputChecks(
                phash="0" * 16,
                signature="",
                layout_similarity=layout.similarity,
                layout_shift=layout.shift,
                layout_confidence=layout.confidence,
            )
        )
        verdicts[label] = found is not None
    assert verdicts == {"recolour": False, "shift": True, "solid": True, "same": False}


def test_near_identical_and_near_duplicate() -> None:
    photo = labelled.photo("coffee", "train").image
    again = Image.open(io.BytesIO(labelled.encode(photo, "JPEG"))).convert("RGB")
    other = recoloured(photo)

    def checks_for(img: Image.Image) -> OutputChecks:
        return OutputChecks(
            phash=measure.phash(img),
            signature=measure.signature(img),
            source_distance=measure.hash_distance(measure.phash(photo), measure.phash(img)),
            source_difference=measure.mean_difference(photo, img),
        )

    assert flags.near_identical(checks_for(again)) is not None
    assert flags.near_identical(checks_for(other)) is None
    assert flags.near_duplicate(checks_for(again), checks_for(photo))
    assert not flags.near_duplicate(checks_for(other), checks_for(photo))
    grey = ImageOps.grayscale(photo).convert("RGB")  # pHash alone cannot see colour
    assert flags.near_identical(checks_for(grey)) is None


def test_wrong_size_by_size_or_aspect() -> None:
    assert flags.wrong_size(640, 480, expected_size=(640, 480), expected_aspect=None) is None
    found = flags.wrong_size(512, 512, expected_size=(640, 480), expected_aspect=None)
    assert found is not None and "the source is 640x480" in found.detail
    assert flags.wrong_size(1600, 900, expected_size=None, expected_aspect=16 / 9) is None
    assert flags.wrong_size(1024, 1024, expected_size=None, expected_aspect=16 / 9) is not None
    assert flags.wrong_size(None, None, expected_size=(1, 1), expected_aspect=None) is None


def test_nearest_aspect_ratio() -> None:
    assert fit.nearest_aspect_ratio((640, 480), GEMINI_RATIOS) == "4:3"
    assert fit.nearest_aspect_ratio((451, 300), GEMINI_RATIOS) == "3:2"
    assert fit.nearest_aspect_ratio((300, 1000), GEMINI_RATIOS) == "9:16"
    assert fit.nearest_aspect_ratio((100, 100), []) is None


def test_fit_matrix_maps_the_model_frame_onto_the_source_and_inverts() -> None:
    matrix = fit.fit_matrix((1024, 768), (640, 427))
    corners = matrix @ np.array([[0, 1024], [0, 768], [1, 1]])
    # covers the target: the scaled frame reaches past it on one axis, equally on both sides
    assert corners[0, 0] == pytest.approx(0) and corners[0, 1] == pytest.approx(640)
    assert corners[1, 0] == pytest.approx(-(768 * 0.625 - 427) / 2)
    back = np.linalg.inv(matrix) @ corners
    assert np.allclose(back[:2], [[0, 1024], [0, 768]])
    img = Image.new("RGB", (1024, 768))
    assert fit.fit_image(img, (640, 427)).size == (640, 427)


def test_map_labels_through_a_fit_clips_and_drops() -> None:
    labels = SourceLabels(
        width=100,
        height=100,
        objects=[
            LabelBox(class_id=0, bbox=(10, 10, 30, 30), polygons=[[10, 10, 30, 10, 30, 30]]),
            LabelBox(class_id=1, bbox=(0, 0, 100, 2)),  # falls out once cropped
        ],
    )
    # source 100x100 -> model 200x100 (stretched) -> fitted back to 100x100 (centre crop)
    matrix = fit.fit_matrix((200, 100), (100, 100)) @ fit.stretch_matrix((100, 100), (200, 100))
    out = fit.map_labels(labels, matrix, (100, 100))
    assert [o.class_id for o in out.objects] == [0, 1]
    assert out.objects[0].bbox == pytest.approx((0.0, 10.0, 10.0, 30.0))
    assert out.objects[0].polygons[0] == pytest.approx([0, 10, 10, 10, 10, 30])
    identity = fit.map_labels(labels, np.eye(3), (100, 100))
    assert identity.objects[0].bbox == (10, 10, 30, 30)
    squeezed = fit.map_labels(labels, np.diag([1.0, 0.2, 1.0]), (100, 100))
    assert [o.class_id for o in squeezed.objects] == [0]  # 0.4 px tall: dropped


class _Echo:
    """A provider answering with the reference resized to the asked aspect ratio."""

    name = "gemini"

    def __init__(self, transform: object = None) -> None:
        self.asked: list[str | None] = []
        self.transform = transform

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        self.asked.append(request.options.aspect_ratio)
        src = Image.open(io.BytesIO(request.references[0].data)).convert("RGB")
        ratio = fit.ratio_value(request.options.aspect_ratio or "1:1") or 1.0
        size = (256, round(256 / ratio)) if ratio >= 1 else (round(256 * ratio), 256)
        img = src.resize(size, Image.Resampling.LANCZOS)
        if callable(self.transform):
            img = self.transform(img)
        buf = io.BytesIO()
        img.save(buf, "PNG")
        return GeneratedImage(
            data=buf.getvalue(), mime_type="image/png", width=size[0], height=size[1]
        )

    async def aclose(self) -> None:
        return None


def _fit_request(p: labelled.Photo) -> GenerationRequest:
    objects = [LabelBox(class_id=r.class_id, bbox=r.box) for r in p.regions]  # type: ignore[arg-type]
    return GenerationRequest(
        model="gemini-2.5-flash-image",
        prompt="same scene",
        seed=1,
        references=[ReferenceImage(labelled.encode(p.image, "PNG"), "image/png")],
        options=GenerationOptions(fit_to_source=True, aspect_ratio_choices=GEMINI_RATIOS),
        labels=SourceLabels(width=p.size[0], height=p.size[1], objects=objects),
    )


def test_prepare_asks_for_the_closest_ratio_only_when_fitting() -> None:
    request = _fit_request(labelled.photo("chelsea", "train"))  # 320x213
    assert prepare(request).options.aspect_ratio == "3:2"
    plain = GenerationRequest(model="m", prompt="p", seed=1, references=request.references)
    assert prepare(plain) is plain


def test_generate_checked_fits_back_carries_labels_and_measures() -> None:
    photo = labelled.photo("chelsea", "train")
    provider = _Echo()
    image = asyncio.run(generate_checked(provider, _fit_request(photo)))
    assert provider.asked == ["3:2"]
    assert (image.width, image.height) == photo.size
    assert image.transform is not None and image.transform.model_size == (256, 171)
    assert image.transform.matrix is not None
    assert image.labels is not None
    out = Image.open(io.BytesIO(image.data))
    for obj in image.labels.objects:
        px = labelled.region_pixels(out, obj.class_id, tolerance=40)
        x1, y1, x2, y2 = obj.bbox
        inside = (
            (px[:, 0] >= x1 - 3)
            & (px[:, 0] <= x2 + 3)
            & (px[:, 1] >= y1 - 3)
            & (px[:, 1] <= y2 + 3)
        )
        assert inside.mean() > 0.97
    assert image.checks is not None
    assert flags.label_unsafe(image.checks) is None
    assert flags.near_identical(image.checks) is not None  # an echo of its source


def test_a_shifting_model_is_flagged_and_a_recolouring_one_is_not() -> None:
    photo = labelled.photo("astronaut", "train")
    moved = asyncio.run(generate_checked(_Echo(lambda im: shifted(im, 0.15)), _fit_request(photo)))
    recolour = asyncio.run(generate_checked(_Echo(recoloured), _fit_request(photo)))
    assert moved.checks is not None and recolour.checks is not None
    assert flags.label_unsafe(moved.checks) is not None
    assert flags.label_unsafe(recolour.checks) is None
    assert flags.near_identical(recolour.checks) is None


def test_finish_leaves_undecodable_bytes_alone() -> None:
    request = GenerationRequest(model="m", prompt="p", seed=1)
    image = GeneratedImage(data=b"not an image", mime_type="image/png", width=1, height=1)
    assert finish(request, image).checks is None


def test_hash_distance_counts_the_bits_imagehash_counts() -> None:
    import random

    import imagehash

    rng = random.Random(5)
    pairs = [(f"{rng.getrandbits(64):016x}", f"{rng.getrandbits(64):016x}") for _ in range(200)]
    pairs += [("0" * 16, "f" * 16), ("8" + "0" * 15, "0" * 16)]
    for a, b in pairs:
        assert measure.hash_distance(a, b) == int(
            imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b)
        )
