"""The OpenAPI schema: security schemes, and a stable JSON dump for the web UI's types.

`python -m bananabatch.api.openapi > web/openapi.json` prints the same document
for the same code, whatever the local settings (no DB, no runtime is touched).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from bananabatch.api.auth import PUBLIC_PATHS, SESSION_COOKIE

_SECURITY_SCHEMES: dict[str, Any] = {
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "Set by POST /api/v1/auth/login when BANANABATCH_PASSWORD is set.",
    },
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from BANANABATCH_API_TOKENS.",
    },
}


def install_openapi(app: FastAPI) -> None:
    """Build the schema once, with auth documented (only enforced when a password is set)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=(
                "REST API of BananaBatch. Errors are JSON: "
                '`{"error": {"code", "message", "details"}}`. With BANANABATCH_PASSWORD set, '
                "every route but health and login needs the session cookie or a bearer token."
            ),
            routes=app.routes,
        )
        schema.setdefault("components", {})["securitySchemes"] = _SECURITY_SCHEMES
        schema["security"] = [{"sessionCookie": []}, {"bearerToken": []}]
        for path, operations in schema.get("paths", {}).items():
            if path.rstrip("/") in PUBLIC_PATHS:
                for operation in operations.values():
                    operation["security"] = []
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def openapi_schema() -> dict[str, Any]:
    from bananabatch.api.app import create_app
    from bananabatch.config import Settings

    app = create_app(settings=Settings(web_dir=None))
    return app.openapi()


def openapi_json() -> str:
    return json.dumps(openapi_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    sys.stdout.write(openapi_json())


if __name__ == "__main__":
    main()
