"""Image validation and normalisation for the provider.

Every upload is really decoded (`Image.load()`), because a header can be fine
while the pixel data is cut short or garbage, and the provider would fail much
later, once per variation, at a cost. Gemini takes JPEG, PNG and WebP; other
accepted formats are converted to PNG, odd modes (CMYK, 16-bit, palette) are
normalised, and EXIF orientation is baked into the pixels so every consumer sees
the photo upright. An image that is already fine keeps its original bytes.
"""

from __future__ import annotations

import io
import logging
import struct
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from bananabatch.errors import BadUpload

log = logging.getLogger(__name__)

REASONS: Final = frozenset(
    {"empty", "not_an_image", "truncated", "too_large", "unsupported_format", "corrupt"}
)

ACCEPTED_FORMATS: Final = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF"})
"""What Pillow may report for an upload we take (MPO = a camera JPEG with extra frames)."""

_PROVIDER_MIME: Final = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_EXT: Final = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_JPEG_QUALITY: Final = 95
_ORIENTATION_TAG: Final = 0x0112
_MEGA: Final = 1_000_000
_BMP_DIB_SIZES: Final = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
DECODE_ERRORS: Final = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    KeyError,
    ZeroDivisionError,
    struct.error,
)
"""What Pillow's plugins raise on damaged or hostile data (a GIF cut short inside its
second frame raises `struct.error` from `is_animated`, for one)."""

# `warnings.catch_warnings` swaps process-wide state; serialise our (header-only,
# fast) use of it so two ingest threads cannot leave each other's filter behind.
_open_lock = threading.Lock()


class ImageRejected(BadUpload):
    """One uploaded file is not a usable image. `reason` is a stable machine code."""

    code = "image_rejected"

    def __init__(self, name: str, reason: str, message: str) -> None:
        super().__init__(message, details={"file": name, "reason": reason})
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class ValidatedImage:
    """A decoded, provider-ready image: `data` is what gets stored and sent to the model."""

    data: bytes
    mime_type: str
    format: str
    ext: str
    width: int
    height: int
    original_format: str
    normalised: bool
    notes: tuple[str, ...]


def _reject(name: str, reason: str, message: str) -> ImageRejected:
    return ImageRejected(name, reason, f"{name}: {message}")


def _truncated(name: str) -> ImageRejected:
    return _reject(
        name,
        "truncated",
        "the image data is truncated (the file was cut short). Re-export or re-upload it.",
    )


def _corrupt(name: str, detail: str) -> ImageRejected:
    return _reject(
        name,
        "corrupt",
        f"the image data is corrupt and cannot be decoded ({detail}). "
        "Re-export it from the original.",
    )


def _too_large(name: str, width: int, height: int, max_pixels: int) -> ImageRejected:
    return _reject(
        name,
        "too_large",
        f"the image is {width}x{height} ({width * height / _MEGA:.1f} megapixels), over the "
        f"{max_pixels / _MEGA:.1f} megapixel limit. Downscale it and upload again.",
    )


def _sniff_other(data: bytes) -> str | None:
    """Name formats Pillow cannot (or should not) open, so the user gets a precise hint."""
    head = data[:64]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis"):
            return "HEIC/HEIF"
        if brand in (b"avif", b"avis"):
            return "AVIF"
    text = head.lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in data[:4096]):
        return "SVG"
    if head.startswith(b"%PDF"):
        return "PDF"
    return None


def _looks_cut_short(data: bytes) -> bool | None:
    """For a file whose signature matches a known format, whether its end marker is missing.

    None when the signature is unknown. Used to tell "truncated" from "corrupt"
    when Pillow's own error message is not specific.
    """
    tail = data[-32:].rstrip(b"\x00")
    if data.startswith(b"\xff\xd8\xff"):
        return not tail.endswith(b"\xff\xd9")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return b"IEND" not in tail
    if data.startswith((b"GIF87a", b"GIF89a")):
        return not tail.endswith(b";")
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        declared = int.from_bytes(data[4:8], "little") + 8
        return len(data) < declared
    if data.startswith(b"BM") and int.from_bytes(data[14:18], "little") in _BMP_DIB_SIZES:
        return len(data) < int.from_bytes(data[2:6], "little")
    return None


def _has_image_signature(data: bytes) -> bool:
    """Whether the bytes start like one of the accepted formats (whatever follows)."""
    if _looks_cut_short(data) is not None:
        return True
    return data.startswith((b"II*\x00", b"MM\x00*"))


