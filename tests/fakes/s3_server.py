"""S3 for tests: moto in server mode on 127.0.0.1, reached over real HTTP by boto3.

Fixtures (registered in `tests/conftest.py`):

* `moto_s3` (session): a `moto.server.ThreadedMotoServer` on a free port; its URL.
* `s3_bucket`: dummy AWS credentials in the environment (monkeypatch; shared
  config files and instance metadata switched off so nothing real is read), and
  a fresh, empty bucket on `moto_s3`, emptied and removed afterwards.
* `s3_storage`: an `S3Storage` on that bucket under the prefix `bb`.
* `s3_settings`: the `settings` fixture pointed at that bucket (`s3_*`).
* `moto_s3_process` (session): moto's server in a child process instead, for
  memory measurements, where an in-process server's own copy of every object
  would count against the client.

moto does not check signatures of presigned URLs (any signature passes), so
`presigned_signature_matches` recomputes the SigV4 query signature the way S3
does, to show what a real S3 would accept or refuse.

Test infrastructure only, never a product path.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from tests.procs import die_with_parent

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from bananabatch.config import Settings
    from bananabatch.storage.s3 import S3Storage

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key-never-shown"
REGION = "us-east-1"
PREFIX = "bb"


def raw_client(endpoint_url: str) -> S3Client:
    """A plain boto3 client on the fake, for setting up and inspecting buckets."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@dataclass
class S3Bucket:
    endpoint_url: str
    name: str
    region: str
    client: S3Client

    def raw_keys(self) -> list[str]:
        """Every key in the bucket, prefix included."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def empty(self) -> None:
        keys = self.raw_keys()
        for i in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[i : i + 1000]]
            self.client.delete_objects(Bucket=self.name, Delete={"Objects": batch, "Quiet": True})
        uploads = self.client.list_multipart_uploads(Bucket=self.name).get("Uploads", [])
        for up in uploads:
            self.client.abort_multipart_upload(
                Bucket=self.name, Key=up["Key"], UploadId=up["UploadId"]
            )


def set_dummy_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only our dummy keys: no profile, no ~/.aws files, no instance metadata lookups."""
    for var in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """A moto S3 server in this process, on 127.0.0.1 and a free port; yields its URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _bucket_on(
    endpoint_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[S3Bucket]:
    set_dummy_credentials(monkeypatch, tmp_path)
    client = raw_client(endpoint_url)
    name = f"bb-test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    bucket = S3Bucket(endpoint_url=endpoint_url, name=name, region=REGION, client=client)
    yield bucket
    bucket.empty()
    client.delete_bucket(Bucket=name)


@pytest.fixture
def s3_bucket(moto_s3: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[S3Bucket]:
    """A fresh empty bucket on `moto_s3`, with dummy credentials in the environment."""
    yield from _bucket_on(moto_s3, monkeypatch, tmp_path)


@pytest.fixture
def s3_storage(s3_bucket: S3Bucket) -> S3Storage:
    from bananabatch.storage.s3 import S3Storage

    return S3Storage(
        s3_bucket.name, prefix=PREFIX, endpoint_url=s3_bucket.endpoint_url, region=REGION
    )


@pytest.fixture
def s3_settings(settings: Settings, s3_bucket: S3Bucket) -> Settings:
    """The test settings with storage in `s3_bucket` under the prefix `bb`."""
    return settings.model_copy(
        update={
            "s3_bucket": s3_bucket.name,
            "s3_endpoint_url": s3_bucket.endpoint_url,
            "s3_prefix": PREFIX,
            "s3_region": REGION,
        }
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def moto_process() -> Iterator[str]:
    """moto's S3 server as a child process on 127.0.0.1 (dies with us); yields its URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(f"{url}/moto-api/", timeout=1.0)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def moto_s3_process() -> Iterator[str]:
    """moto's S3 server in a child process, for memory measurements; yields its URL."""
    with moto_process() as url:
        yield url


@pytest.fixture
def s3_process_bucket(
    moto_s3_process: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[S3Bucket]:
    """Like `s3_bucket`, on the out-of-process server."""
    yield from _bucket_on(moto_s3_process, monkeypatch, tmp_path)


def presigned_signature_matches(
    url: str, method: str, headers: Mapping[str, str], *, secret_key: str = SECRET_KEY
) -> bool:
    """Would S3 accept this request to a SigV4 presigned `url`? Recomputes the query
    signature over `method`, the URL and the signed headers as sent."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    _access, _date, region, service, _ = params["X-Amz-Credential"].split("/")
    signed = params["X-Amz-SignedHeaders"].split(";")
    unsigned_query = urlencode(
        [(k, v) for k, v in query if k != "X-Amz-Signature"], quote_via=quote
    )
    sent = {"host": parts.netloc, **{k.lower(): v for k, v in headers.items()}}
    request = AWSRequest(
        method=method,
        url=urlunsplit(parts._replace(query=unsigned_query)),
        headers={k: v for k, v in sent.items() if k in signed},
    )
    request.context["timestamp"] = params["X-Amz-Date"]
    auth: Any = S3SigV4QueryAuth(
        Credentials(_access, secret_key), service, region, expires=int(params["X-Amz-Expires"])
    )
    canonical = auth.canonical_request(request)
    expected: str = auth.signature(auth.string_to_sign(request, canonical), request)
    return expected == params["X-Amz-Signature"] and all(h in sent for h in signed)


__all__ = [
    "ACCESS_KEY",
    "PREFIX",
    "REGION",
    "SECRET_KEY",
    "S3Bucket",
    "moto_process",
    "presigned_signature_matches",
    "raw_client",
    "set_dummy_credentials",
]
