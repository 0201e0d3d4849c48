"""Transparency survives the classic provider and the worker's last step when the
output format can hold it (PNG, WebP); JPEG lays it on white."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bananabatch.contracts import GenerationOptions
from bananabatch.providers.base import GenerationRequest, ReferenceImage
from bananabatch.providers.classic import augment
from bananabatch.quality.finish import finish


def _cutout(width: int = 120, height: int = 90) -> bytes:
    """An opaque red disc on a fully transparent background (a typical cut-out PNG)."""
    ys, xs = np.mgrid[0:height, 0:width]
    inside = (xs - width / 2) ** 2 + (ys - height / 2) ** 2 < (min(width, height) / 3) ** 2
    arr = np.zeros((height, width, 4), np.uint8)
    arr[..., 0] = 220
    arr[..., 3] = np.where(inside, 255, 0)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGBA").save(buf, "PNG")
    return buf.getvalue()


def _request(fmt: str, prompt: str = "rotate, night", **options: object) -> GenerationRequest:
    return GenerationRequest(
        model="classic",
        prompt=prompt,
        seed=7,
        references=[ReferenceImage(data=_cutout(), mime_type="image/png", name="a.png")],
        options=GenerationOptions.model_validate({"output_format": fmt, **options}),
    )


def _opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_classic_keeps_transparency_where_the_format_holds_it(fmt: str) -> None:
    result = augment(_request(fmt))
    img = _opened(result.data)
    assert img.mode == "RGBA"
    alpha = np.asarray(img.getchannel("A"))
    # the corners stay transparent, the disc stays opaque: not flattened to a colour
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0
    assert alpha[alpha.shape[0] // 2, alpha.shape[1] // 2] == 255
    assert "transparency kept" in (result.transform.steps if result.transform else [])


def test_classic_jpeg_lays_transparency_on_white() -> None:
    img = _opened(augment(_request("jpeg", prompt="flip")).data)
    assert img.mode == "RGB"
    corner = np.asarray(img)[2, 2]
    assert corner.min() > 200  # white-ish, not grey or black


def test_finish_keeps_transparency_when_fitting_to_the_source() -> None:
    """The worker's fit-to-source re-encodes the image: the alpha channel goes with it."""
    request = _request("png", fit_to_source=True)
    generated = augment(request)
    bigger = _opened(generated.data).resize((240, 240))  # as if the model changed the frame
    buf = io.BytesIO()
    bigger.save(buf, "PNG")
    model_answer = generated.__class__(
        data=buf.getvalue(), mime_type="image/png", width=240, height=240
    )
    finished = finish(request, model_answer)
    img = _opened(finished.data)
    assert (img.width, img.height) == (120, 90)  # fitted back to the source
    assert img.mode == "RGBA"
    alpha = np.asarray(img.getchannel("A"))
    assert alpha[0, 0] == 0 and alpha[45, 60] == 255
    assert finished.checks is not None and finished.checks.phash  # still measured
