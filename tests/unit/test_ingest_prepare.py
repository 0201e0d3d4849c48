"""The one-decode path for plain JPEGs (`validate_plain_jpeg`, used by `prepare_image`)
must accept and refuse exactly what the full decode (`validate_image`) does."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bananabatch.ingest.assets import THUMB_SIZE, prepare_image
from bananabatch.ingest.images import ImageRejected, validate_image
from bananabatch.ingest.thumbnails import validate_plain_jpeg
from tests import badinput as bi

MAX_PIXELS = 64_000_000


def _photo(size: tuple[int, int], *, progressive: bool = False, mode: str = "RGB") -> bytes:
    im = Image.effect_noise(size, 50).convert(mode)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=88, progressive=progressive)
    return buf.getvalue()


def _garbled(data: bytes, at: float) -> bytes:
    """Bytes in the middle of the coded data overwritten (the markers after them kept)."""
    cut = int(len(data) * at)
    return data[:cut] + bytes(range(256))[:200] + data[cut + 200 :]


def _cases() -> list[tuple[str, bytes]]:
    big = _photo((1400, 1050))
    prog = _photo((900, 700), progressive=True)
    cases = [(c.name, c.data) for c in bi.bad_files() + bi.good_files()]
    cases += [
        ("big.jpg", big),
        ("grey.jpg", _photo((640, 480), mode="L")),
        ("progressive.jpg", prog),
        ("rotated3.jpg", bi.exif_rotated_jpeg(3)),
    ]
    for keep in (0.05, 0.5, 0.9, 0.999):
        cases.append((f"big-cut-{keep}.jpg", big[: int(len(big) * keep)]))
        cases.append((f"prog-cut-{keep}.jpg", prog[: int(len(prog) * keep)]))
    for at in (0.3, 0.7):
        cases.append((f"big-garbled-{at}.jpg", _garbled(big, at)))
    cases.append(("no-eoi.jpg", big[:-2]))
    cases.append(("tiny-limit.jpg", big))
    return cases


def _outcome(fn: object, name: str, data: bytes) -> object:
    limit = 1_000_000 if name == "tiny-limit.jpg" else MAX_PIXELS
    try:
        result = fn(data, name=name, max_pixels=limit)  # type: ignore[operator]
    except ImageRejected as exc:
        return ("rejected", exc.reason, exc.message)
    image = result.image if hasattr(result, "image") else result
    if image is None:
        return ("rejected", result.error.reason, result.error.message)
    return ("accepted", image)


@pytest.mark.parametrize(("name", "data"), _cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_prepare_matches_the_full_decode(name: str, data: bytes) -> None:
    assert _outcome(prepare_image, name, data) == _outcome(validate_image, name, data)


def test_plain_jpeg_takes_one_decode_and_gets_a_thumbnail() -> None:
    data = _photo((1400, 1050))
    plain = validate_plain_jpeg(data, name="a.jpg", max_pixels=MAX_PIXELS, size=THUMB_SIZE)
    assert plain is not None
    image, thumb = plain
    assert image.data is data and (image.width, image.height) == (1400, 1050)
    with Image.open(io.BytesIO(thumb)) as t:
        assert t.format == "WEBP"
        assert max(t.size) == THUMB_SIZE
        assert t.size == (256, 192)


@pytest.mark.parametrize(
    "data", [bi.exif_rotated_jpeg(6), bi.cmyk_jpeg(), bi.png_image(), bi.webp_image()]
)
def test_other_images_take_the_full_path(data: bytes) -> None:
    assert validate_plain_jpeg(data, name="x", max_pixels=MAX_PIXELS, size=THUMB_SIZE) is None


def test_a_plain_jpeg_cut_short_is_truncated() -> None:
    data = _photo((1400, 1050))[:-5000]
    with pytest.raises(ImageRejected) as info:
        validate_plain_jpeg(data, name="a.jpg", max_pixels=MAX_PIXELS, size=THUMB_SIZE)
    assert info.value.reason == "truncated"
