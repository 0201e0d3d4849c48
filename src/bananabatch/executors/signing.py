"""Signed, expiring URLs of this server for remote workers, and per-task webhook
secrets. A worker holds no credentials: the signature in the URL is the permission,
for one storage key, one direction, for a limited time."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bananabatch.errors import Forbidden

API_PREFIX = "/api/v1"
TRANSPORT_PATH = f"{API_PREFIX}/transport"
WEBHOOK_PATH = f"{API_PREFIX}/runpod/webhook"
_SALT = "bananabatch.transport.v1"

Direction = Literal["get", "put"]


class TransportSigner:
    def __init__(self, secret: str, public_url: str | None, ttl_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self._secret = secret.encode()
        self.public_url = public_url.rstrip("/") if public_url else None
        self.ttl_seconds = ttl_seconds

    def url(self, key: str, direction: Direction) -> str | None:
        """A URL a worker can GET (or PUT) `key` at, or None without a public URL."""
        if self.public_url is None:
            return None
        token = self._serializer.dumps({"k": key, "d": direction})
        return f"{self.public_url}{TRANSPORT_PATH}/{direction}/{token}"

    def verify(self, token: str, direction: Direction) -> str:
        """The storage key a token grants `direction` on; Forbidden otherwise."""
        try:
            data = self._serializer.loads(token, max_age=self.ttl_seconds)
        except SignatureExpired as exc:
            raise Forbidden("This transfer URL has expired; the task will be sent again.") from exc
        except BadSignature as exc:
            raise Forbidden("This transfer URL is not valid.") from exc
        if not isinstance(data, dict) or data.get("d") != direction or not data.get("k"):
            raise Forbidden("This transfer URL is not valid for this operation.")
        return str(data["k"])

    def webhook_secret(self, task_id: str) -> str:
        return hmac.new(self._secret, f"webhook:{task_id}".encode(), hashlib.sha256).hexdigest()[
            :32
        ]

    def webhook_url(self, task_id: str) -> str | None:
        if self.public_url is None:
            return None
        return f"{self.public_url}{WEBHOOK_PATH}/{quote(task_id)}/{self.webhook_secret(task_id)}"

    def check_webhook(self, task_id: str, secret: str) -> bool:
        return hmac.compare_digest(self.webhook_secret(task_id), secret)
