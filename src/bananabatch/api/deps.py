"""Request dependencies: the runtime, its settings, storage and a DB session.

The runtime lives on `app.state` (set by `create_app` or the lifespan), so a
test can hand the app a runtime of its own and nothing is global.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from bananabatch.config import Settings
from bananabatch.errors import NotFound, ServiceUnavailable
from bananabatch.runtime import Runtime
from bananabatch.services.job_refs import MIN_PREFIX_CHARS, resolve_job_id
from bananabatch.storage.base import Storage

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise ServiceUnavailable("The server is still starting; try again in a moment.")
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_storage(runtime: RuntimeDep) -> Storage:
    return runtime.storage


StorageDep = Annotated[Storage, Depends(get_storage)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """One session per request; services commit their own changes, the rest rolls back."""
    session = runtime.session_factory()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]

# Ids are looked up in the DB, never joined into a path; the pattern is a second fence
# that turns traversal attempts (`..%2F..`, absolute paths) into a 422 before any lookup.


def _job_id(
    job_id: Annotated[
        str,
        Path(
            pattern=ID_PATTERN,
            description=f"Job id, or a unique prefix of it ({MIN_PREFIX_CHARS}+ characters).",
        ),
    ],
    session: SessionDep,
) -> str:
    """The whole id of the job the path names; an ambiguous prefix is a 409 listing
    the candidates. An unknown id is passed on as it is: the route answers 404 after
    validating its body, as it did before prefixes existed."""
    try:
        return resolve_job_id(session, job_id)
    except NotFound:
        return job_id


JobId = Annotated[str, Depends(_job_id)]
OutputId = Annotated[str, Path(pattern=ID_PATTERN, description="Output id.")]
AssetId = Annotated[str, Path(pattern=ID_PATTERN, description="Asset id (sha256 hex).")]
DatasetId = Annotated[str, Path(pattern=ID_PATTERN, description="Dataset id.")]
