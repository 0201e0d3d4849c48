"""The routes remote workers call: signed reference downloads, signed output uploads and
the RunPod completion webhook. No login: the signature is the permission."""

from __future__ import annotations

import httpx

from bananabatch.runtime import Runtime
from tests.imagegen import image_bytes


def _token(runtime: Runtime, key: str, direction: str) -> str:
    signer = runtime.signer
    signer.public_url = "https://bb.example.com"
    url = signer.url(key, direction)  # type: ignore[arg-type]
    assert url is not None
    return url.rsplit("/", 1)[-1]


async def test_signed_get_serves_exactly_that_key_without_login(
    secured_runtime: Runtime, anon: httpx.AsyncClient
) -> None:
    data = image_bytes(1, fmt="PNG")
    secured_runtime.storage.put_bytes("refs/ab/ref.png", data)
    token = _token(secured_runtime, "refs/ab/ref.png", "get")
    resp = await anon.get(f"/api/v1/transport/get/{token}")
    assert resp.status_code == 200 and resp.content == data
    assert resp.headers["content-type"] == "image/png"
    # the same token cannot upload, and a forged one gets nothing
    assert (await anon.put(f"/api/v1/transport/put/{token}", content=data)).status_code == 403
    assert (await anon.get(f"/api/v1/transport/get/{token[:-3]}abc")).status_code == 403
    # everything else still needs a login
    assert (await anon.get("/api/v1/jobs")).status_code == 401


async def test_signed_put_stores_an_image_at_its_key(
    secured_runtime: Runtime, anon: httpx.AsyncClient
) -> None:
    data = image_bytes(2, fmt="PNG")
    token = _token(secured_runtime, "outputs/j1/o1.png", "put")
    resp = await anon.put(
        f"/api/v1/transport/put/{token}", content=data, headers={"Content-Type": "image/png"}
    )
    assert resp.status_code == 200, resp.text
    assert secured_runtime.storage.get_bytes("outputs/j1/o1.png") == data


async def test_signed_put_refuses_what_is_not_an_image_or_too_large(
    secured_runtime: Runtime, anon: httpx.AsyncClient
) -> None:
    token = _token(secured_runtime, "outputs/j1/o2.png", "put")
    resp = await anon.put(f"/api/v1/transport/put/{token}", content=b"<html>nope</html>")
    assert resp.status_code == 400 and "PNG, JPEG or WebP" in resp.json()["error"]["message"]
    assert not secured_runtime.storage.exists("outputs/j1/o2.png")
    secured_runtime.settings.max_image_bytes = 1000
    resp = await anon.put(
        f"/api/v1/transport/put/{token}", content=image_bytes(3, size=(400, 400), fmt="PNG")
    )
    assert resp.status_code == 413
    assert not secured_runtime.storage.exists("outputs/j1/o2.png")


async def test_webhook_needs_the_task_secret(
    secured_runtime: Runtime, anon: httpx.AsyncClient
) -> None:
    secret = secured_runtime.signer.webhook_secret("task1")
    ok = await anon.post(f"/api/v1/runpod/webhook/task1/{secret}", json={"id": "rp-1"})
    assert ok.status_code == 200 and ok.json() == {"ok": True}
    bad = await anon.post(f"/api/v1/runpod/webhook/task1/{'0' * 32}", json={"id": "rp-1"})
    assert bad.status_code == 403
    garbage = await anon.post(f"/api/v1/runpod/webhook/task1/{secret}", content=b"{not json")
    assert garbage.status_code == 200


async def test_a_large_output_upload_is_not_held_to_the_json_body_limit(
    secured_runtime: Runtime, anon: httpx.AsyncClient
) -> None:
    from bananabatch.api.middleware import MAX_JSON_BODY_BYTES

    data = b"\x89PNG\r\n\x1a\n" + bytes(MAX_JSON_BODY_BYTES + 1024)  # a 4K PNG is this big
    token = _token(secured_runtime, "outputs/j1/big.png", "put")
    resp = await anon.put(
        f"/api/v1/transport/put/{token}", content=data, headers={"Content-Type": "image/png"}
    )
    assert resp.status_code == 200, resp.text
    assert secured_runtime.storage.size("outputs/j1/big.png") == len(data)
