"""EXIF, and the JPEG and WebP containers that carry it. The prompt goes to
ImageDescription (UTF-8), `Software` to Software and the remaining keys, as JSON, to
the Exif UserComment; existing tags (camera data, orientation) are kept. A simple
(VP8/VP8L) WebP is promoted to the extended format by adding a `VP8X` header."""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping

from PIL import Image

from bananabatch.image_metadata.format import Malformed, logger

_EXIF_HEADER = b"Exif\x00\x00"
_USER_COMMENT_ASCII = b"ASCII\x00\x00\x00"
_TAG_IMAGE_DESCRIPTION = 0x010E
_TAG_SOFTWARE = 0x0131
_TAG_EXIF_IFD = 0x8769
_TAG_USER_COMMENT = 0x9286
_JPEG_MAX_SEGMENT = 0xFFFF - 2  # a segment's length field counts itself
_VP8X_EXIF = 0x08
_VP8X_ALPHA = 0x10

# Keys whose values travel in dedicated EXIF tags rather than in the JSON comment.
_PROMPT_KEY = "prompt"
_SOFTWARE_KEY = "Software"


def _exif_payload(existing: bytes | None, meta: Mapping[str, str], limit: int | None) -> bytes:
    """TIFF-structured EXIF (with the `Exif\\0\\0` header) holding `meta`, merged
    into `existing` EXIF when there is one."""
    exif = Image.Exif()
    if existing:
        exif.load(existing)
    rest = {k: v for k, v in meta.items() if k not in (_PROMPT_KEY, _SOFTWARE_KEY)}
    comment = _USER_COMMENT_ASCII + json.dumps(rest, ensure_ascii=True, sort_keys=True).encode()
    exif.get_ifd(_TAG_EXIF_IFD)[_TAG_USER_COMMENT] = comment
    if _SOFTWARE_KEY in meta:
        exif[_TAG_SOFTWARE] = meta[_SOFTWARE_KEY].encode("utf-8")
    prompt = meta.get(_PROMPT_KEY)
    if prompt is not None:
        exif[_TAG_IMAGE_DESCRIPTION] = prompt.encode("utf-8")
    payload = exif.tobytes()
    if limit is not None and len(payload) > limit and prompt is not None:
        # Only a JPEG segment has a 64 KB cap; shorten the prompt copy to fit.
        excess = len(payload) - limit
        cut = prompt.encode("utf-8")[: max(0, len(prompt.encode("utf-8")) - excess - 8)]
        logger.warning("prompt truncated to %d bytes to fit the JPEG EXIF segment", len(cut))
        exif[_TAG_IMAGE_DESCRIPTION] = cut.decode("utf-8", "ignore").encode("utf-8")
        payload = exif.tobytes()
    if limit is not None and len(payload) > limit:
        raise Malformed("metadata does not fit in a JPEG EXIF segment")
    return payload


def _exif_text(value: object) -> str | None:
    """Pillow decodes ASCII tags as Latin-1; we wrote UTF-8 bytes, so undo that."""
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        raw = value.encode("latin-1", "replace")
    else:
        return None
    return raw.rstrip(b"\x00").decode("utf-8", "replace")


def exif_read(payload: bytes) -> dict[str, str]:
    exif = Image.Exif()
    exif.load(payload if payload.startswith(_EXIF_HEADER) else _EXIF_HEADER + payload)
    result: dict[str, str] = {}
    comment = exif.get_ifd(_TAG_EXIF_IFD).get(_TAG_USER_COMMENT)
    ours = False
    if isinstance(comment, bytes) and comment.startswith(_USER_COMMENT_ASCII):
        try:
            decoded = json.loads(comment[len(_USER_COMMENT_ASCII) :].rstrip(b"\x00"))
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            ours = True
            result.update({str(k): str(v) for k, v in decoded.items()})
    description = _exif_text(exif.get(_TAG_IMAGE_DESCRIPTION))
    software = _exif_text(exif.get(_TAG_SOFTWARE))
    if description is not None:
        # A camera's ImageDescription is not a prompt: keep its EXIF name then.
        result[_PROMPT_KEY if ours else "ImageDescription"] = description
    if software is not None:
        result[_SOFTWARE_KEY] = software
    return result


_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, int, int]], int]:
    """Header segments as (marker, start, end) and the offset of the SOS marker."""
    if not data.startswith(b"\xff\xd8"):
        raise Malformed("no JPEG SOI marker")
    segments: list[tuple[int, int, int]] = []
    pos = 2
    while True:
        if pos >= len(data) or data[pos] != 0xFF:
            raise Malformed(f"JPEG marker expected at offset {pos}")
        start = pos
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1  # fill bytes
        if pos >= len(data):
            raise Malformed("JPEG ends inside a marker")
        marker = data[pos]
        pos += 1
        if marker == 0xDA:
            return segments, start
        if marker == 0xD9:
            raise Malformed("JPEG ends before any scan")
        if marker in _JPEG_STANDALONE:
            segments.append((marker, start, pos))
            continue
        if pos + 2 > len(data):
            raise Malformed("JPEG segment length missing")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        end = pos + length
        if length < 2 or end > len(data):
            raise Malformed(f"JPEG segment 0x{marker:02X} has a bad length")
        segments.append((marker, start, end))
        pos = end


