"""A safety net for the delivery tests: no connection may leave loopback.

The tests check the SSRF guard with refused addresses. Should the guard ever break, the
connection attempt must still not leave the machine, so every socket connect of the event loop
is checked here first and refused (as an OSError, which the client reports as "connect" and the
test then fails on) unless it goes to 127.0.0.0/8 or ::1.
"""

from __future__ import annotations

import ipaddress
import socket
from asyncio import selector_events
from typing import Any

import pytest

_original_sock_connect = selector_events.BaseSelectorEventLoop.sock_connect


async def _loopback_only_sock_connect(
    self: selector_events.BaseSelectorEventLoop, sock: socket.socket, address: Any
) -> None:
    host = str(address[0]).split("%", 1)[0]
    if not ipaddress.ip_address(host).is_loopback:
        raise PermissionError(f"test safety net: refusing to connect to {address!r}")
    await _original_sock_connect(self, sock, address)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        selector_events.BaseSelectorEventLoop, "sock_connect", _loopback_only_sock_connect
    )
