"""Choosing S3 storage from the settings, and refusing to start, in words, when the
bucket cannot be used (moto in server mode)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bananabatch.cli import EXIT_BAD_INPUT, app
from bananabatch.config import Settings, get_settings
from bananabatch.errors import ServiceUnavailable
from bananabatch.runtime import build_runtime, build_storage
from bananabatch.storage.local import LocalStorage
from bananabatch.storage.s3 import S3Storage
from tests.fakes.s3_server import PREFIX, SECRET_KEY, S3Bucket


def test_no_bucket_means_local_storage(settings: Settings) -> None:
    assert isinstance(build_storage(settings), LocalStorage)
    blank = settings.model_copy(update={"s3_bucket": "  "})
    assert isinstance(build_storage(blank), LocalStorage)


def test_a_bucket_means_s3_storage(s3_settings: Settings, s3_bucket: S3Bucket) -> None:
    rt = build_runtime(s3_settings)
    try:
        assert isinstance(rt.storage, S3Storage)
        assert rt.storage.bucket == s3_bucket.name and rt.storage.prefix == PREFIX
        rt.storage.put_bytes("outputs/j/o.png", b"x")
        assert s3_bucket.raw_keys() == [f"{PREFIX}/outputs/j/o.png"]
        assert not (s3_settings.data_dir / "store").exists()
    finally:
        rt.engine.dispose()


@pytest.mark.parametrize(
    ("update", "words"),
    [
        ({"s3_bucket": "bb-missing-bucket"}, "does not exist"),
        ({"s3_endpoint_url": "http://127.0.0.1:1"}, "Cannot reach the S3 endpoint"),
    ],
)
def test_unusable_bucket_stops_the_start(
    s3_settings: Settings, update: dict[str, str], words: str
) -> None:
    with pytest.raises(ServiceUnavailable, match=words):
        build_runtime(s3_settings.model_copy(update=update))
    assert not Path(s3_settings.resolved_database_url.removeprefix("sqlite:///")).exists()


@pytest.fixture
def s3_cli_env(
    s3_bucket: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[S3Bucket]:
    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "RUNPOD_API_KEY", "RUNPOD_ENDPOINT_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BANANABATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BANANABATCH_S3_BUCKET", s3_bucket.name)
    monkeypatch.setenv("BANANABATCH_S3_ENDPOINT_URL", s3_bucket.endpoint_url)
    get_settings.cache_clear()
    yield s3_bucket
    get_settings.cache_clear()


def test_cli_works_on_s3(s3_cli_env: S3Bucket) -> None:
    result = CliRunner().invoke(app, ["jobs", "list"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("env", "unset", "words"),
    [
        ({"BANANABATCH_S3_BUCKET": "bb-missing-bucket"}, (), "does not exist"),
        (
            {"BANANABATCH_S3_ENDPOINT_URL": "http://127.0.0.1:1"},
            (),
            "BANANABATCH_S3_ENDPOINT_URL",
        ),
        ({}, ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), "AWS_ACCESS_KEY_ID"),
    ],
    ids=["no-bucket", "unreachable", "no-credentials"],
)
@pytest.mark.parametrize("command", [["jobs", "list"], ["serve", "--port", "1"]])
def test_cli_start_errors_are_one_clear_line(
    s3_cli_env: S3Bucket,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    unset: tuple[str, ...],
    words: str,
    command: list[str],
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in unset:
        monkeypatch.delenv(key)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, command)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    text = " ".join(result.output.split())
    assert words in text
    assert "Traceback" not in text and SECRET_KEY not in text
