"""What every container shares: the format a file really is, and the one way a
malformed container is reported."""

from __future__ import annotations

import logging
import struct

logger = logging.getLogger("bananabatch.image_metadata")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Malformed(ValueError):
    """The container is not what its header claims; leave the bytes alone."""


# Errors a malformed container may raise from struct, slicing, zlib or Pillow's EXIF parser.
PARSE_ERRORS = (ValueError, struct.error, IndexError, KeyError, OSError, SyntaxError, EOFError)


def sniff_format(data: bytes) -> str | None:
    """'png', 'jpeg', 'webp' by magic bytes, else None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


MIME_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/webp": "webp",
}


def resolve_format(data: bytes, mime_type: str) -> str | None:
    """Trust the bytes over the declared MIME type, but say so when they disagree."""
    sniffed = sniff_format(data)
    declared = MIME_FORMATS.get(mime_type.lower().split(";")[0].strip())
    if sniffed and declared and sniffed != declared:
        logger.warning("image declared as %s is actually %s; using %s", mime_type, sniffed, sniffed)
    return sniffed
