"""Archive names: slugs, mirrored automatic names, semi-auto run folders."""

from __future__ import annotations

import pytest

from bananabatch.domain.naming import (
    automatic_output_name,
    ext_for_format,
    normalize_rel_path,
    original_archive_name,
    semi_auto_batch_folder,
    semi_auto_output_name,
    slugify,
)
from bananabatch.errors import ValidationFailed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A Red Car!", "a-red-car"),
        ("  spaced   out  ", "spaced-out"),
        ("Café au lait", "cafe-au-lait"),
        ("Straße 42", "strasse-42"),
        ("Smørrebrød Łódź", "smorrebrod-lodz"),
        ("a {red|blue} car", "a-red-blue-car"),
        ("under_score.and.dots", "under-score-and-dots"),
        ("猫の写真", "batch"),
        ("", "batch"),
        ("!!!", "batch"),
        ("---a---", "a"),
        ("ÅÉÎÕÜ", "aeiou"),
    ],
)
def test_slugify(text: str, expected: str) -> None:
    assert slugify(text) == expected


def test_slugify_cuts_long_text_at_a_word_boundary() -> None:
    slug = slugify("a very long prompt about a red car driving through the rain at night")
    assert len(slug) <= 40
    assert slug == "a-very-long-prompt-about-a-red-car"
    assert not slug.endswith("-")


def test_slugify_cuts_one_long_word_hard() -> None:
    assert slugify("x" * 100) == "x" * 40
    assert slugify("abc", max_len=2) == "ab"
    assert slugify("ab cd", max_len=3) == "ab"


@pytest.mark.parametrize(
    ("rel_path", "variation", "ext", "expected"),
    [
        ("cat/001.jpg", 1, "png", "cat/001__v1.png"),
        ("cat/001.jpg", 12, "jpg", "cat/001__v12.jpg"),
        ("001.jpeg", 3, "webp", "001__v3.webp"),
        ("a/b/c/photo.final.PNG", 2, "png", "a/b/c/photo.final__v2.png"),
        ("cat/no_extension", 1, "png", "cat/no_extension__v1.png"),
        ("cat\\win.jpg", 1, "png", "cat/win__v1.png"),
        ("./cat/x.jpg", 1, ".png", "cat/x__v1.png"),
        ("chats/été 1.jpg", 1, "png", "chats/été 1__v1.png"),
        ("猫/写真.jpg", 4, "png", "猫/写真__v4.png"),
        ("cat/.hidden.jpg", 1, "png", "cat/.hidden__v1.png"),
    ],
)
def test_automatic_output_name(rel_path: str, variation: int, ext: str, expected: str) -> None:
    assert automatic_output_name(rel_path, variation, ext) == expected


def test_automatic_output_name_can_keep_the_source_extension() -> None:
    jpg = automatic_output_name("cat/001.jpg", 1, "png", keep_source_ext=True)
    png = automatic_output_name("cat/001.png", 1, "png", keep_source_ext=True)
    assert (jpg, png) == ("cat/001_jpg__v1.png", "cat/001_png__v1.png")


def test_automatic_output_name_rejects_variation_zero() -> None:
    with pytest.raises(ValueError):
        automatic_output_name("a.jpg", 0, "png")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((0, "a-red-car", 2, 1, "png"), "01-a-red-car/run-003/image-2.png"),
        ((0, "a-red-car", 0, 0, "jpg"), "01-a-red-car/run-001/image-1.jpg"),
        ((9, "x", 249, 3, "webp"), "10-x/run-250/image-4.webp"),
        ((99, "x", 999, 0, "png"), "100-x/run-1000/image-1.png"),
        ((1, "", 0, 0, "png"), "02-batch/run-001/image-1.png"),
    ],
)
def test_semi_auto_output_name(args: tuple[int, str, int, int, str], expected: str) -> None:
    assert semi_auto_output_name(*args) == expected


def test_semi_auto_batch_folder_matches_the_output_prefix() -> None:
    folder = semi_auto_batch_folder(4, "sunset")
    assert folder == "05-sunset"
    assert semi_auto_output_name(4, "sunset", 0, 0, "png").startswith(folder + "/")


@pytest.mark.parametrize(
    ("rel_path", "expected"),
    [
        ("cat/001.jpg", "cat/001.jpg"),
        ("001.jpg", "001.jpg"),
        ("cat\\001.jpg", "cat/001.jpg"),
        ("/cat//./001.jpg", "cat/001.jpg"),
    ],
)
def test_original_archive_name(rel_path: str, expected: str) -> None:
    assert original_archive_name(rel_path) == expected
    assert normalize_rel_path(rel_path) == expected


def test_original_and_variation_names_never_collide() -> None:
    for fmt in ("png", "jpeg", "webp"):
        ext = ext_for_format(fmt)
        for source in ("cat/001.jpg", "cat/001.png", "cat/001.webp"):
            assert original_archive_name(source) != automatic_output_name(source, 1, ext)


@pytest.mark.parametrize(
    ("fmt", "ext"),
    [("png", "png"), ("jpeg", "jpg"), ("jpg", "jpg"), ("webp", "webp"), ("PNG", "png")],
)
def test_ext_for_format(fmt: str, ext: str) -> None:
    assert ext_for_format(fmt) == ext


@pytest.mark.parametrize("fmt", ["gif", "", "tiff"])
def test_ext_for_format_rejects_unknown_formats(fmt: str) -> None:
    with pytest.raises(ValidationFailed, match="png, jpeg or webp"):
        ext_for_format(fmt)
