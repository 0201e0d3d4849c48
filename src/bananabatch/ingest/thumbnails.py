"""Small WebP previews for the UI, made once per asset.

A 1,000-image ingest is dominated by decoding, so thumbnails are made the cheap
way: JPEG is decoded at 1/2..1/8 scale (`draft`), other formats are shrunk by
an integer `reduce` first and only the last step is resampled. The common upload
(an upright RGB or grey JPEG, stored as sent) is checked and thumbnailed by one
reduced-scale decode: libjpeg still reads every coded block at that scale, so a
file cut short or garbled fails exactly as a full decode would.
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image, ImageOps

from bananabatch.ingest.images import (
    DECODE_ERRORS,
    ImageRejected,
    ValidatedImage,
    classify_decode_error,
    exif_orientation,
    open_header,
    to_8bit_grey,
)

THUMB_QUALITY: Final = 80
_REDUCING_GAP: Final = 2.0
_WEBP_METHOD: Final = 1  # 0 (fast) .. 6 (small); 1 is ~2x faster than the default 4
_JPEG_SOI: Final = b"\xff\xd8\xff"


def _fit(dims: tuple[int, int], size: int) -> tuple[int, int]:
    """`dims` scaled down (never up) to fit a size x size box, aspect kept."""
    w, h = dims
    ratio = min(size / w, size / h, 1.0)
    return max(1, round(w * ratio)), max(1, round(h * ratio))


def make_thumbnail(data: bytes, size: int = 256) -> bytes:
    """A WebP no larger than `size` x `size`, aspect kept, EXIF orientation applied.

    Expects bytes that already passed `validate_image`; anything undecodable
    raises `ImageRejected` (reason "corrupt").
    """
    if size < 1:
        raise ValueError("thumbnail size must be positive")
    try:
        with Image.open(io.BytesIO(data)) as im:
            # JPEG: let the decoder scale down (1/2..1/8) to the smallest size that
            # still covers the thumbnail; most of the cost of a thumbnail is decoding.
            im.draft(None, _fit(im.size, size))
            return _encode(ImageOps.exif_transpose(im), size)
    except DECODE_ERRORS as exc:  # UnidentifiedImageError is an OSError
        raise ImageRejected(
            "thumbnail", "corrupt", f"cannot make a thumbnail: the image does not decode ({exc})"
        ) from exc


def validate_plain_jpeg(
    data: bytes, *, name: str, max_pixels: int, size: int
) -> tuple[ValidatedImage, bytes] | None:
    """For an upright RGB or grey JPEG (what `validate_image` keeps byte for byte), the
    validated image and its thumbnail from one decode at thumbnail scale; None for any
    other image (the caller takes the full path). Raises `ImageRejected` as
    `validate_image` would for the same bytes."""
    if not data.startswith(_JPEG_SOI):
        return None
    im = open_header(data, name, max_pixels)
    if im.format != "JPEG" or im.mode not in ("RGB", "L") or exif_orientation(im, name) != 1:
        return None
    width, height = im.size
    try:
        im.draft(im.mode, _fit(im.size, size))
        im.load()
    except DECODE_ERRORS as exc:
        raise classify_decode_error(name, data, exc) from exc
    image = ValidatedImage(
        data=data,
        mime_type="image/jpeg",
        format="JPEG",
        ext="jpg",
        width=width,
        height=height,
        original_format="JPEG",
        normalised=False,
        notes=(),
    )
    return image, _encode(im, size)


def _encode(im: Image.Image, size: int) -> bytes:
    thumb = im
    if thumb.mode not in ("RGB", "RGBA", "L"):  # resampling needs an 8-bit mode
        thumb = _webp_mode(thumb)
    thumb.thumbnail((size, size), Image.Resampling.BICUBIC, reducing_gap=_REDUCING_GAP)
    thumb = _webp_mode(thumb)
    buf = io.BytesIO()
    thumb.save(buf, "WEBP", quality=THUMB_QUALITY, method=_WEBP_METHOD)
    return buf.getvalue()


def _webp_mode(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "RGBA"):
        return im
    if im.mode in ("LA", "La", "PA", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        return im.convert("RGBA")
    if im.mode.startswith("I") or im.mode == "F":
        return to_8bit_grey(im).convert("RGB")
    return im.convert("RGB")
