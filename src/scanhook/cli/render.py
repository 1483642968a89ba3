"""Rich renderings of the API's JSON for people: tables, detail panels, short times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = [
    "STATUS_STYLES",
    "deliveries_table",
    "endpoint_detail",
    "endpoints_table",
    "event_detail",
    "short_time",
    "stats_table",
    "status_text",
]

STATUS_STYLES = {
    "pending": "yellow",
    "sending": "cyan",
    "succeeded": "green",
    "failed": "bold red",
}


def short_time(value: Any) -> str:
    """An ISO 8601 time as ``2026-01-12 08:30:05`` (UTC); '' for None."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def status_text(status: Any) -> Text:
    return Text(str(status), style=STATUS_STYLES.get(str(status), ""))


def _circuit_line(circuit: Any) -> str | None:
    """An endpoint's circuit (``health.circuit``, or a ``circuit_delay``) in one line; None when
    it is closed."""
    if not isinstance(circuit, dict):
        return None
    state = circuit.get("state")
    reason = circuit.get("reason")
    why = f" ({reason})" if reason else ""
    if state == "open":
        return f"circuit open until {short_time(circuit.get('open_until'))}{why}"
    if state == "half-open":
        return f"circuit half-open, one probe at a time until one succeeds{why}"
    return None


def _health(endpoint: dict[str, Any]) -> Text:
    if not endpoint.get("enabled", True):
        reason = endpoint.get("disabled_reason")
        return Text("disabled" + (f": {reason}" if reason else ""), style="red")
    nested = endpoint.get("health")
    health: dict[str, Any] = nested if isinstance(nested, dict) else endpoint
    circuit = _circuit_line(health.get("circuit"))
    if circuit is not None:
        return Text(circuit, style="yellow")
    failures = health.get("consecutive_failures") or 0
    if failures:
        return Text(f"{failures} failures in a row", style="yellow")
    return Text("ok", style="green")


def endpoints_table(endpoints: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(endpoints)} endpoint(s)", title_justify="left")
    table.add_column("ID", no_wrap=True)
    for column in ("URL", "EVENT TYPES", "FORMAT", "STATE", "DESCRIPTION"):
        table.add_column(column, overflow="fold")
    for e in endpoints:
        table.add_row(
            str(e.get("id", "")),
            str(e.get("url", "")),
            ", ".join(e.get("event_types") or []),
            str(e.get("format", "raw")),
            _health(e),
            str(e.get("description") or ""),
        )
    return table


_DETAIL_FIELDS = (
    ("id", "id"),
    ("url", "url"),
    ("description", "description"),
    ("event_types", "event types"),
    ("format", "format"),
    ("format_options", "format options"),
    ("filter", "filter"),
    ("headers", "extra headers"),
    ("legacy_headers", "legacy headers"),
    ("auth", "auth"),
    ("timeout", "timeout (s)"),
    ("max_in_flight", "max in flight"),
    ("rate_limit", "rate limit (/s)"),
    ("ordered", "ordered"),
    ("secret", "secret"),
    ("created_at", "created"),
    ("updated_at", "updated"),
    ("last_success_at", "last success"),
    ("failing_since", "failing since"),
)


def _value(key: str, value: Any) -> RenderableType:
    if key.endswith("_at") or key == "failing_since":
        return short_time(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value) if value else ""
    if value is None:
        return ""
    return str(value)


def endpoint_detail(endpoint: dict[str, Any]) -> Table:
    health = endpoint.get("health")
    if isinstance(health, dict):
        endpoint = {**endpoint, **health}
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("state", _health(endpoint))
    for key, label in _DETAIL_FIELDS:
        if key in endpoint and endpoint[key] not in (None, "", {}, []):
            table.add_row(label, _value(key, endpoint[key]))
    circuit = endpoint.get("circuit")
    if isinstance(circuit, dict):
        table.add_row("circuit", str(circuit.get("state", "")))
        if circuit.get("state") != "closed":
            table.add_row("circuit opened", short_time(circuit.get("opened_at")))
            table.add_row("circuit paused until", short_time(circuit.get("open_until")))
            table.add_row("circuit reason", str(circuit.get("reason") or ""))
            table.add_row("failed probes", str(circuit.get("failed_probes", 0)))
    return table


def deliveries_table(deliveries: list[dict[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("DELIVERY", "TYPE", "STATUS", "TRIES", "UPDATED"):
        table.add_column(column, no_wrap=True)
    table.add_column("LAST", overflow="fold")
    table.add_column("ENDPOINT", overflow="fold")
    for d in deliveries:
        attempts = d.get("attempts")
        count = d.get("attempt_count", len(attempts) if isinstance(attempts, list) else attempts)
        last = d.get("last_status_code") or d.get("last_error") or ""
        table.add_row(
            str(d.get("id", "")),
            str(d.get("event_type", "")),
            status_text(d.get("status", "")),
            str(count if count is not None else ""),
            short_time(d.get("updated_at") or d.get("created_at"))[11:],
            str(last),
            str(d.get("endpoint_id", "")),
        )
    return table


def event_detail(event: dict[str, Any]) -> Group:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    head.add_row("event", str(event.get("id", "")))
    head.add_row("type", str(event.get("type", "")))
    head.add_row("created", short_time(event.get("created_at")))
    if event.get("idempotency_key"):
        head.add_row("idempotency key", str(event["idempotency_key"]))
    payload = Text(json.dumps(event.get("payload"), indent=2, ensure_ascii=False))
    attempts = Table(title="deliveries", title_justify="left")
    for column in ("DELIVERY", "ENDPOINT", "STATUS", "ATTEMPT", "STARTED", "MS", "HTTP", "ERROR"):
        attempts.add_column(column, overflow="fold")
    for d in event.get("deliveries") or []:
        rows = d.get("attempts") if isinstance(d.get("attempts"), list) else []
        if not rows:
            attempts.add_row(
                str(d.get("id", "")), str(d.get("endpoint_id", "")), status_text(d.get("status"))
            )
        for index, a in enumerate(rows):
            attempts.add_row(
                str(d.get("id", "")) if index == 0 else "",
                str(d.get("endpoint_id", "")) if index == 0 else "",
                status_text(d.get("status")) if index == 0 else "",
                str(a.get("number", "")),
                short_time(a.get("started_at")),
                str(a.get("duration_ms", "")),
                str(a.get("status_code") or ""),
                str(a.get("error") or ""),
            )
    return Group(head, Text("payload", style="bold"), payload, attempts)


def stats_table(stats: dict[str, Any]) -> Table:
    table = Table(title="deliveries and endpoints", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    deliveries = stats.get("deliveries")
    if isinstance(deliveries, dict):
        for status, count in deliveries.items():
            table.add_row(status_text(f"deliveries {status}"), str(count))
    for key, value in stats.items():
        if key == "deliveries":
            continue
        if isinstance(value, dict):
            for inner, count in value.items():
                table.add_row(f"{key} {inner}".replace("_", " "), str(count))
        else:
            shown = (
                "—"
                if value is None
                else (f"{value:.1f}" if isinstance(value, float) else str(value))
            )
            table.add_row(key.replace("_", " "), shown)
    return table
