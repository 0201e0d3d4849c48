"""What only S3 does: the key prefix, multipart uploads, a reader that streams and
resumes, presigned URLs, and errors that say what to fix (moto in server mode)."""

from __future__ import annotations

import io
import logging
import os
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError, ResponseStreamingError
from botocore.model import OperationModel

from bananabatch.errors import NotFound, ValidationFailed
from bananabatch.storage.base import StorageUnavailable, Usage
from bananabatch.storage.s3 import S3Storage
from bananabatch.storage.s3_errors import S3Place, storage_error
from tests.fakes.s3_server import (
    PREFIX,
    REGION,
    SECRET_KEY,
    S3Bucket,
    presigned_signature_matches,
)
from tests.integration.test_storage_contract import OneWayStream

MiB = 1024 * 1024


def small_parts() -> TransferConfig:
    """Multipart from 5 MiB (S3's smallest part), two parts at a time."""
    config = TransferConfig(
        multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2
    )
    config.max_in_memory_upload_chunks = 2
    return config


def test_keys_live_under_the_prefix(s3_storage: S3Storage, s3_bucket: S3Bucket) -> None:
    s3_storage.put_bytes("outputs/j1/a.png", b"a")
    assert s3_bucket.raw_keys() == [f"{PREFIX}/outputs/j1/a.png"]
    other = S3Storage(s3_bucket.name, prefix="other/", endpoint_url=s3_bucket.endpoint_url)
    assert other.prefix == "other"
    assert list(other.iter_keys("")) == []
    assert not other.exists("outputs/j1/a.png")
    unprefixed = S3Storage(s3_bucket.name, endpoint_url=s3_bucket.endpoint_url)
    assert list(unprefixed.iter_keys("")) == [f"{PREFIX}/outputs/j1/a.png"]


def test_objects_get_a_content_type(s3_storage: S3Storage, s3_bucket: S3Bucket) -> None:
    s3_storage.put_bytes("outputs/j1/a.png", b"a")
    s3_storage.put_file("thumbs/ab/t.webp", io.BytesIO(b"t"))
    head = s3_bucket.client.head_object
    assert head(Bucket=s3_bucket.name, Key=f"{PREFIX}/outputs/j1/a.png")["ContentType"] == (
        "image/png"
    )
    assert head(Bucket=s3_bucket.name, Key=f"{PREFIX}/thumbs/ab/t.webp")["ContentType"] == (
        "image/webp"
    )


def test_iter_keys_pages_and_skips_foreign_keys(
    s3_storage: S3Storage, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_storage, "list_page_size", 10)
    for i in range(25):
        s3_bucket.client.put_object(
            Bucket=s3_bucket.name, Key=f"{PREFIX}/outputs/j1/{i:04d}.png", Body=b""
        )
    for foreign in ("outputs/j1/", "outputs/j1//x.png"):  # a folder marker, a bad key
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=f"{PREFIX}/{foreign}", Body=b"")
    requests: list[str] = []
    s3_storage._client.meta.events.register(
        "before-call.s3.ListObjectsV2", lambda **kw: requests.append("list")
    )
    keys = list(s3_storage.iter_keys("outputs/j1"))
    assert keys == [f"outputs/j1/{i:04d}.png" for i in range(25)]
    assert len(requests) == 3


# ------------------------------------------------------------------ deletes


def count_requests(store: S3Storage) -> Counter[str]:
    """Every S3 operation `store` calls from now on, by name."""
    calls: Counter[str] = Counter()

    def count(model: OperationModel, **_: Any) -> None:
        calls[model.name] += 1

    store._client.meta.events.register("before-call.s3", count)
    return calls


def refuse_to_delete(store: S3Storage, key: str) -> None:
    """S3 answers DeleteObjects 200 and lists the keys it refused (a legal hold, a
    bucket policy); moto never does, so its answer is amended as botocore parses it."""

    def refuse(parsed: dict[str, Any], **_: Any) -> None:
        parsed["Errors"] = [
            {"Key": f"{PREFIX}/{key}", "Code": "AccessDenied", "Message": "Access Denied"}
        ]

    store._client.meta.events.register("after-call.s3.DeleteObjects", refuse)


def test_discard_deletes_in_batches_without_a_head_per_key(
    s3_storage: S3Storage, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bananabatch.storage.s3.DELETE_BATCH", 10)
    keys = [f"outputs/j1/{i:04d}.png" for i in range(25)]
    for key in [*keys, "outputs/j1/kept.png"]:
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=f"{PREFIX}/{key}", Body=b"x")
    calls = count_requests(s3_storage)
    s3_storage.discard([*keys, "outputs/j1/missing.png"])
    assert calls == Counter({"DeleteObjects": 3})  # 26 keys, 10 a request; no HEAD
    assert s3_bucket.raw_keys() == [f"{PREFIX}/outputs/j1/kept.png"]


