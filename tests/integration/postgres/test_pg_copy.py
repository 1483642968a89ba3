"""``scanhook db copy``: an embedded database made through the Hub moves into a new PostgreSQL
database — interrupted after a few batches and resumed — with every table's rows, and a Hub on
PostgreSQL then delivers the copied pending deliveries, signed with the copied secrets."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from pgkit import create_database, drop_database, sql
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from scanhook import Hub
from scanhook.cli import app
from scanhook.errors import ConflictError, DatabaseError
from scanhook.store import open_store
from scanhook.store.copy import copy_database
from scanhook.store.tables import metadata

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from engine_support import Receiver, receiving, ticket, wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def target() -> Iterator[str]:
    """A new, empty (not migrated) PostgreSQL database."""
    url = create_database("scanhook_copy")
    try:
        yield url
    finally:
        drop_database(url)


def sqlite_counts(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as c:
            return {
                t.name: int(c.execute(select(func.count()).select_from(t)).scalar_one())
                for t in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def pg_counts(url: str) -> dict[str, int]:
    return {
        t.name: int(sql(url, f"SELECT count(*) FROM {t.name}")[0][0])
        for t in metadata.sorted_tables
    }


class Bars:
    def __init__(self) -> None:
        self.started: dict[str, tuple[int, int]] = {}
        self.rows: dict[str, int] = {}

    def table_started(self, table: str, total: int, done: int) -> None:
        self.started[table] = (total, done)

    def rows_copied(self, table: str, rows: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows


async def populate(url: str, first: Receiver, second: Receiver) -> dict[str, Any]:
    """20 events delivered to ``first``; then 30 more pending for both (no worker running)."""
    async with Hub.open(url, allow_private_networks=True, poll_interval="0.1s") as hub:
        a = await hub.add_endpoint(first.url, description="first")
        await hub.publish_batch(
            [ticket(n) for n in range(20)], idempotency_keys=[f"k-{n}" for n in range(20)]
        )
        async with hub.run_workers():
            await wait_for(lambda: len(first.hits) >= 20, what="the first 20 deliveries")
            await wait_for(
                lambda: _succeeded(hub, 20), what="the first 20 deliveries to be recorded"
            )
        b = await hub.add_endpoint(second.url, description="second", max_in_flight=5)
        pending = await hub.publish_batch(
            [ticket(100 + n) for n in range(30)],
            idempotency_keys=[f"p-{n}" if n % 2 else None for n in range(30)],
        )
        await hub.create_token("ops")
        b_deliveries = await hub.store.list_deliveries(endpoint_id=b.id, limit=100)
        return {
            "a": a,
            "b": b,
            "pending_events": {r.event_id for r in pending},
            "b_ids": {d.id for d in b_deliveries},
        }


async def _succeeded(hub: Hub, count: int) -> bool:
    stats = await hub.store.stats(time.time())
    deliveries = stats["deliveries"]
    assert isinstance(deliveries, dict)
    return bool(deliveries["succeeded"] == count)


async def test_an_interrupted_copy_resumes_and_postgres_delivers_what_was_pending(
    tmp_path: Path, target: str
) -> None:
    source = f"sqlite:///{tmp_path}/embedded.db"
    first, second = Receiver(), Receiver()
    async with receiving(first, second):
        made = await populate(source, first, second)
        want = sqlite_counts(source)
        assert want["deliveries"] == 80
        assert want["attempts"] == 20
        assert want["api_tokens"] == 1

        # Interrupted after 6 batches of 7 rows: every table a prefix of its source.
        stopped = copy_database(source, target, batch_size=7, max_batches=6)
        assert not stopped.complete
        partial = pg_counts(target)
        assert sum(partial.values()) - partial["sequences"] < sum(want.values()) - 1
        assert partial["api_tokens"] == 1
        assert partial["endpoints"] == 2
        assert 0 < partial["events"] < want["events"]
        assert partial["deliveries"] == partial["attempts"] == 0

        # A second copy without --resume refuses to mix into it.
        with pytest.raises(ConflictError, match="--resume"):
            copy_database(source, target, batch_size=7)

        # Resumed: it continues after what is there and copies nothing twice.
        bars = Bars()
        report = copy_database(source, target, batch_size=7, resume=True, progress=bars)
        assert report.complete
        assert pg_counts(target) == want
        assert bars.started["events"] == (want["events"], partial["events"])
        assert bars.rows["events"] == want["events"] - partial["events"]
        assert "api_tokens" not in bars.rows  # already complete: no batch at all
        copied = {t.table: t.copied for t in report.tables}
        assert copied["deliveries"] == want["deliveries"]
        assert sql(target, "SELECT value FROM sequences") == [(80,)]

        # The endpoints came with their secrets and health; the events byte for byte.
        embedded, moved = open_store(source), open_store(target)
        try:
            for endpoint in (made["a"], made["b"]):
                assert await moved.get_endpoint(endpoint.id) == await embedded.get_endpoint(
                    endpoint.id
                )
            some = next(iter(made["pending_events"]))
            assert await moved.get_event(some) == await embedded.get_event(some)
        finally:
            await embedded.close()
            await moved.close()

        # A Hub on PostgreSQL delivers the 60 copied pending deliveries, signed as before.
        before = len(first.hits)
        async with Hub.open(target, allow_private_networks=True, poll_interval="0.1s") as hub:
            async with hub.run_workers():
                await wait_for(lambda: _succeeded(hub, 80), within=20, what="all 80 succeeded")
            stats = await hub.store.stats(time.time())
            # New publishes number after the copied ones (the publish sequence moved over).
            await hub.publish(ticket(999))
    assert stats["deliveries"] == {"pending": 0, "sending": 0, "succeeded": 80, "failed": 0}
    assert len(first.hits) - before == 30
    assert {hit.webhook_id for hit in second.hits} == made["b_ids"]
    assert len(second.hits) == 30
    secret = made["b"].secrets[0].value
    for hit in second.hits:
        standardwebhooks.Webhook(secret).verify(hit.body, hit.headers)
    assert sql(target, "SELECT value FROM sequences") == [(82,)]
    assert sql(target, "SELECT count(*) FROM deliveries WHERE publish_seq > 80") == [(2,)]


async def test_a_target_with_other_data_is_refused_and_a_short_copy_is_named(
    tmp_path: Path, target: str
) -> None:
    source = f"sqlite:///{tmp_path}/embedded.db"
    async with Hub.open(source) as hub:
        await hub.add_endpoint("https://receiver.example/hook")
        await hub.publish_batch(
            [ticket(n) for n in range(10)], idempotency_keys=[f"key-{n}" for n in range(10)]
        )
    copy_database(source, target)

    # A row lost in PostgreSQL (not the last one: resuming starts after the last key).
    sql(target, "DELETE FROM idempotency_keys WHERE key = 'key-0'")
    with pytest.raises(DatabaseError, match="idempotency_keys has 9 rows, the source 10"):
        copy_database(source, target, resume=True)

    # More rows than the source: not a partial copy of it, even with --resume.
    sql(
        target,
        "INSERT INTO api_tokens (id, name, token_hash, created_at) "
        "VALUES ('tok_other', 'other', 'ab', 0)",
    )
    with pytest.raises(ConflictError, match=r"more rows than the SQLite database \(api_tokens"):
        copy_database(source, target, resume=True)


async def test_the_command_prints_each_table_and_refuses_a_second_copy(
    tmp_path: Path, target: str
) -> None:
    source = f"sqlite:///{tmp_path}/embedded.db"
    async with Hub.open(source) as hub:
        await hub.add_endpoint("https://receiver.example/hook")
        await hub.publish(ticket(1))
    runner = CliRunner()
    done = runner.invoke(app, ["db", "copy", source, target, "--batch-size", "3"])
    assert done.exit_code == 0, done.output
    assert "every table's row count matches" in done.output
    assert "deliveries" in done.output
    assert "api_tokens" in done.output
    assert sql(target, "SELECT version_num FROM alembic_version")  # migrated first

    refused = runner.invoke(app, ["db", "copy", source, target])
    assert refused.exit_code == 1
    assert "already holds data (endpoints: 1, events: 1, deliveries: 1 rows)" in refused.output
    assert "--resume" in refused.output
    again = runner.invoke(app, ["db", "copy", source, target, "--resume"])
    assert again.exit_code == 0, again.output

    missing = runner.invoke(app, ["db", "copy", f"sqlite:///{tmp_path}/nope.db", target])
    assert missing.exit_code == 1
    assert "no such file" in missing.output
