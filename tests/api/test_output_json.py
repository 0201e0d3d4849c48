"""Pages of outputs rebuilt while a job runs load only the outputs that changed, and are
still exact: a changed row, a flag added to an unchanged row (as settling does for a
near-duplicate's sibling) and a flag removed all show on the next page."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import delete, event

from bananabatch.db.models import Output, OutputFlag, OutputStatus
from bananabatch.runtime import Runtime
from tests.api.helpers import API, create_dataset, photos, upload


async def _job(client: httpx.AsyncClient) -> str:
    ds = await create_dataset(client)
    r = await upload(client, ds, photos({"cat": 5}))
    assert r.status_code == 200, r.text
    body = {"mode": "automatic", "dataset_id": ds, "prompt": "a cat", "variations": 2}
    job = await client.post(f"{API}/jobs", json=body)
    assert job.status_code == 201, job.text
    return str(job.json()["id"])


async def test_a_page_loads_only_changed_outputs_and_stays_exact(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    job = await _job(client)
    url = f"{API}/jobs/{job}/outputs?limit=100"
    first = (await client.get(url)).json()
    ids = [o["id"] for o in first["items"]]
    assert len(ids) == 10

    loads: list[str] = []

    def count(target: Output, _context: Any) -> None:  # an output row loaded whole
        loads.append(target.id)

    async def page() -> dict[str, Any]:
        loads.clear()
        event.listen(Output, "load", count)
        try:
            r = await client.get(url)
        finally:
            event.remove(Output, "load", count)
        assert r.status_code == 200
        return dict(r.json())

    with runtime.session_factory() as s:
        o = s.get(Output, ids[3])
        assert o is not None
        o.status = OutputStatus.blocked
        s.commit()
    after_change = await page()
    assert loads == [ids[3]]  # only the changed output
    assert after_change["items"][3]["status"] == "blocked"
    assert [o["status"] for o in after_change["items"][4:]] == [
        o["status"] for o in first["items"][4:]
    ]

    with runtime.session_factory() as s:  # a flag on an unchanged row
        s.add(OutputFlag(output_id=ids[5], job_id=job, flag="wrong_size", detail="1x1"))
        s.commit()
    flagged = await page()
    assert [f["flag"] for f in flagged["items"][5]["flags"]] == ["wrong_size"]
    assert loads == [ids[5]]

    with runtime.session_factory() as s:
        s.execute(delete(OutputFlag).where(OutputFlag.output_id == ids[5]))
        s.commit()
    cleared = await page()
    expected = [*first["items"][:3], after_change["items"][3], *first["items"][4:]]
    assert cleared["items"][5]["flags"] == [] and cleared["items"] == expected
