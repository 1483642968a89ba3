"""The claim's queries use indexes: EXPLAIN on a deliveries table of realistic shape (mostly
finished rows, some due, a few in flight), after ANALYZE, shows no sequential scan of it."""

from __future__ import annotations

from typing import Any

import pytest
from pgkit import sql
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Executable

from scanhook.store import queries as q

pytestmark = pytest.mark.postgres

ROWS = 60_000
ENDPOINTS = 20
NOW = 1_800_000_000.0 + ROWS


def _fill(url: str) -> None:
    sql(
        url,
        "INSERT INTO endpoints (id, url, description, event_types, secrets, enabled, headers,"
        " legacy_headers, max_in_flight, ordered, format, format_options, created_at,"
        " updated_at, consecutive_failures)"
        " SELECT 'ep_' || g, 'https://r.example/h', '', '[\"*\"]', '[]', true, '{}', false, 10,"
        " false, 'raw', '{}', 0, 0, 0 FROM generate_series(0, :n - 1) g",
        {"n": ENDPOINTS},
    )
    sql(
        url,
        "INSERT INTO events (id, type, body, created_at)"
        " SELECT 'evt_' || lpad(g::text, 8, '0'), 'ticket.opened', '\\x7b7d'::bytea,"
        " 1800000000 + g FROM generate_series(1, :n) g",
        {"n": ROWS},
    )
    sql(
        url,
        "INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, attempts,"
        " next_attempt_at, lease_until, created_at, updated_at, publish_seq)"
        " SELECT 'dlv_' || lpad(g::text, 8, '0'), 'evt_' || lpad(g::text, 8, '0'),"
        " 'ep_' || (g % :e), 'ticket.opened',"
        " CASE WHEN g % 97 = 0 THEN 'sending' WHEN g % 10 = 0 THEN 'pending'"
        "      WHEN g % 31 = 0 THEN 'failed' ELSE 'succeeded' END,"
        " 1, CASE WHEN g % 10 = 0 THEN 1800000000 + g END,"
        " CASE WHEN g % 97 = 0 THEN 1800000000 + g + 60 END,"
        " 1800000000 + g, 1800000000 + g, g FROM generate_series(1, :n) g",
        {"n": ROWS, "e": ENDPOINTS},
    )
    sql(url, "ANALYZE")


def _plan(url: str, statement: Executable) -> Any:
    """The plan PostgreSQL makes for ``statement`` with its bound values (as the store runs it:
    psycopg 3, parameters sent apart from the text)."""
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            state = statement.compile(dialect=connection.dialect).construct_expanded_state()
            [(plan,)] = connection.exec_driver_sql(
                f"EXPLAIN (FORMAT JSON) {state.statement}", dict(state.parameters)
            ).all()
    finally:
        engine.dispose()
    return plan[0]["Plan"]


def _seq_scans(node: Any) -> list[str]:
    found = []
    if node.get("Node Type") == "Seq Scan":
        found.append(node.get("Relation Name", "?"))
    for child in node.get("Plans", []):
        found.extend(_seq_scans(child))
    return found


def test_claim_queries_never_scan_deliveries(pg_url: str) -> None:
    _fill(pg_url)
    some = [f"dlv_{i:08d}" for i in (10, 20, 97, 194, 30)]
    claim_queries: dict[str, Executable] = {
        "DUE_PENDING": q.DUE_PENDING.params(endpoint_id="ep_3", now=NOW, limit=100, offset=0),
        "SENDING_OF_ENDPOINT": q.SENDING_OF_ENDPOINT.params(endpoint_id="ep_3"),
        "EXPIRED_TO_RECLAIM": q.EXPIRED_TO_RECLAIM.params(ids=some, now=NOW),
        "SENDING_COUNTS": q.SENDING_COUNTS.params(ids=["ep_3", "ep_4"], now=NOW),
        "EXPIRED_OF_ENDPOINT": q.EXPIRED_OF_ENDPOINT.params(endpoint_id="ep_3", now=NOW),
        "OLDEST_UNFINISHED": q.OLDEST_UNFINISHED.params(endpoint_id="ep_3", from_seq=0),
        "LAST_SEQ_OF_ENDPOINT": q.LAST_SEQ_OF_ENDPOINT.params(endpoint_id="ep_3"),
        "EARLIEST_PENDING": q.EARLIEST_PENDING.params(endpoint_id="ep_3"),
        # An UPDATE cannot take .params(); its WHERE as a SELECT plans the same row lookup.
        "MARK_SENDING": select(q.deliveries.c.id)
        .where(q.MARK_SENDING.whereclause)  # type: ignore[arg-type]
        .params(b_id=some[0]),
        "CLAIMED_ROWS": q.CLAIMED_ROWS.params(ids=some),
    }
    scans = {name: _seq_scans(_plan(pg_url, stmt)) for name, stmt in claim_queries.items()}
    assert {name: s for name, s in scans.items() if "deliveries" in s} == {}
    # The check can fail: a condition no index serves is a sequential scan of deliveries.
    naive = select(q.deliveries.c.id).where(q.deliveries.c.last_error == "x")
    assert _seq_scans(_plan(pg_url, naive)) == ["deliveries"]
