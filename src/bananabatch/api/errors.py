"""The one place where exceptions become HTTP answers.

Every error body has the same shape, `{"error": {"code", "message", "details"}}`,
so the web UI and the CLI show a message a user can act on. Domain errors carry
their own status and code (`bananabatch.errors`); request validation is a 422;
anything unexpected is logged and answered as a bare 500 without internals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bananabatch.errors import BananaBatchError

log = logging.getLogger(__name__)

_HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "unavailable",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON error envelope shared by every non-2xx answer."""
    return {"error": {"code": code, "message": message, "details": jsonable_encoder(details)}}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, details), status_code=status_code, headers=headers
    )


def _loc_to_text(loc: Sequence[Any]) -> str:
    """`("body", "prompts", 0, "count")` -> `prompts[0].count` (the part a user recognises)."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where = parts[0]
        parts = parts[1:]
    else:
        where = ""
    # A discriminated union adds the tag as a path element: drop it.
    parts = [p for p in parts if p not in ("automatic", "semi_auto")]
    text = ""
    for p in parts:
        if isinstance(p, int):
            text += f"[{p}]"
        else:
            text += f".{p}" if text else str(p)
    if not text:
        return where or "request"
    return f"{text} ({where})" if where in ("query", "path", "header") else text


def _too_long(err: Any) -> str | None:
    """Text over its limit, in characters (pydantic says "items" for a validated string)."""
    value, limit = err.get("input"), (err.get("ctx") or {}).get("max_length")
    if err.get("type") not in ("string_too_long", "too_long") or not isinstance(value, str):
        return None
    if not isinstance(limit, int):
        return None
    return f"{len(value):,} characters; the limit is {limit:,}. Shorten it."


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as plain JSON: field path, message, type. `input`/`ctx` are dropped
    because they can be large (a whole uploaded body) or not serialisable."""
    out: list[dict[str, Any]] = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            pos = loc[1] if len(loc) > 1 else None
            reason = (err.get("ctx") or {}).get("error", "malformed")
            out.append(
                {
                    "field": "body",
                    "loc": ["body"],
                    "message": f"The body is not valid JSON ({reason} at character {pos}).",
                    "type": "json_invalid",
                }
            )
            continue
        out.append(
            {
                "field": _loc_to_text(loc),
                "loc": [str(p) if not isinstance(p, int) else p for p in loc],
                "message": _too_long(err) or str(err.get("msg", "invalid value")),
                "type": str(err.get("type", "value_error")),
            }
        )
    return out


def validation_message(details: list[dict[str, Any]]) -> str:
    if not details:
        return "The request is not valid."
    shown = [f"{d['field']}: {d['message']}" for d in details[:3]]
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return "Invalid request: " + "; ".join(shown) + more


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BananaBatchError)
    if exc.status_code >= 500:
        log.error("%s: %s", exc.code, exc.message, exc_info=exc)
    else:
        log.info("%s (%d): %s", exc.code, exc.status_code, exc.message)
    headers: dict[str, str] | None = None
    retry_after = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
    if isinstance(retry_after, int | float):
        headers = {"Retry-After": str(max(1, int(retry_after)))}
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers)


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    return error_response(422, "validation_failed", validation_message(details), details)


async def _pydantic_validation(_request: Request, exc: Exception) -> JSONResponse:
    """A model built from user input inside a service: still the user's input, still a 422."""
    assert isinstance(exc, ValidationError)
    details = validation_details(exc.errors())
    return error_response(422, "validation_failed", validation_message(details), details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = "No such route or object."
    details = None if isinstance(exc.detail, str) else exc.detail
    return error_response(exc.status_code, code, message, details, dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "Internal server error; see the server log.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BananaBatchError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(ValidationError, _pydantic_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
