"""The domain exception hierarchy. Each class knows its HTTP status and a stable
code, so the API maps errors in exactly one place (`api/errors.py`) and the CLI
prints the same message a user can act on."""

from __future__ import annotations

from typing import Any


class BananaBatchError(Exception):
    """Base for every error we raise on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationFailed(BananaBatchError):
    """The request is well formed but its content cannot be used."""

    status_code = 422
    code = "validation_failed"


class TemplateError(ValidationFailed):
    """A prompt template is malformed; `position` is the 0-based character offset."""

    code = "bad_template"

    def __init__(self, message: str, *, position: int | None = None) -> None:
        where = f" (at character {position + 1})" if position is not None else ""
        super().__init__(message + where, details={"position": position})
        self.position = position


class TooManyReferences(ValidationFailed):
    code = "too_many_references"


class TransportUnavailable(ValidationFailed):
    """No way to move a job's images to and from remote workers (RunPod's 10 MB limit)."""

    code = "transport_unavailable"


class UnknownModel(ValidationFailed):
    code = "unknown_model"


class ModelShutDown(ValidationFailed):
    """The model was shut down by its provider: new jobs are refused, naming the
    replacement. Jobs already stored on it still load."""

    code = "model_shut_down"


class ModelUnavailable(ValidationFailed):
    """The provider says the configured key cannot use this model (HTTP 404 on it)."""

    code = "model_unavailable"


class GeminiKeyInvalid(ValidationFailed):
    """Google refused the configured key (invalid, revoked, or without permission).

    A 422 rather than a 401/403: the caller of *our* API is authenticated; it is the
    server's Gemini key that must be fixed."""

    code = "gemini_key_invalid"


class NotFound(BananaBatchError):
    status_code = 404
    code = "not_found"


class Conflict(BananaBatchError):
    """The action does not fit the object's current state (e.g. resume a finished job)."""

    status_code = 409
    code = "conflict"


class AmbiguousId(Conflict):
    """An id prefix matches several objects; `details["candidates"]` lists them."""

    code = "ambiguous_id"


class PayloadTooLarge(BananaBatchError):
    status_code = 413
    code = "payload_too_large"


class BadUpload(BananaBatchError):
    """An uploaded file or archive is unusable (not an image, hostile ZIP, ...)."""

    status_code = 400
    code = "bad_upload"


class Unauthorized(BananaBatchError):
    status_code = 401
    code = "unauthorized"


class Forbidden(BananaBatchError):
    status_code = 403
    code = "forbidden"


class TooManyRequests(BananaBatchError):
    status_code = 429
    code = "too_many_requests"


class ServiceUnavailable(BananaBatchError):
    status_code = 503
    code = "unavailable"
