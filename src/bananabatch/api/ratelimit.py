"""The login rate limit: failed passwords per client address, with a lockout.

Kept in memory (one server process per data directory): a restart forgets it.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class _ClientRecord:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class LoginRateLimiter:
    """Failed logins per client, with a lockout; in memory, per process.

    - A client (an IP address; an IPv6 /64, which one host usually owns whole)
      with `max_failures` failures within `window_seconds` is locked out for
      `lockout_seconds`: its attempts are answered 429 without checking the
      password. After that the right password works again.
    - Per account (there is one password): while more than
      `account_max_failures` failures arrived within the window from all
      clients together (guessing from many addresses), each client's budget
      drops to one failure.
    - Only failures count, and a success clears the client's record, so a
      client under its budget always has its password checked: the right
      password is never refused because of someone else.
    """

    def __init__(
        self,
        *,
        max_failures: int = 10,
        window_seconds: float = 15 * 60.0,
        lockout_seconds: float = 15 * 60.0,
        account_max_failures: int = 100,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.lockout = lockout_seconds
        self.account_max_failures = account_max_failures
        self.max_clients = max_clients
        self._clock = clock
        self._clients: OrderedDict[str, _ClientRecord] = OrderedDict()
        self._account_failures: deque[float] = deque(maxlen=account_max_failures + 1)
        self._lock = threading.Lock()

    @staticmethod
    def client_key(address: str) -> str:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return str(ip)

    def _forget_old(self, failures: deque[float], now: float) -> None:
        while failures and failures[0] <= now - self.window:
            failures.popleft()

    def check(self, client: str) -> float | None:
        """Seconds the client must still wait when it is locked out, else None."""
        now = self._clock()
        with self._lock:
            record = self._clients.get(self.client_key(client))
            if record is None or record.locked_until <= now:
                return None
            return record.locked_until - now

    def failure(self, client: str) -> None:
        """Record a wrong password; may lock the client out."""
        now = self._clock()
        key = self.client_key(client)
        with self._lock:
            record = self._clients.get(key)
            if record is None:
                record = self._clients[key] = _ClientRecord()
                while len(self._clients) > self.max_clients:
                    self._clients.popitem(last=False)
            self._clients.move_to_end(key)
            self._forget_old(record.failures, now)
            record.failures.append(now)
            self._forget_old(self._account_failures, now)
            self._account_failures.append(now)
            under_attack = len(self._account_failures) > self.account_max_failures
            budget = 1 if under_attack else self.max_failures
            if len(record.failures) >= budget:
                record.locked_until = now + self.lockout
                record.failures.clear()
                log.warning(
                    "login: %s locked out for %.0fs%s",
                    key,
                    self.lockout,
                    " (many failures from many clients)" if under_attack else "",
                )

    def success(self, client: str) -> None:
        with self._lock:
            self._clients.pop(self.client_key(client), None)
