"""Names of things inside an export archive.

Automatic mode mirrors the dataset (`cat/001.jpg` -> `cat/001__v1.png`) so the
augmented set drops in beside the original; semi-automatic mode groups by
batch and run (`01-a-red-car/run-003/image-2.png`). Zero-padded counters keep
archive listings in order.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Callable

from bananabatch.errors import ValidationFailed

_FORMAT_EXT = {"png": "png", "jpeg": "jpg", "jpg": "jpg", "webp": "webp"}
_NON_SLUG = re.compile(r"[^a-z0-9]+")
FALLBACK_SLUG = "batch"
# Latin letters that Unicode decomposition does not reduce to ASCII.
_TRANSLITERATE = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "ø": "o",
        "Ø": "o",
        "œ": "oe",
        "Œ": "oe",
        "đ": "d",
        "Đ": "d",
        "ł": "l",
        "Ł": "l",
        "þ": "th",
        "Þ": "th",
        "ð": "d",
        "Ð": "d",
    }
)


def slugify(text: str, max_len: int = 40) -> str:
    """A lowercase ASCII slug for folder and file names: "A Red Car!" -> "a-red-car".

    Accents are folded ("Café" -> "cafe"); text with no usable characters gives
    "batch", so a name is never empty. Cut at a word boundary when one is near.
    """
    folded = (
        unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    slug = _NON_SLUG.sub("-", folded.lower()).strip("-")
    limit = max(1, max_len)
    if len(slug) > limit:
        cut = slug[:limit]
        boundary = cut.rfind("-")
        slug = cut[:boundary] if boundary >= limit // 2 else cut
        slug = slug.strip("-")
    return slug or FALLBACK_SLUG


def normalize_rel_path(rel_path: str) -> str:
    """A dataset path as stored: '/' separators, no leading './' or '/', no empty parts."""
    parts = [p for p in rel_path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def _split(rel_path: str) -> tuple[str, str, str]:
    """(directory, stem, extension without dot) of a normalised relative path."""
    path = normalize_rel_path(rel_path)
    directory, filename = posixpath.split(path)
    stem, ext = posixpath.splitext(filename)
    return directory, stem, ext.lstrip(".")


def automatic_output_name(
    rel_path: str, variation: int, ext: str, *, keep_source_ext: bool = False
) -> str:
    """`cat/001.jpg`, 1, "png" -> `cat/001__v1.png`.

    `keep_source_ext` folds the source extension into the name (`cat/001_jpg__v1.png`),
    for datasets holding both `001.jpg` and `001.png` in one folder.
    """
    return automatic_output_namer(rel_path, ext, keep_source_ext=keep_source_ext)(variation)


def automatic_output_namer(
    rel_path: str, ext: str, *, keep_source_ext: bool = False
) -> Callable[[int], str]:
    """`automatic_output_name` for one source, its path split once for all variations."""
    directory, stem, src_ext = _split(rel_path)
    if keep_source_ext and src_ext:
        stem = f"{stem}_{src_ext}"
    prefix = f"{directory}/{stem}" if directory else stem
    suffix = ext.lstrip(".")

    def name(variation: int) -> str:
        if variation < 1:
            raise ValueError("variation is 1-based")
        return f"{prefix}__v{variation}.{suffix}"

    return name


def semi_auto_batch_folder(batch_position: int, batch_slug: str) -> str:
    """`0`, "a-red-car" -> `01-a-red-car`: the position keeps equal prompts apart."""
    return f"{batch_position + 1:02d}-{batch_slug or FALLBACK_SLUG}"


def semi_auto_output_name(
    batch_position: int, batch_slug: str, run_index: int, image_index: int, ext: str
) -> str:
    """`0, "a-red-car", 2, 1, "png"` -> `01-a-red-car/run-003/image-2.png` (all 0-based in)."""
    folder = semi_auto_batch_folder(batch_position, batch_slug)
    return f"{folder}/run-{run_index + 1:03d}/image-{image_index + 1}.{ext.lstrip('.')}"


def original_archive_name(rel_path: str) -> str:
    """Where an original goes when exported beside its variations: its own path."""
    return normalize_rel_path(rel_path)


def ext_for_format(fmt: str) -> str:
    """File extension for an output format: "png" -> "png", "jpeg" -> "jpg", "webp" -> "webp"."""
    key = fmt.strip().lower().lstrip(".")
    try:
        return _FORMAT_EXT[key]
    except KeyError:
        raise ValidationFailed(
            f"Unsupported output format {fmt!r}; choose png, jpeg or webp."
        ) from None
