"""The two yardsticks, measured in the same run as scanhook, against the same receiver.

* ``naive``: the seed's system, ``requests.post(url, data=body, headers=…)`` per notification,
  one after the other, no Session (so a new TCP connection each time), no storage.
* ``session_loop``: the same loop through one ``requests.Session`` (keep-alive): the naive
  sender's cheapest fix.
* ``ceiling``: aiohttp, one ``ClientSession`` with keep-alive, ``concurrency`` requests in flight,
  the same bodies and headers, no storage, no signing: what the HTTP layer alone can do here.

Both time from the first request to the last response, and check that the receiver got every
request exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import requests

from receiver import Receiver
from scanhook.eventloop import run as run_on_loop
from workload import Workload

__all__ = ["BaselineResult", "ceiling", "naive", "session_loop"]


@dataclass(frozen=True)
class BaselineResult:
    name: str
    count: int
    seconds: float
    #: This process's CPU time over the same span (the ceiling's client; 0 for naive).
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_per_request_us(self) -> float:
        return 1e6 * self.cpu_seconds / self.count


def _check(receiver: Receiver, count: int, name: str) -> None:
    stats = receiver.stats()[0]
    if stats["unique"] != count:
        raise RuntimeError(f"{name}: the receiver got {stats['unique']} of {count} notifications")


def _sequential(
    receiver: Receiver,
    work: Workload,
    count: int,
    timeout: float,
    name: str,
    post: Callable[..., requests.Response],
) -> BaselineResult:
    receiver.reset()
    url = receiver.url(0)
    started = time.perf_counter()
    deadline = started + timeout
    for index in range(count):
        response = post(url, data=work.bodies[index], headers=work.headers[index], timeout=5)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: HTTP {response.status_code} for request {index}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{name}: not done after {timeout} s")
    seconds = time.perf_counter() - started
    _check(receiver, count, name)
    return BaselineResult(name, count, seconds)


def naive(receiver: Receiver, work: Workload, count: int, timeout: float = 120.0) -> BaselineResult:
    """``requests.post`` per notification, sequentially, for the first ``count`` ones."""
    return _sequential(receiver, work, count, timeout, "naive", requests.post)


def session_loop(
    receiver: Receiver, work: Workload, count: int, timeout: float = 120.0
) -> BaselineResult:
    """``session.post`` per notification through one ``requests.Session``, sequentially."""
    with requests.Session() as session:
        return _sequential(receiver, work, count, timeout, "session", session.post)


async def _ceiling(url: str, work: Workload, count: int, concurrency: int) -> tuple[float, float]:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    next_index = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            async with session.post(
                url, data=work.bodies[index], headers=work.headers[index]
            ) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"ceiling: HTTP {response.status} for request {index}")

    async with aiohttp.ClientSession(connector=connector) as session:
        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return time.perf_counter() - started, time.process_time() - cpu_started


def ceiling(
    receiver: Receiver,
    work: Workload,
    count: int,
    concurrency: int,
    timeout: float = 120.0,
    loop: str = "asyncio",
) -> BaselineResult:
    """aiohttp with one session and ``concurrency`` requests in flight, on the event loop
    ``loop`` (``auto``/``asyncio``/``uvloop``: the same one scanhook runs on in the run)."""
    receiver.reset()

    async def bounded() -> tuple[float, float]:
        async with asyncio.timeout(timeout):
            return await _ceiling(receiver.url(0), work, count, concurrency)

    seconds, cpu_seconds = run_on_loop(bounded(), loop)
    _check(receiver, count, "ceiling")
    return BaselineResult("ceiling", count, seconds, cpu_seconds)
