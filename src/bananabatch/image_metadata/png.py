"""PNG: `tEXt` chunks (`iTXt` when a value is not Latin-1) inserted before the first
`IDAT`; existing text chunks with the same keywords are replaced."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

from bananabatch.image_metadata.format import PNG_SIGNATURE, Malformed, logger

_MAX_TEXT_BYTES = 1024 * 1024  # a compressed text chunk may not inflate beyond this


def _png_chunk(ctype: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(ctype + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", crc)


def _png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of every chunk up to and including IEND."""
    if not data.startswith(PNG_SIGNATURE):
        raise Malformed("no PNG signature")
    chunks: list[tuple[bytes, int, int]] = []
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise Malformed("PNG ends before IEND")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise Malformed(f"PNG chunk {ctype!r} runs past the end of the data")
        chunks.append((ctype, pos, end))
        pos = end
        if ctype == b"IEND":
            break
    if chunks[0][0] != b"IHDR":
        raise Malformed("PNG does not start with IHDR")
    if not any(c[0] == b"IDAT" for c in chunks):
        raise Malformed("PNG has no IDAT")
    return chunks


def _png_keyword(key: str) -> bytes | None:
    """A valid PNG keyword (1-79 printable Latin-1 bytes, single inner spaces) or None."""
    try:
        raw = key.encode("latin-1")
    except UnicodeEncodeError:
        return None
    ok = (
        0 < len(raw) < 80
        and all(32 <= b <= 126 or b >= 161 for b in raw)
        and not raw.startswith(b" ")
        and not raw.endswith(b" ")
        and b"  " not in raw
    )
    return raw if ok else None


def _png_text_chunk(keyword: bytes, value: str) -> bytes:
    try:
        return _png_chunk(b"tEXt", keyword + b"\x00" + value.encode("latin-1"))
    except UnicodeEncodeError:
        # iTXt: keyword, NUL, compression flag, method, language tag NUL, translated NUL, text.
        payload = keyword + b"\x00\x00\x00\x00\x00" + value.encode("utf-8")
        return _png_chunk(b"iTXt", payload)


def png_embed(data: bytes, meta: Mapping[str, str]) -> bytes:
    chunks = _png_chunks(data)
    new_chunks: list[bytes] = []
    keywords: set[bytes] = set()
    for key, value in meta.items():
        keyword = _png_keyword(key)
        if keyword is None:
            logger.warning("skipping metadata key %r: not a valid PNG keyword", key)
            continue
        keywords.add(keyword)
        new_chunks.append(_png_text_chunk(keyword, value))

    out = bytearray(data[: len(PNG_SIGNATURE)])
    inserted = False
    for ctype, start, end in chunks:
        if ctype in (b"tEXt", b"iTXt", b"zTXt"):
            keyword = data[start + 8 : end - 4].split(b"\x00", 1)[0]
            if keyword in keywords:
                continue  # replaced by the new value
        if ctype == b"IDAT" and not inserted:
            out += b"".join(new_chunks)
            inserted = True
        out += data[start:end]
    out += data[chunks[-1][2] :]  # anything after IEND, verbatim
    return bytes(out)


def _inflate_text(payload: bytes) -> bytes:
    inflater = zlib.decompressobj()
    text = inflater.decompress(payload, _MAX_TEXT_BYTES)
    if inflater.unconsumed_tail:
        raise Malformed("compressed PNG text chunk is too large")
    return text


def png_read(data: bytes) -> dict[str, str]:
    result: dict[str, str] = {}
    for ctype, start, end in _png_chunks(data):
        payload = data[start + 8 : end - 4]
        if ctype == b"tEXt":
            key, _, text = payload.partition(b"\x00")
            result[key.decode("latin-1")] = text.decode("latin-1")
        elif ctype == b"zTXt":
            key, _, rest = payload.partition(b"\x00")
            result[key.decode("latin-1")] = _inflate_text(rest[1:]).decode("latin-1")
        elif ctype == b"iTXt":
            key, _, rest = payload.partition(b"\x00")
            compressed = rest[0] == 1
            _lang, _, rest = rest[2:].partition(b"\x00")
            _translated, _, text = rest.partition(b"\x00")
            raw = _inflate_text(text) if compressed else text
            result[key.decode("latin-1")] = raw.decode("utf-8", "replace")
    return result
