"""Fixtures shared by every test folder, and the network safety net.

No test may connect anywhere but loopback. The SSRF tests use refused addresses; should the guard
ever break, the connection attempt must still not leave the machine, so every socket connect of
the event loop is checked here first and refused (an OSError, which the client reports as
"connect" and the test then fails on) unless it goes to 127.0.0.0/8 or ::1.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from asyncio import selector_events
from collections.abc import Iterator
from typing import Any

import pytest

#: The request payload of the seed document, byte for byte (seed/000_c66d7f80b5e6379c.txt).
SEED_FINISHED_SCAN = (
    b'{"finished_scan": {"status": "Completed", "low_cnt": 0, "critical_cnt": 1, '
    b'"started": "2018-08-21 12:02", "finished": "2018-08-21 12:59", '
    b'"link": "https://sc.holmsecurity.com/scans/scans/view/123", "duration": "00:57", '
    b'"errors": "", "name": "Daily scan", "high_cnt": 0, "medium_cnt": 3, "type": "network"}}'
)


#: The key that seals endpoint secrets in the tests' databases (``SCANHOOK_SECRET_KEY``, which
#: PostgreSQL requires). Tests of the SQLite key file remove it from the environment.
TEST_SECRET_KEY = "dGVzdC1rZXktb2Ytc2Nhbmhvb2stdGVzdHMtMDAwMDA"


@pytest.fixture(scope="session", autouse=True)
def _secret_key() -> Iterator[None]:
    """Every Hub, store and ``scanhook`` process of the tests (they inherit the environment;
    those started with a clean one are given it) seals secrets with :data:`TEST_SECRET_KEY`."""
    before = os.environ.get("SCANHOOK_SECRET_KEY")
    os.environ["SCANHOOK_SECRET_KEY"] = before or TEST_SECRET_KEY
    yield
    if before is None:
        del os.environ["SCANHOOK_SECRET_KEY"]


@pytest.fixture
def seed_finished_scan() -> bytes:
    """The seed's example finished_scan body, exactly as the seed document shows it."""
    return SEED_FINISHED_SCAN


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