def classify_decode_error(name: str, data: bytes, exc: BaseException) -> ImageRejected:
    text = str(exc)
    if isinstance(exc, EOFError) or "truncat" in text.lower():
        return _truncated(name)
    if _looks_cut_short(data):
        return _truncated(name)
    if isinstance(exc, UnidentifiedImageError):
        # Pillow's text names an in-memory object ("<_io.BytesIO object at 0x...>").
        detail = "its header is damaged, or it is a variant this server cannot read"
    else:
        detail = text.split(" when reading")[0] or type(exc).__name__
    return _corrupt(name, detail)


def _not_an_image(name: str) -> ImageRejected:
    return _reject(
        name,
        "not_an_image",
        "this is not an image file (its content is not JPEG, PNG, WebP, GIF, BMP or "
        "TIFF, whatever its name says). Upload image files only.",
    )


def open_header(data: bytes, name: str, max_pixels: int) -> Image.Image:
    """Parse the header only, enforcing the pixel limit before any pixel is decoded."""
    try:
        with _open_lock, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb(name, max_pixels) from exc
    except DECODE_ERRORS as exc:
        # Header parsing failed (UnidentifiedImageError is an OSError too). Only a
        # file that starts like an image is "truncated"/"corrupt"; Pillow also
        # says "Truncated File Read" for a text file that happens to start "BM".
        other = _sniff_other(data)
        if other is not None:
            raise _unsupported(name, other) from exc
        if not _has_image_signature(data):
            raise _not_an_image(name) from exc
        raise classify_decode_error(name, data, exc) from exc
    width, height = im.size
    if width <= 0 or height <= 0:
        raise _corrupt(name, f"invalid size {width}x{height}")
    if width * height > max_pixels:
        raise _too_large(name, width, height, max_pixels)
    return im


def _bomb(name: str, max_pixels: int) -> ImageRejected:
    # Pillow refused before telling us the dimensions.
    return _reject(
        name,
        "too_large",
        f"the image is far larger than the {max_pixels / _MEGA:.1f} megapixel limit "
        "(it could be a decompression bomb). Downscale it and upload again.",
    )


def _unsupported(name: str, fmt: str) -> ImageRejected:
    return _reject(
        name,
        "unsupported_format",
        f"{fmt} images are not supported. Convert it to JPEG, PNG or WebP and upload again.",
    )


def _png_bit_depth(data: bytes) -> int:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) > 24:
        return data[24]
    return 8


def _webp_is_lossless(data: bytes) -> bool:
    return b"VP8L" in data[12:64]


def to_8bit_grey(im: Image.Image) -> Image.Image:
    """Scale 16/32-bit integer and float greyscale to 8-bit (Pillow's convert would clip)."""
    arr = np.asarray(im)
    if im.mode == "F":
        peak = float(arr.max()) if arr.size else 0.0
        scaled = arr * 255.0 if peak <= 1.0 else arr
        out = np.clip(scaled, 0, 255).astype(np.uint8)
    else:
        wide = arr.astype(np.int64)
        peak = int(wide.max()) if wide.size else 0
        shift = 8 if peak > 255 or im.mode.startswith("I;16") else 0
        out = np.clip(wide >> shift, 0, 255).astype(np.uint8)
    return Image.fromarray(out, mode="L")


def _cmyk_to_rgb(im: Image.Image) -> Image.Image:
    """CMYK -> RGB through the embedded ICC profile when there is one (else Pillow's formula)."""
    icc = im.info.get("icc_profile")
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            log.debug("ICC conversion failed, using plain CMYK->RGB: %s", exc)
    return im.convert("RGB")


def _normalise_mode(im: Image.Image, notes: list[str]) -> tuple[Image.Image, bool]:
    """Bring any decoded mode to L, RGB or RGBA. Returns (image, changed)."""
    mode = im.mode
    if mode in ("L", "RGB", "RGBA"):
        return im, False
    if mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        notes.append(f"{mode} converted to RGB")
        return (_cmyk_to_rgb(im) if mode == "CMYK" else im.convert("RGB")), True
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in im.info
        target = "RGBA" if has_alpha else "RGB"
        notes.append(f"palette image converted to {target}")
        return im.convert(target), True
    if mode in ("LA", "La"):
        notes.append("grey+alpha converted to RGBA")
        return im.convert("RGBA"), True
    if mode == "RGBa":
        return im.convert("RGBA"), True
    if mode == "1":
        notes.append("1-bit image converted to 8-bit greyscale")
        return im.convert("L"), True
    if mode.startswith("I") or mode == "F":
        depth = "16-bit" if mode.startswith("I;16") else "high bit depth"
        notes.append(f"{depth} image converted to 8-bit")
        return to_8bit_grey(im), True
    notes.append(f"{mode} converted to RGB")
    return im.convert("RGB"), True


