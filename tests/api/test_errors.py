"""The error envelope: every failure is JSON with code/message/details, never a bare 500."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from bananabatch.api.errors import validation_details, validation_message
from bananabatch.errors import Conflict
from bananabatch.services import queries
from tests.api.helpers import API, BASE_URL, error_of


async def test_wrong_method_is_a_json_405(client: httpx.AsyncClient) -> None:
    r = await client.delete(f"{API}/jobs")
    assert r.status_code == 405
    assert error_of(r)["code"] == "method_not_allowed"
    r = await client.put(f"{API}/health")
    assert r.status_code == 405


async def test_unknown_api_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/does-not-exist")
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found"


async def test_unexpected_errors_are_a_json_500_without_internals(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(queries, "list_datasets", boom)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url=BASE_URL
    ) as c:
        with caplog.at_level(logging.ERROR):
            r = await c.get(f"{API}/datasets")
    assert r.status_code == 500
    err = error_of(r)
    assert err["code"] == "internal_error"
    assert "secret internal detail" not in r.text
    assert "secret internal detail" in caplog.text  # but the log has it


async def test_domain_errors_keep_their_status_and_code(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def conflict(*_args: object, **_kwargs: object) -> None:
        raise Conflict("Busy: try later.", details={"hint": 1})

    monkeypatch.setattr(queries, "list_datasets", conflict)
    r = await client.get(f"{API}/datasets")
    assert r.status_code == 409
    assert r.json() == {
        "error": {"code": "conflict", "message": "Busy: try later.", "details": {"hint": 1}}
    }


async def test_validation_errors_name_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/jobs",
        json={"mode": "semi_auto", "prompts": [{"prompt": "a", "count": "many"}]},
    )
    assert r.status_code == 422
    err = error_of(r)
    assert err["details"][0]["field"] == "prompts[0].count"
    assert "prompts[0].count" in err["message"]
    r = await client.get(f"{API}/jobs", params={"limit": "x"})
    assert error_of(r)["details"][0]["field"] == "limit (query)"


def test_validation_details_summarise_long_lists() -> None:
    errors = [{"loc": ("body", f"f{i}"), "msg": "bad", "type": "x"} for i in range(5)]
    details = validation_details(errors)
    assert [d["field"] for d in details] == [f"f{i}" for i in range(5)]
    message = validation_message(details)
    assert message.startswith("Invalid request: f0: bad; f1: bad; f2: bad")
    assert message.endswith("(and 2 more)")
