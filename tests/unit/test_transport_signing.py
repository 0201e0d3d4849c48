"""Signed worker URLs: one key, one direction, limited time; webhook secrets per task."""

from __future__ import annotations

import time

import pytest

from bananabatch.errors import Forbidden
from bananabatch.executors.signing import TransportSigner


def test_no_public_url_means_no_urls() -> None:
    signer = TransportSigner("s3cret", None, 60)
    assert signer.url("outputs/j/o.png", "put") is None
    assert signer.webhook_url("t1") is None


def test_a_token_grants_one_key_in_one_direction() -> None:
    signer = TransportSigner("s3cret", "https://bb.example.com/", 60)
    url = signer.url("refs/ab/abc.png", "get")
    assert url is not None and url.startswith("https://bb.example.com/api/v1/transport/get/")
    token = url.rsplit("/", 1)[-1]
    assert signer.verify(token, "get") == "refs/ab/abc.png"
    with pytest.raises(Forbidden):
        signer.verify(token, "put")
    with pytest.raises(Forbidden):
        TransportSigner("other", "https://bb.example.com", 60).verify(token, "get")
    with pytest.raises(Forbidden):
        signer.verify(token[:-2] + "xx", "get")


def test_tokens_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = TransportSigner("s3cret", "http://127.0.0.1:1", 60)
    url = signer.url("k.png", "put")
    assert url is not None
    token = url.rsplit("/", 1)[-1]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    with pytest.raises(Forbidden, match="expired"):
        signer.verify(token, "put")


def test_webhook_secret_is_per_task() -> None:
    signer = TransportSigner("s3cret", "http://127.0.0.1:1", 60)
    a, b = signer.webhook_secret("task-a"), signer.webhook_secret("task-b")
    assert a != b
    assert signer.check_webhook("task-a", a)
    assert not signer.check_webhook("task-a", b)
    url = signer.webhook_url("task-a")
    assert url is not None and url.endswith(f"/api/v1/runpod/webhook/task-a/{a}")