def _encode(im: Image.Image, fmt: str, *, lossless_webp: bool, icc: bytes | None) -> bytes:
    buf = io.BytesIO()
    params: dict[str, Any] = {}
    if icc:
        params["icc_profile"] = icc
    if fmt == "JPEG":
        params.update(quality=_JPEG_QUALITY, optimize=False)
    elif fmt == "WEBP":
        params.update(lossless=lossless_webp, quality=_JPEG_QUALITY)
    im.save(buf, fmt, **params)
    return buf.getvalue()


def exif_orientation(im: Image.Image, name: str) -> int:
    try:
        value = int(im.getexif().get(_ORIENTATION_TAG, 1) or 1)
    except (OSError, ValueError, SyntaxError, TypeError, struct.error) as exc:
        log.debug("%s: unreadable EXIF ignored: %s", name, exc)
        return 1
    return value if 2 <= value <= 8 else 1


def _colour_family(mode: str) -> str:
    if mode in ("RGB", "RGBA", "RGBX", "RGBa", "P", "PA"):
        return "rgb"
    if mode in ("L", "LA", "La", "1", "F") or mode.startswith("I"):
        return "grey"
    return mode


def validate_image(data: bytes, *, name: str, max_pixels: int) -> ValidatedImage:
    """Decode `data` fully and return provider-ready bytes, or raise `ImageRejected`.

    The content decides the format, never the file name: a PNG named `.jpg` is a
    PNG (and gets the `png` extension); a text file named `.png` is rejected.
    """
    if not data:
        raise _reject(name, "empty", "the file is empty (0 bytes). Re-upload it.")
    im = open_header(data, name, max_pixels)
    fmt = im.format or "unknown"
    if fmt not in ACCEPTED_FORMATS:
        raise _unsupported(name, fmt)
    original_format = "JPEG" if fmt == "MPO" else fmt
    notes: list[str] = []
    reencode = False

    try:
        # `is_animated` stops at the second frame; `n_frames` would walk them all.
        # It parses that frame's header, so it can fail on a file cut short.
        if fmt != "MPO" and bool(getattr(im, "is_animated", False)):
            kind = "page of multi-page" if original_format == "TIFF" else "frame of animated"
            notes.append(f"first {kind} {original_format}")
            reencode = True
        im.seek(0)
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb(name, max_pixels) from exc
    except MemoryError as exc:
        raise _too_large(name, im.size[0], im.size[1], max_pixels) from exc
    except DECODE_ERRORS as exc:
        raise classify_decode_error(name, data, exc) from exc

    out: Image.Image = im
    if exif_orientation(im, name) != 1:
        try:
            out = ImageOps.exif_transpose(im)
        except DECODE_ERRORS as exc:
            raise _corrupt(name, f"unreadable EXIF orientation: {exc}") from exc
        notes.append("EXIF orientation applied")
        reencode = True

    if original_format in ("GIF", "BMP", "TIFF"):
        notes.append(f"{original_format} converted to PNG")
        reencode = True
    target = original_format if original_format in _PROVIDER_MIME else "PNG"

    out, mode_changed = _normalise_mode(out, notes)
    reencode = reencode or mode_changed
    if original_format == "PNG" and _png_bit_depth(data) == 16 and not mode_changed:
        notes.append("16-bit image converted to 8-bit")
        reencode = True
    if target == "JPEG" and out.mode == "RGBA":  # JPEG has no alpha; never expected
        target = "PNG"

    if reencode:
        # An ICC profile describes the source colour space: keep it only when the
        # channels still mean the same thing (not after CMYK -> RGB, say).
        same_family = _colour_family(im.mode) == _colour_family(out.mode)
        icc = im.info.get("icc_profile") if same_family else None
        payload = _encode(
            out,
            target,
            lossless_webp=target == "WEBP" and _webp_is_lossless(data),
            icc=icc if isinstance(icc, bytes) else None,
        )
    else:
        payload = data
    width, height = out.size
    return ValidatedImage(
        data=payload,
        mime_type=_PROVIDER_MIME[target],
        format=target,
        ext=_EXT[target],
        width=width,
        height=height,
        original_format=original_format,
        normalised=reencode,
        notes=tuple(notes),
    )