def test_discard_raises_when_s3_refuses_a_key(s3_storage: S3Storage) -> None:
    s3_storage.put_bytes("outputs/j1/a.png", b"a")
    s3_storage.put_bytes("outputs/j1/held.png", b"h")
    refuse_to_delete(s3_storage, "outputs/j1/held.png")
    with pytest.raises(StorageUnavailable) as info:
        s3_storage.discard(["outputs/j1/a.png", "outputs/j1/held.png"])
    assert "1 object(s) were not deleted (first: outputs/j1/held.png)" in info.value.message
    assert "s3:DeleteObject" in info.value.message
    assert info.value.details == {"reason": "access_denied", "not_deleted": ["outputs/j1/held.png"]}


def test_delete_many_logs_and_leaves_out_what_s3_refused(
    s3_storage: S3Storage, caplog: pytest.LogCaptureFixture
) -> None:
    s3_storage.put_bytes("outputs/j1/a.png", b"aa")
    s3_storage.put_bytes("outputs/j1/held.png", b"hhh")
    refuse_to_delete(s3_storage, "outputs/j1/held.png")
    with caplog.at_level(logging.WARNING, logger="bananabatch.storage.s3"):
        freed = s3_storage.delete_many(["outputs/j1/a.png", "outputs/j1/held.png"])
    assert freed == Usage(files=1, bytes=2)
    assert f"refused to delete 1 object(s): ['{PREFIX}/outputs/j1/held.png']" in caplog.text


def test_put_file_uses_multipart_and_completes(s3_bucket: S3Bucket) -> None:
    store = S3Storage(s3_bucket.name, endpoint_url=s3_bucket.endpoint_url, transfer=small_parts())
    data = os.urandom(12 * MiB + 5)
    assert store.put_file("big.bin", io.BufferedReader(OneWayStream(data))) == len(data)
    etag = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key="big.bin")["ETag"]
    assert etag.strip('"').endswith("-3")  # three parts
    assert store.get_bytes("big.bin") == data


def test_a_failed_multipart_upload_is_aborted(s3_bucket: S3Bucket) -> None:
    store = S3Storage(s3_bucket.name, endpoint_url=s3_bucket.endpoint_url, transfer=small_parts())
    store.put_bytes("big.bin", b"previous")
    broken = io.BufferedReader(OneWayStream(os.urandom(16 * MiB), fail_after=11 * MiB))
    with pytest.raises(OSError, match="went away"):
        store.put_file("big.bin", broken)
    assert store.get_bytes("big.bin") == b"previous"
    uploads = s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name)
    assert uploads.get("Uploads", []) == []  # no parts left behind to pay for


def test_reader_resumes_a_broken_stream(
    s3_storage: S3Storage, caplog: pytest.LogCaptureFixture
) -> None:
    data = os.urandom(3 * MiB)
    s3_storage.put_bytes("outputs/j1/o.png", data)
    with s3_storage.open("outputs/j1/o.png") as fh:
        first = fh.read(MiB)
        raw = fh.raw  # type: ignore[attr-defined]
        body = raw._body
        calls = 0

        def broken_read(amt: int | None = None) -> bytes:
            nonlocal calls
            calls += 1
            raise ResponseStreamingError(error="connection reset by peer")

        body.read = broken_read
        with caplog.at_level(logging.WARNING):
            rest = fh.read()
    assert calls == 1
    assert first + rest == data
    assert "resuming" in caplog.text


def test_reader_never_splices_a_replaced_object(s3_storage: S3Storage) -> None:
    s3_storage.put_bytes("outputs/j1/o.png", os.urandom(2 * MiB))
    with s3_storage.open("outputs/j1/o.png") as fh:
        fh.read(1000)
        s3_storage.put_bytes("outputs/j1/o.png", os.urandom(2 * MiB))
        fh.seek(MiB)  # the next read is a ranged GET with If-Match on the first ETag
        with pytest.raises(StorageUnavailable, match="replaced in S3 while it was being read"):
            fh.read(10)


def test_presigned_get_is_plain_http(s3_storage: S3Storage) -> None:
    s3_storage.put_bytes("outputs/j1/o.png", b"image bytes")
    url = s3_storage.presign_get("outputs/j1/o.png", 900)
    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["900"]
    assert urlsplit(url).path.endswith(f"/{PREFIX}/outputs/j1/o.png")
    assert SECRET_KEY not in url
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == b"image bytes"
    assert presigned_signature_matches(url, "GET", {})
    assert not presigned_signature_matches(url.replace("o.png", "p.png"), "GET", {})


def test_presigned_put_then_get_round_trip(s3_storage: S3Storage, s3_bucket: S3Bucket) -> None:
    put_url = s3_storage.presign_put("outputs/j1/up.png", "image/png", 900)
    assert put_url is not None
    signed = parse_qs(urlsplit(put_url).query)["X-Amz-SignedHeaders"][0].split(";")
    assert "content-type" in signed
    r = httpx.put(put_url, content=b"\x89PNG uploaded", headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    assert s3_storage.get_bytes("outputs/j1/up.png") == b"\x89PNG uploaded"
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=f"{PREFIX}/outputs/j1/up.png")
    assert head["ContentType"] == "image/png"
    get_url = s3_storage.presign_get("outputs/j1/up.png", 900)
    assert get_url is not None
    assert httpx.get(get_url).content == b"\x89PNG uploaded"


