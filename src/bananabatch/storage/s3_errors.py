"""botocore errors in words an operator can act on.

Every S3 failure becomes a domain error: a missing key is `NotFound` (exactly as
the local store says it), anything else `StorageUnavailable` naming the setting
to check. Messages are built here rather than passed through from S3, so no
access key id, signature or request detail ever reaches a log line or an API
answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
)

from bananabatch.errors import BananaBatchError, NotFound
from bananabatch.storage.base import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ErrorTypeDef

# What S3 (and compatible services) answer when the credentials themselves are bad.
_BAD_CREDENTIALS = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
    }
)
_DENIED = frozenset({"AccessDenied", "AllAccessDisabled", "AccountProblem", "403"})
_NO_BUCKET = frozenset({"NoSuchBucket"})
_NO_KEY = frozenset({"NoSuchKey", "404", "NotFound"})
_WRONG_REGION = frozenset(
    {
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "301",
        "IllegalLocationConstraintException",
    }
)


@dataclass(frozen=True)
class S3Place:
    """Where the store lives, for messages: the bucket, and the endpoint as shown."""

    bucket: str
    endpoint_url: str | None
    region: str | None

    @property
    def where(self) -> str:
        if self.endpoint_url:
            return shown_endpoint(self.endpoint_url)
        return f"AWS S3 ({self.region})" if self.region else "AWS S3"


def shown_endpoint(url: str) -> str:
    """The endpoint without any `user:password@` part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _unwrap(exc: BaseException) -> BaseException:
    """`upload_fileobj` re-raises a ClientError as S3UploadFailedError; use the original."""
    if isinstance(exc, S3UploadFailedError):
        inner = exc.__cause__ or exc.__context__
        if isinstance(inner, ClientError | BotoCoreError):
            return inner
    return exc


def error_reason(exc: BaseException) -> str:
    """A short stable word for the failure (health answers carry it, not the message)."""
    exc = _unwrap(exc)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return "no_credentials"
    if isinstance(exc, ConnectionError):
        return "unreachable"
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _BAD_CREDENTIALS:
            return "bad_credentials"
        if code in _DENIED or status == 403:
            return "access_denied"
        if code in _NO_BUCKET:
            return "no_bucket"
        if code in _WRONG_REGION or status == 301:
            return "wrong_region"
        if code in _NO_KEY or status == 404:
            return "not_found"
    if isinstance(exc, ParamValidationError):
        return "invalid_request"
    if isinstance(exc, HTTPClientError):
        return "unreachable"
    return "error"


def storage_error(
    exc: BaseException, place: S3Place, op: str, key: str | None = None
) -> BananaBatchError:
    """The domain error for a failed S3 call. `key` is the caller's key (no prefix);
    a 404 on it is NotFound. A 404 on the bucket itself (HEAD has no error code)
    only happens in `head_bucket`, which passes no key."""
    exc = _unwrap(exc)
    reason = error_reason(exc)
    bucket, where = place.bucket, place.where
    details = {"reason": reason}
    if reason == "not_found" and key is not None:
        return NotFound(f"no such object: {key}")
    if reason in ("no_bucket", "not_found"):
        message = (
            f"The S3 bucket {bucket!r} does not exist at {where}: create it, or fix "
            "BANANABATCH_S3_BUCKET (and BANANABATCH_S3_ENDPOINT_URL / BANANABATCH_S3_REGION)."
        )
    elif reason == "no_credentials":
        message = (
            f"No S3 credentials for bucket {bucket!r}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or give the machine an IAM role)."
        )
    elif reason == "bad_credentials":
        message = (
            f"{where} refused the credentials for bucket {bucket!r}: check AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if you use one)."
        )
    elif reason == "access_denied":
        message = (
            f"{where} denied {op} on bucket {bucket!r}: the credentials need s3:GetObject, "
            "s3:PutObject, s3:DeleteObject and s3:ListBucket on it."
        )
    elif reason == "wrong_region":
        region = _bucket_region(exc)
        hint = f" ({region})" if region else ""
        message = (
            f"The S3 bucket {bucket!r} is in another region{hint}: set BANANABATCH_S3_REGION "
            "to the bucket's region."
        )
    elif reason == "unreachable":
        message = (
            f"Cannot reach the S3 endpoint {where} ({type(exc).__name__}): check "
            "BANANABATCH_S3_ENDPOINT_URL and that the service is up and reachable from here."
        )
    elif reason == "invalid_request":
        message = (
            f"S3 {op} was refused before sending: {_first_line(exc)} (check BANANABATCH_S3_BUCKET)."
        )
    else:
        message = f"S3 {op} on bucket {bucket!r} at {where} failed: {_describe(exc)}."
    return StorageUnavailable(message, details=details)


def refused_deletes(errors: Sequence[ErrorTypeDef], place: S3Place, root: str) -> BananaBatchError:
    """DeleteObjects answers 200 and lists the keys it did not delete: read the first
    refusal's code as any failed call's, and say how many objects are still there."""
    first = errors[0]
    refusal = ClientError(
        {"Error": {"Code": first.get("Code", ""), "Message": first.get("Message", "")}},
        "DeleteObjects",
    )
    error = storage_error(refusal, place, "DeleteObjects")
    keys = sorted(e.get("Key", "")[len(root) :] for e in errors)
    return StorageUnavailable(
        f"{len(keys)} object(s) were not deleted (first: {keys[0]}). {error.message}",
        details={**error.details, "not_deleted": keys[:5]},
    )


def _bucket_region(exc: BaseException) -> str | None:
    if not isinstance(exc, ClientError):
        return None
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    region = headers.get("x-amz-bucket-region") or exc.response.get("Error", {}).get("Region")
    return str(region) if region else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.get("Code") or status or "error"
        retry = "; try again later" if isinstance(status, int) and status >= 500 else ""
        http = f" (HTTP {status})" if status is not None else ""  # none: a per-key refusal
        return f"{code}{http}{retry}"
    return type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
