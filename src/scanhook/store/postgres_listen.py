"""The wake-up channel of a PostgreSQL store: one connection that LISTENs on ``scanhook_due``.

Publishes, retries, replays, releases and enabling commit with a ``NOTIFY scanhook_due`` (one
per transaction); every store's listener hears it and wakes its workers, in whatever process or
machine they run. The connection is opened on first use and reopened after a failure with
backoff; while it is down, waiting just times out, so the workers' poll is the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib

import psycopg
import structlog

from scanhook.store.postgres_engine import NOTIFY_CHANNEL

__all__ = ["Listener"]

log = structlog.get_logger("scanhook.store.postgres")


class Listener:
    """Wakes :meth:`wait` on every notification of :data:`NOTIFY_CHANNEL`."""

    def __init__(self, conninfo: str, label: str) -> None:
        self._conninfo = conninfo
        self._label = label
        self._notified = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Set while the LISTEN connection is up.
        self.listening = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Return on a notification received since the last return, or after ``seconds``."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="scanhook-pg-listen")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, seconds)):
                await self._notified.wait()
        self._notified.clear()

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, application_name="scanhook-listen"
                ) as connection:
                    await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.listening.set()
                    # Whatever was notified while no one listened: look once.
                    self._notified.set()
                    backoff = 0.5
                    async for _ in connection.notifies():
                        self._notified.set()
            except (psycopg.Error, OSError) as exc:
                log.warning(
                    "listening for wake-ups failed; polling meanwhile",
                    database=self._label,
                    error=str(exc).strip(),
                    retry_in=backoff,
                )
            self.listening.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.listening.clear()
