"""Quality flags measured on reduced copies (`quality.finish._measure`) decide as the
full-size images did. The first reduced measurement (633ca96) used `Image.reduce`, which
drops the remainder of a side its factor does not divide, and warped the source at the
small size half a pixel off: an output identical to its source lost `near_identical`,
read as shifted, and a small shift could turn `label_unsafe`."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data as samples

from bananabatch.contracts import GenerationOptions, LabelBox, OutputChecks, SourceLabels
from bananabatch.providers.base import GeneratedImage, GenerationRequest, ReferenceImage
from bananabatch.quality import flags, measure
from bananabatch.quality.finish import finish


def _photo(name: str, size: tuple[int, int]) -> Image.Image:
    img = Image.fromarray(getattr(samples, name)()).convert("RGB")
    return img.resize(size, Image.Resampling.LANCZOS)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _checks(source: Image.Image, output: Image.Image) -> OutputChecks:
    """A dataset job's checks: labelled source, fit to the source's frame."""
    w, h = source.size
    box = LabelBox(class_id=0, bbox=(w * 0.2, h * 0.2, w * 0.5, h * 0.6), polygons=[])
    request = GenerationRequest(
        model="m",
        prompt="p",
        seed=1,
        references=[ReferenceImage(_png(source), "image/png")],
        options=GenerationOptions(fit_to_source=True),
        labels=SourceLabels(width=w, height=h, objects=[box]),
    )
    image = GeneratedImage(
        data=_png(output), mime_type="image/png", width=output.width, height=output.height
    )
    checks = finish(request, image).checks
    assert checks is not None
    return checks


@pytest.mark.parametrize(
    ("name", "size"),
    [("rocket", (640, 427)), ("astronaut", (1920, 1080)), ("rocket", (1920, 1080))],
)
def test_an_output_identical_to_its_source_is_near_identical(
    name: str, size: tuple[int, int]
) -> None:
    source = _photo(name, size)
    checks = _checks(source, source)

    assert flags.near_identical(checks) is not None, checks


@pytest.mark.parametrize("size", [(1920, 1080), (1000, 750), (777, 555)])
def test_an_unmoved_output_measures_in_place(size: tuple[int, int]) -> None:
    source = _photo("coffee", size)
    checks = _checks(source, source)

    assert checks.layout_shift is not None and checks.layout_shift < 0.001, checks
    assert checks.layout_similarity is not None and checks.layout_similarity > 0.99, checks


def test_a_small_shift_is_not_label_unsafe() -> None:
    source = _photo("coffee", (1920, 1080))
    shifted = Image.fromarray(np.roll(np.asarray(source), -int(1920 * 0.017), axis=1))

    assert flags.label_unsafe(_checks(source, shifted)) is None


def test_a_model_frame_fitted_back_measures_as_its_source() -> None:
    """The model answered at its own 1024-pixel frame with the source's composition; the
    output is fitted back to the source's size and should line up with it."""
    source = _photo("astronaut", (1536, 1000))
    checks = _checks(source, source.resize((1024, 667), Image.Resampling.LANCZOS))

    assert checks.layout_shift is not None and checks.layout_shift < 0.01, checks
    assert flags.label_unsafe(checks) is None and flags.near_identical(checks) is not None


@pytest.mark.parametrize("size", [(1000, 750), (1537, 1025), (300, 257)])
def test_a_measuring_copy_scales_both_sides_alike(size: tuple[int, int]) -> None:
    small = measure.measuring_copy(Image.new("RGB", size))
    factor = max(1, max(size) // measure.MEASURE_SIDE)

    assert small.size == (round(size[0] / factor), round(size[1] / factor))
