"""Forwarding headers, believed only from configured reverse proxies.

`X-Forwarded-For`, `-Proto` and `-Host` can be sent by anyone. Trusting them from
every local connection let a client rotate `X-Forwarded-For` past the login rate
limit, and a matching `X-Forwarded-Host` pass the CSRF check. They are used only
when the connection comes from an address in `BANANABATCH_TRUSTED_PROXIES`
(none by default); uvicorn's own proxy handling is off (`server.py`) so this is
the one place that decides.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from bananabatch.config import IpNetwork, parse_networks

log = logging.getLogger(__name__)

FORWARDED_HOST_KEY = "forwarded_host"
"""Key in `scope["state"]`: the X-Forwarded-Host a trusted proxy passed on, if any."""


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


class TrustedProxies:
    def __init__(self, networks: Iterable[IpNetwork] = ()) -> None:
        self.networks = tuple(networks)

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        return cls(parse_networks(text))

    def trusts(self, host: str | None) -> bool:
        address = _ip(host) if host else None
        return address is not None and any(address in net for net in self.networks)

    def client_from(self, peer: str, forwarded_for: str | None) -> str:
        """The client address: the peer, or, when the peer is a trusted proxy, the
        right-most `X-Forwarded-For` hop that is not itself a trusted proxy (entries
        further left were written by the client and prove nothing)."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        client = peer
        for hop in reversed(hops):
            if _ip(hop) is None:
                break  # garbage a trusted proxy would never write: stop at the last good hop
            client = hop.strip("[]")
            if not self.trusts(client):
                break
        return client


def _last_value(header: str | None) -> str | None:
    """The value the proxy nearest to us wrote (proxies that append put theirs last)."""
    if not header:
        return None
    values = [v.strip() for v in header.split(",") if v.strip()]
    return values[-1] if values else None


class ForwardedHeadersMiddleware:
    """Rewrites the client address and scheme from a trusted proxy's headers, and keeps
    its X-Forwarded-Host for the CSRF check; from anyone else the headers are ignored."""

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.proxies.networks:
            await self.app(scope, receive, send)
            return
        peer_info: Any = scope.get("client")
        peer = peer_info[0] if peer_info else None
        if peer is None or not self.proxies.trusts(peer):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scope = dict(scope)
        client = self.proxies.client_from(peer, headers.get("x-forwarded-for"))
        scope["client"] = (client, 0)
        proto = (_last_value(headers.get("x-forwarded-proto")) or "").lower()
        if scope["type"] == "http" and proto in ("http", "https"):
            scope["scheme"] = proto
        host = _last_value(headers.get("x-forwarded-host"))
        if host:
            scope["state"] = {**scope.get("state", {}), FORWARDED_HOST_KEY: host}
        await self.app(scope, receive, send)