def _is_exif_app1(data: bytes, marker: int, start: int, end: int) -> bool:
    return marker == 0xE1 and data[start + 4 : start + 10] == _EXIF_HEADER


def jpeg_find_exif(data: bytes) -> bytes | None:
    segments, _ = _jpeg_segments(data)
    for marker, start, end in segments:
        if _is_exif_app1(data, marker, start, end):
            return data[start + 4 : end]
    return None


def jpeg_embed(data: bytes, meta: Mapping[str, str]) -> bytes:
    segments, sos = _jpeg_segments(data)
    existing = jpeg_find_exif(data)
    payload = _exif_payload(existing, meta, limit=_JPEG_MAX_SEGMENT)
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    out = bytearray(b"\xff\xd8")
    inserted = False
    for marker, start, end in segments:
        if _is_exif_app1(data, marker, start, end):
            continue
        if not inserted and marker != 0xE0:  # JFIF/JFXX APP0 must stay first
            out += app1
            inserted = True
        out += data[start:end]
    if not inserted:
        out += app1
    out += data[sos:]
    return bytes(out)


def _webp_chunks(data: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """(fourcc, payload) of every chunk, plus any bytes after the RIFF container."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise Malformed("not a RIFF WEBP container")
    (riff_size,) = struct.unpack("<I", data[4:8])
    end = 8 + riff_size
    if end > len(data) or riff_size < 4:
        raise Malformed("RIFF size runs past the end of the data")
    chunks: list[tuple[bytes, bytes]] = []
    pos = 12
    while pos + 8 <= end:
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        if pos + 8 + size > end:
            raise Malformed(f"WebP chunk {fourcc!r} runs past the container")
        chunks.append((fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    if not chunks:
        raise Malformed("WebP container has no chunks")
    return chunks, data[end:]


def _webp_dimensions(fourcc: bytes, payload: bytes) -> tuple[int, int, bool]:
    """Canvas width, height and alpha from a simple file's VP8 / VP8L bitstream."""
    if fourcc == b"VP8 ":
        if len(payload) < 10 or payload[3:6] != b"\x9d\x01\x2a":
            raise Malformed("VP8 bitstream has no key frame start code")
        width, height = struct.unpack("<HH", payload[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    if fourcc == b"VP8L":
        if len(payload) < 5 or payload[0] != 0x2F:
            raise Malformed("VP8L bitstream has no signature")
        (bits,) = struct.unpack("<I", payload[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise Malformed(f"unexpected first WebP chunk {fourcc!r}")


def _riff_chunk(fourcc: bytes, payload: bytes) -> bytes:
    return (
        fourcc + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
    )


def webp_find_exif(data: bytes) -> bytes | None:
    chunks, _ = _webp_chunks(data)
    for fourcc, payload in chunks:
        if fourcc == b"EXIF":
            return payload
    return None


def webp_embed(data: bytes, meta: Mapping[str, str]) -> bytes:
    chunks, trailer = _webp_chunks(data)
    existing = next((p for f, p in chunks if f == b"EXIF"), None)
    exif = _exif_payload(existing, meta, limit=None)
    # The WebP spec stores bare TIFF data in the EXIF chunk, without the JPEG APP1 header.
    exif = exif.removeprefix(_EXIF_HEADER)

    if chunks[0][0] == b"VP8X":
        vp8x = bytearray(chunks[0][1])
        if len(vp8x) < 10:
            raise Malformed("VP8X chunk is too short")
        body = chunks[1:]
    else:
        width, height, alpha = _webp_dimensions(*chunks[0])
        vp8x = bytearray(10)
        vp8x[0] = _VP8X_ALPHA if alpha else 0
        vp8x[4:7] = (width - 1).to_bytes(3, "little")
        vp8x[7:10] = (height - 1).to_bytes(3, "little")
        body = chunks
    vp8x[0] |= _VP8X_EXIF

    body = [(f, p) for f, p in body if f != b"EXIF"]
    # Order per the container spec: ..., image data, EXIF, XMP, unknown chunks.
    xmp_at = next((i for i, (f, _) in enumerate(body) if f == b"XMP "), len(body))
    body.insert(xmp_at, (b"EXIF", exif))

    riff_body = b"WEBP" + _riff_chunk(b"VP8X", bytes(vp8x))
    riff_body += b"".join(_riff_chunk(f, p) for f, p in body)
    return b"RIFF" + struct.pack("<I", len(riff_body)) + riff_body + trailer
