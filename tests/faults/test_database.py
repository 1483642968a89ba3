"""The database goes away or fills up under a running ``serve``.

PostgreSQL: the case's own database stops taking connections and every connection to it is
terminated (``pg_terminate_backend``, filtered by ``datname``), for a few seconds. SQLite: the
file lives on a small tmpfs that is filled to the last byte, then emptied again. In both the
API answers 503 with a clear message while it lasts, the service stays up and resumes by
itself, and nothing accepted before, during or after is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from faults.support import (
    Api,
    Database,
    Receiver,
    Service,
    postgres_sql,
    record,
    serve_on,
    until,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]

EVENTS = 1500
#: How long the database stays away.
OUTAGE = 4.0
#: How soon after it is back the API must accept and deliveries flow again: the workers'
#: backoff after a failed store call is at most 5 s.
RESUME_WITHIN = 7.0


async def _accept_one(api: Api, number: int) -> bool:
    """Whether one publish was accepted (a 503 or a failed request is not)."""
    try:
        status, _ = await api.publish(number)
    except aiohttp.ClientError:
        return False
    return status == 202


class _Numbers:
    """Fresh event numbers, after the first batch's."""

    def __init__(self, start: int) -> None:
        self.next = start

    def take(self) -> int:
        self.next += 1
        return self.next


@pytest.mark.postgres
@pytest.mark.timeout(120)
async def test_postgres_connections_terminated_api_503_workers_resume_nothing_lost(
    tmp_path: Path, postgres: Database, session: aiohttp.ClientSession, services: list[Service]
) -> None:
    receiver = await Receiver(delay=0.02).start()
    serve, api = serve_on(tmp_path, postgres.url, services, session, retry_schedule="1s,2s,5s")
    name = postgres.name

    async def allow_connections(allow: bool) -> None:
        await asyncio.to_thread(
            postgres_sql, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}'
        )

    numbers = _Numbers(EVENTS)
    try:
        await serve.start().ready()
        await api.add_endpoint(receiver.url)
        accepted = await api.accept_batch(range(EVENTS))
        await until(
            lambda: len(receiver.delivered()) >= EVENTS // 5, 30, "deliveries to flow", [serve]
        )

        # The database goes away: no new connections, and every open one is cut.
        await allow_connections(False)
        cut = time.time()
        terminated = await asyncio.to_thread(
            postgres_sql,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()",
            {"name": name},
        )
        refused = await api.publish(numbers.take())
        health = await api.call("GET", "/healthz")
        await asyncio.sleep(max(0.0, cut + OUTAGE - time.time()))
        delivered_while_away = len(receiver.delivered())
        alive_while_away = serve.alive()

        await allow_connections(True)
        back = time.time()
        api_back = await until(
            lambda: _accept_one(api, numbers.take()),
            RESUME_WITHIN + 30,
            "the API to accept a publish again",
            [serve],
        )
        accepted += [numbers.next]
        resumed = await until(
            lambda: receiver.first_success_after(back) is not None,
            RESUME_WITHIN + 30,
            "a delivery after the database came back",
            [serve],
        )
        accepted += await api.accept_batch(range(numbers.next + 1, numbers.next + 201))
        await receiver.every_delivery(accepted, [serve])
        counts = await api.settled([serve])
    finally:
        with contextlib.suppress(Exception):
            await allow_connections(True)
        serve.stop_all()
        await receiver.stop()

    figures = record(
        receiver.figures(
            "postgres connections terminated",
            postgres.backend,
            accepted,
            resumed - back,
            api_back_s=round(api_back - back, 2),
            outage_s=OUTAGE,
            terminated=int(terminated[0][0]),
        )
    )
    assert int(terminated[0][0]) > 0
    status, answer = refused
    assert status == 503, answer
    assert answer["error"]["code"] == "database_unavailable"
    assert "database" in answer["error"]["message"]
    assert health[0] == 503, health
    assert alive_while_away, serve.tail()
    assert delivered_while_away < len(accepted)
    assert figures.lost == 0
    assert counts["pending"] == counts["sending"] == counts["failed"] == 0, counts
    assert counts["succeeded"] == len(accepted), counts
    assert api_back - back <= RESUME_WITHIN
    assert resumed - back <= RESUME_WITHIN


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs of the case's own (skipped where mounting is not allowed)."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, check=False)