def test_presigned_put_binds_the_content_type(s3_storage: S3Storage) -> None:
    """S3 answers SignatureDoesNotMatch when another Content-Type is sent. moto does not
    verify presigned signatures, so the check is the signature S3 would compute."""
    url = s3_storage.presign_put("outputs/j1/up.png", "image/png", 900)
    assert url is not None
    assert presigned_signature_matches(url, "PUT", {"Content-Type": "image/png"})
    assert not presigned_signature_matches(url, "PUT", {"Content-Type": "image/jpeg"})
    assert not presigned_signature_matches(url, "PUT", {})  # the header is required
    assert not presigned_signature_matches(url, "GET", {"Content-Type": "image/png"})
    with pytest.raises(ValueError, match="content type"):
        s3_storage.presign_put("outputs/j1/up.png", "image/png\r\nX-Evil: 1", 900)


# ------------------------------------------------------------------ errors


def test_missing_bucket_says_which_setting(s3_bucket: S3Bucket) -> None:
    store = S3Storage("bb-no-such-bucket", endpoint_url=s3_bucket.endpoint_url)
    with pytest.raises(StorageUnavailable, match=r"does not exist.*BANANABATCH_S3_BUCKET"):
        store.check()
    with pytest.raises(StorageUnavailable, match="does not exist"):
        store.get_bytes("outputs/j1/a.png")  # NoSuchBucket is not a missing key
    assert store.health() == {
        "kind": "s3",
        "bucket": "bb-no-such-bucket",
        "ok": False,
        "error": "no_bucket",
    }


def test_unreachable_endpoint_says_which_setting(s3_bucket: S3Bucket) -> None:
    store = S3Storage(s3_bucket.name, endpoint_url="http://user:pw-secret@127.0.0.1:1")
    with pytest.raises(StorageUnavailable) as info:
        store.check()
    assert "Cannot reach the S3 endpoint http://127.0.0.1:1" in info.value.message
    assert "BANANABATCH_S3_ENDPOINT_URL" in info.value.message
    assert "pw-secret" not in info.value.message
    assert store.health()["error"] == "unreachable"


def test_missing_credentials_say_what_to_set(
    s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = S3Storage(s3_bucket.name, endpoint_url=s3_bucket.endpoint_url)
    with pytest.raises(StorageUnavailable, match=r"No S3 credentials.*AWS_ACCESS_KEY_ID"):
        store.check()
    with pytest.raises(StorageUnavailable, match="No S3 credentials"):
        store.presign_get("outputs/j1/a.png", 60)
    assert store.health()["error"] == "no_credentials"


@pytest.mark.parametrize(
    ("code", "status", "reason", "words"),
    [
        ("InvalidAccessKeyId", 403, "bad_credentials", "refused the credentials"),
        ("SignatureDoesNotMatch", 403, "bad_credentials", "AWS_SECRET_ACCESS_KEY"),
        ("AccessDenied", 403, "access_denied", "s3:PutObject"),
        ("403", 403, "access_denied", "denied"),
        ("PermanentRedirect", 301, "wrong_region", "BANANABATCH_S3_REGION"),
        ("SlowDown", 503, "error", "try again later"),
    ],
)
def test_service_errors_become_actionable_messages(
    code: str, status: int, reason: str, words: str
) -> None:
    exc = ClientError(
        {
            "Error": {"Code": code, "Message": f"AKIA-LEAK {SECRET_KEY}"},
            "ResponseMetadata": {
                "HTTPStatusCode": status,
                "HTTPHeaders": {"x-amz-bucket-region": "eu-west-3"},
            },
        },
        "PutObject",
    )
    error = storage_error(exc, S3Place("photos", None, "us-east-1"), "PutObject", "a/b.png")
    assert isinstance(error, StorageUnavailable)
    assert error.details == {"reason": reason}
    assert words in error.message
    assert "photos" in error.message
    assert "AKIA-LEAK" not in error.message and SECRET_KEY not in error.message
    if reason == "wrong_region":
        assert "eu-west-3" in error.message


def test_a_missing_key_is_not_found_not_an_outage() -> None:
    exc = ClientError(
        {"Error": {"Code": "404", "Message": "Not Found"}, "ResponseMetadata": {}}, "HeadObject"
    )
    error = storage_error(exc, S3Place("photos", None, None), "HeadObject", "a/b.png")
    assert isinstance(error, NotFound) and error.message == "no such object: a/b.png"


@pytest.mark.parametrize("prefix", ["a/../b", "a//b", "."])
def test_bad_prefix_setting_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationFailed, match="BANANABATCH_S3_PREFIX"):
        S3Storage("photos", prefix=prefix, endpoint_url="http://127.0.0.1:1", region=REGION)
