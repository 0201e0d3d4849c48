"""Generation metadata (prompt, model, seed, lineage) embedded in output images.

Everything here is byte surgery on the container, never a re-encode, so pixel data
is exactly what the provider returned:

- PNG: `tEXt` chunks (`iTXt` when a value is not Latin-1) inserted before the first
  `IDAT`, where readers that stop at the pixel data (Pillow's `info`, web tools)
  still see them. Existing text chunks with the same keywords are replaced.
- JPEG: an APP1 `Exif` segment placed after SOI/APP0; everything from SOS on is
  copied verbatim.
- WebP: an `EXIF` chunk; a simple (VP8/VP8L) file is promoted to the extended
  format by adding a `VP8X` header, as the container spec requires.

In EXIF the prompt goes to ImageDescription (UTF-8), `Software` to Software and
the remaining keys, as JSON, to the Exif UserComment. Existing EXIF tags (camera
data, orientation) are kept.

Metadata is best effort: an unknown or malformed image comes back unchanged with
a warning, because losing an output over its metadata would be worse.
"""

from __future__ import annotations

from collections.abc import Mapping

from bananabatch.image_metadata.exif import (
    exif_read,
    jpeg_embed,
    jpeg_find_exif,
    webp_embed,
    webp_find_exif,
)
from bananabatch.image_metadata.format import PARSE_ERRORS, logger, resolve_format, sniff_format
from bananabatch.image_metadata.png import png_embed, png_read

__all__ = ["embed_metadata", "read_metadata", "sniff_format"]


def embed_metadata(data: bytes, mime_type: str, meta: Mapping[str, str]) -> bytes:
    """Return `data` with `meta` embedded, pixels untouched; unchanged when impossible."""
    if not meta:
        return data
    fmt = resolve_format(data, mime_type)
    if fmt is None:
        logger.warning("cannot embed metadata: %s data is not PNG, JPEG or WebP", mime_type)
        return data
    clean = {str(k): str(v).replace("\x00", "") for k, v in meta.items()}
    try:
        if fmt == "png":
            return png_embed(data, clean)
        if fmt == "jpeg":
            return jpeg_embed(data, clean)
        return webp_embed(data, clean)
    except PARSE_ERRORS as exc:
        logger.warning("cannot embed metadata into %s image: %s", fmt, exc)
        return data


def read_metadata(data: bytes, mime_type: str) -> dict[str, str]:
    """The metadata `embed_metadata` wrote (and, for PNG, any other text chunks)."""
    fmt = resolve_format(data, mime_type)
    try:
        if fmt == "png":
            return png_read(data)
        if fmt == "jpeg":
            exif = jpeg_find_exif(data)
        elif fmt == "webp":
            exif = webp_find_exif(data)
        else:
            return {}
    except PARSE_ERRORS as exc:
        logger.warning("cannot read metadata from %s image: %s", fmt, exc)
        return {}
    if exif is None:
        return {}
    try:
        return exif_read(exif)
    except PARSE_ERRORS as exc:
        logger.warning("cannot parse EXIF of %s image: %s", fmt, exc)
        return {}
