"""Small WebP previews for the UI, made once per asset.

A 1,000-image ingest is dominated by thumbnails, so they are made the cheap
way: JPEG is decoded at 1/2..1/8 scale (`draft`), other formats are shrunk by
an integer `reduce` first and only the last step is resampled.
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

from bananabatch.ingest.images import ImageRejected, to_8bit_grey

THUMB_QUALITY: Final = 80
_REDUCING_GAP: Final = 2.0


def make_thumbnail(data: bytes, size: int = 256) -> bytes:
    """A WebP no larger than `size` x `size`, aspect kept, EXIF orientation applied.

    Expects bytes that already passed `validate_image`; anything undecodable
    raises `ImageRejected` (reason "corrupt").
    """
    if size < 1:
        raise ValueError("thumbnail size must be positive")
    try:
        with Image.open(io.BytesIO(data)) as im:
            # Decode JPEG at the smallest scale still >= 2x the target (cheap and sharp).
            budget = int(size * _REDUCING_GAP)
            im.draft(None, (budget, budget))
            thumb = ImageOps.exif_transpose(im)
            if thumb.mode not in ("RGB", "RGBA", "L"):  # resampling needs an 8-bit mode
                thumb = _webp_mode(thumb)
            thumb.thumbnail((size, size), Image.Resampling.BICUBIC, reducing_gap=_REDUCING_GAP)
            thumb = _webp_mode(thumb)
            buf = io.BytesIO()
            thumb.save(buf, "WEBP", quality=THUMB_QUALITY, method=2)
            return buf.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(
            "thumbnail", "corrupt", f"cannot make a thumbnail: the image does not decode ({exc})"
        ) from exc


def _webp_mode(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "RGBA"):
        return im
    if im.mode in ("LA", "La", "PA", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        return im.convert("RGBA")
    if im.mode.startswith("I") or im.mode == "F":
        return to_8bit_grey(im).convert("RGB")
    return im.convert("RGB")
