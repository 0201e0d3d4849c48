"""A load generator that costs microseconds per request: HTTP/1.1 GETs over asyncio
streams on kept-alive connections (httpx costs about 1 ms of client CPU per request,
so on 2 shared cores it would measure mostly itself)."""

from __future__ import annotations

import asyncio


async def raw_get(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    path: str,
    tag: str | None,
) -> tuple[int, str | None, bytes]:
    """One GET on a kept-alive connection: status, ETag, body."""
    extra = f"If-None-Match: {tag}\r\n" if tag else ""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode("latin-1"))
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", ""):
        raise RuntimeError("chunked answers are not expected from these routes")
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    if status not in (200, 304):
        raise RuntimeError(f"GET {path} answered {status}")
    return status, headers.get("etag"), body


async def get_all(url: str, paths: list[str], connections: int) -> float:
    """GET every path once over `connections` kept-alive connections; the seconds taken."""
    host = url.removeprefix("http://")
    address, port = host.rsplit(":", 1)
    queue = list(reversed(paths))

    async def one() -> None:
        reader, writer = await asyncio.open_connection(address, int(port))
        try:
            while queue:
                await raw_get(reader, writer, host, queue.pop(), None)
        finally:
            writer.close()

    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(one() for _ in range(connections)))
    return asyncio.get_running_loop().time() - started
