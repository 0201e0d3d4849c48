"""Client-supplied relative paths: normalised when usable, refused with a reason when not."""

from __future__ import annotations

import unicodedata

import pytest

from bananabatch.errors import BadUpload
from bananabatch.ingest.paths import (
    MAX_PATH_CHARS,
    UnsafePath,
    common_root,
    is_ignored_path,
    safe_relative_path,
    strip_root,
    top_folder,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("cat/001.jpg", "cat/001.jpg"),
        ("001.jpg", "001.jpg"),
        ("./cat/001.jpg", "cat/001.jpg"),
        ("././cat/001.jpg", "cat/001.jpg"),
        ("cat/./001.jpg", "cat/001.jpg"),
        ("cat\\001.jpg", "cat/001.jpg"),
        (".\\cat\\sub\\001.jpg", "cat/sub/001.jpg"),
        ("my photos/summer day (1).jpg", "my photos/summer day (1).jpg"),
        (" leading and trailing .jpg", " leading and trailing .jpg"),
        ("日本/写真 3.jpg", "日本/写真 3.jpg"),
        ("emoji 🍌/banana.png", "emoji 🍌/banana.png"),
        ("a..b/c..jpg", "a..b/c..jpg"),  # dots inside a name are not '..'
        ("dir.with.dots/x", "dir.with.dots/x"),
    ],
)
def test_safe_relative_path_normalises(raw: str, expected: str) -> None:
    assert safe_relative_path(raw) == expected


def test_nfd_names_become_nfc() -> None:
    nfc = "café/ñandú 01.jpg"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert safe_relative_path(nfd) == nfc


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "no name"),
        ("../evil.jpg", "'..'"),
        ("cat/../../evil.jpg", "'..'"),
        ("cat/..", "'..'"),
        ("..\\evil.jpg", "'..'"),
        ("/etc/passwd", "absolute"),
        ("\\\\server\\share\\x.jpg", "absolute"),
        ("\\windows\\x.jpg", "absolute"),
        ("C:/Windows/x.jpg", "drive letter"),
        ("c:x.jpg", "drive letter"),
        ("D:\\x.jpg", "drive letter"),
        ("cat\x00.jpg", "control characters"),
        ("cat/\n001.jpg", "control characters"),
        ("cat/\t001.jpg", "control characters"),
        ("cat/\x7f.jpg", "control characters"),
        ("cat//001.jpg", "empty folder name"),
        ("cat/", "folder, not a file"),
        (".", "folder, not a file"),
        ("./", "folder, not a file"),
        ("cat/.", "folder, not a file"),
        ("x" * 300 + ".jpg", "longer than 255 bytes"),
        ("/".join(["abcdefghij"] * 100) + "/x.jpg", f"limit is {MAX_PATH_CHARS}"),
    ],
)
def test_safe_relative_path_rejects(raw: str, why: str) -> None:
    with pytest.raises(UnsafePath) as info:
        safe_relative_path(raw)
    assert why in info.value.message
    assert isinstance(info.value, BadUpload)
    assert info.value.code == "unsafe_path"


def test_long_path_message_is_shortened() -> None:
    with pytest.raises(UnsafePath) as info:
        safe_relative_path("../" + "a" * 5000)
    assert len(info.value.message) < 400


@pytest.mark.parametrize(
    "path",
    [
        "__MACOSX/cat/._001.jpg",
        "cat/._001.jpg",
        ".DS_Store",
        "cat/.DS_Store",
        ".git/config",
        "cat/.hidden/001.jpg",
        "Thumbs.db",
        "cat/thumbs.DB",
        "dog/desktop.ini",
        "dog/Desktop.ini",
    ],
)
def test_ignored_paths(path: str) -> None:
    assert is_ignored_path(path)


@pytest.mark.parametrize(
    "path", ["cat/001.jpg", "./cat/001.jpg", "cat.dog/x.jpg", "MACOSX/x.jpg", "thumbs.jpg"]
)
def test_not_ignored_paths(path: str) -> None:
    assert not is_ignored_path(path)


def test_top_folder() -> None:
    assert top_folder("cat/001.jpg") == "cat"
    assert top_folder("cat/sub/001.jpg") == "cat"
    assert top_folder("001.jpg") == ""


def test_common_root() -> None:
    assert common_root(["dataset/cat/1.jpg", "dataset/dog/2.jpg"]) == "dataset"
    assert common_root(["dataset/1.jpg", "dataset/2.jpg"]) is None  # a single class folder is kept
    assert common_root(["cat/1.jpg", "dog/2.jpg"]) is None
    assert common_root(["dataset/cat/1.jpg", "loose.jpg"]) is None
    assert common_root([]) is None
    assert strip_root("dataset/cat/1.jpg", "dataset") == "cat/1.jpg"
    assert strip_root("cat/1.jpg", None) == "cat/1.jpg"
    assert strip_root("datasetX/1.jpg", "dataset") == "datasetX/1.jpg"
