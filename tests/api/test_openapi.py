"""The OpenAPI schema the web UI generates its types from: stable, clean, complete."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI

from bananabatch.api.openapi import openapi_json, openapi_schema

REPO = Path(__file__).resolve().parents[2]


def test_operation_ids_are_stable_and_unique(app: FastAPI) -> None:
    schema = app.openapi()
    ids = []
    for path, operations in schema["paths"].items():
        assert path.startswith("/api/v1/"), path
        for method, op in operations.items():
            assert op["tags"], (method, path)
            assert op["operationId"] == f"{op['tags'][0]}-{op['operationId'].split('-', 1)[1]}"
            assert re.fullmatch(r"[a-z]+-[a-z_]+", op["operationId"]), op["operationId"]
            ids.append(op["operationId"])
    assert len(ids) == len(set(ids))
    assert {"jobs-create_job", "jobs-list_jobs", "export-export_job", "auth-login"} <= set(ids)


def test_error_responses_use_our_envelope(app: FastAPI) -> None:
    schema = app.openapi()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert "ErrorResponse" in components
    for operations in schema["paths"].values():
        for op in operations.values():
            ref = op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorResponse")


def test_component_names_are_clean(app: FastAPI) -> None:
    names = set(app.openapi()["components"]["schemas"])
    assert not [n for n in names if n.startswith("Body_") or "__" in n or n.endswith("-Input")]
    assert {
        "JobDetail",
        "JobSummary",
        "OutputOut",
        "AutomaticJobCreate",
        "SemiAutoJobCreate",
    } <= names


def test_auth_is_documented(app: FastAPI) -> None:
    schema = app.openapi()
    assert set(schema["components"]["securitySchemes"]) == {"sessionCookie", "bearerToken"}
    assert schema["paths"]["/api/v1/health"]["get"]["security"] == []
    assert "security" not in schema["paths"]["/api/v1/jobs"]["get"]


def test_uploads_document_multipart_bodies(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    body = paths["/api/v1/datasets/{dataset_id}/files"]["post"]["requestBody"]
    props = body["content"]["multipart/form-data"]["schema"]["properties"]
    assert props["files"]["items"]["format"] == "binary"
    zip_body = paths["/api/v1/datasets/{dataset_id}/zip"]["post"]["requestBody"]
    assert "file" in zip_body["content"]["multipart/form-data"]["schema"]["properties"]


def test_dump_is_deterministic_and_settings_independent() -> None:
    first = openapi_json()
    assert first == openapi_json()
    assert json.loads(first) == openapi_schema()
    proc = subprocess.run(
        [sys.executable, "-m", "bananabatch.api.openapi"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "BANANABATCH_PASSWORD": "x", "PYTHONPATH": str(REPO / "src")},
        check=True,
    )
    assert proc.stdout == first