def _fill(path: Path) -> int:
    """Write ``path`` until the file system is full; the bytes written."""
    chunk = b"\0" * 65536
    written = 0
    with path.open("wb", buffering=0) as out:
        while True:
            try:
                written += out.write(chunk) or 0
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        # The last few bytes: smaller writes until not even one fits.
        for size in (4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    written += out.write(b"\0" * size) or 0
    return written


@pytest.mark.timeout(120)
async def test_sqlite_disk_full_publish_503_nothing_lost_delivery_resumes_when_space_returns(
    tmp_path: Path, small_disk: Path, session: aiohttp.ClientSession, services: list[Service]
) -> None:
    receiver = await Receiver(delay=0.02).start()
    serve, api = serve_on(
        tmp_path,
        f"sqlite:///{small_disk / 'scanhook.db'}",
        services,
        session,
        retry_schedule="1s,2s,5s",
    )
    filler = small_disk / "filler"
    numbers = _Numbers(EVENTS)
    try:
        await serve.start().ready()
        await api.add_endpoint(receiver.url)
        accepted = await api.accept_batch(range(EVENTS))
        await until(
            lambda: len(receiver.delivered()) >= EVENTS // 5, 30, "deliveries to flow", [serve]
        )

        await asyncio.to_thread(_fill, filler)
        full = time.time()
        # SQLite's write-ahead log may still have room for a few writes: publish until the
        # disk's being full shows (what was accepted meanwhile is on disk and counts).
        refused = None
        for _ in range(40):
            chunk = [numbers.take() for _ in range(200)]
            status, answer = await api.publish_batch(chunk)
            if status == 202:
                accepted += chunk
                continue
            refused = status, answer
            break
        health = await api.call("GET", "/healthz")
        await asyncio.sleep(max(0.0, full + 2.0 - time.time()))
        alive_while_full = serve.alive()
        last_before = max((h.at for h in receiver.hits if h.status == 200), default=full)

        filler.unlink()
        freed = time.time()
        api_back = await until(
            lambda: _accept_one(api, numbers.take()),
            RESUME_WITHIN + 30,
            "the API to accept a publish again",
            [serve],
        )
        accepted += [numbers.next]
        resumed = await until(
            lambda: receiver.first_success_after(freed) is not None,
            RESUME_WITHIN + 30,
            "a delivery after space came back",
            [serve],
        )
        await receiver.every_delivery(accepted, [serve])
        counts = await api.settled([serve])
    finally:
        serve.stop_all()
        await receiver.stop()

    figures = record(
        receiver.figures(
            "sqlite disk full",
            "sqlite",
            accepted,
            resumed - freed,
            api_back_s=round(api_back - freed, 2),
            stalled_s=round(max(0.0, freed - last_before), 2),
        )
    )
    assert refused is not None, "the full disk never showed"
    status, answer = refused
    assert status == 503, answer
    # Said as it is: the disk is full (not "the database is not available").
    assert answer["error"]["code"] == "storage_full", answer
    assert answer["error"]["message"].startswith("the database's disk is full"), answer
    assert health[0] in (200, 503), health
    assert alive_while_full, serve.tail()
    assert figures.lost == 0
    assert counts["pending"] == counts["sending"] == counts["failed"] == 0, counts
    assert counts["succeeded"] == len(accepted), counts
    assert api_back - freed <= RESUME_WITHIN
    assert resumed - freed <= RESUME_WITHIN
