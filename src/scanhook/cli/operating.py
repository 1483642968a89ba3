"""``scanhook events show``, ``deliveries``, ``replay``, ``retry``, ``stats``: what happened;
fixing it."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.live import Live
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from scanhook.cli.client import Backend, connect
from scanhook.cli.common import (
    ApiUrlOption,
    DatabaseOption,
    JsonOption,
    TokenOption,
    connection_settings,
    fail,
    print_json,
    run_async,
)
from scanhook.cli.output import err, out
from scanhook.cli.render import deliveries_table, event_detail, short_time, stats_table
from scanhook.durations import parse_duration

if TYPE_CHECKING:
    from scanhook.store.records import DeliveryStatus

#: The delivery statuses (scanhook.store.records.DELIVERY_STATUSES, without loading the store).
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "sending", "succeeded", "failed")

__all__ = ["register"]

events_app = typer.Typer(
    help="Published events: their payload and deliveries.", no_args_is_help=True
)


def _status(value: str | None, option: str = "--status") -> DeliveryStatus | None:
    if value is None or value == "any":
        return None
    for status in DELIVERY_STATUSES:
        if value == status:
            return status
    raise typer.BadParameter(
        f"{value!r} is not a delivery status; use one of " + ", ".join(DELIVERY_STATUSES),
        param_hint=option,
    )


def _since(value: str | None) -> float | None:
    """``2h`` (that long ago) or an ISO 8601 time (UTC when it has no offset)."""
    if value is None:
        return None
    try:
        return time.time() - parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither a duration ('2h', '1d') nor a time ('2026-01-12T08:00Z')",
            param_hint="--since",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.now().astimezone().tzinfo).astimezone()
    return moment.timestamp()


@events_app.command("show")
def show_event(
    event_id: Annotated[str, typer.Argument(metavar="EVENT_ID", help="The event's id (evt_…).")],
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an event: its payload, and each delivery with every attempt."""
    settings = connection_settings(database_url, api_url, token)

    async def go() -> dict[str, Any]:
        async with connect(settings) as backend:
            return await backend.get_event(event_id)

    event = run_async(go())
    if as_json:
        print_json(event)
    else:
        out.print(event_detail(event))


def deliveries(
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="Only this endpoint's deliveries.", show_default=False),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="pending, sending, succeeded or failed.", show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=1000, help="How many, newest first.")
    ] = 20,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Keep the table on screen, updated every second."),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between updates with --follow.")
    ] = 1.0,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List deliveries, newest first; `--follow` watches them live (Ctrl-C to stop)."""
    wanted = _status(status)
    if follow and as_json:
        fail("--follow shows a live table; leave out --json", 2)
    settings = connection_settings(database_url, api_url, token)

    async def fetch(backend: Backend) -> list[dict[str, Any]]:
        return await backend.list_deliveries(endpoint, wanted, limit)

    async def once() -> list[dict[str, Any]]:
        async with connect(settings) as backend:
            return await fetch(backend)

    async def watch() -> None:
        async with connect(settings) as backend:
            title = f"deliveries via {backend.where} — every {interval:g} s, Ctrl-C to stop"
            with Live(deliveries_table(await fetch(backend), title), console=out) as live:
                while True:
                    await asyncio.sleep(interval)
                    live.update(deliveries_table(await fetch(backend), title))

    if follow:
        try:
            run_async(watch())
        except typer.Exit as exc:
            if exc.exit_code == 130:
                raise typer.Exit(0) from None
            raise
        return
    found = run_async(once())
    if as_json:
        print_json(found)
    else:
        out.print(
            deliveries_table(found, f"{len(found)} deliver{'y' if len(found) == 1 else 'ies'}")
        )


def replay(
    endpoint_id: Annotated[str, typer.Argument(metavar="ENDPOINT_ID", help="The endpoint (ep_…).")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only deliveries created since: a duration ago ('2h', '1d') or a time "
            "(ISO 8601, e.g. 2026-01-12T08:00Z).",
            show_default=False,
        ),
    ] = None,
    status: Annotated[
        str,
        typer.Option("--status", help="Which finished deliveries: failed, succeeded or any."),
    ] = "failed",
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Requeue an endpoint's finished deliveries (by default the failed ones): they are sent
    again, due now, by the running workers."""
    if status not in ("failed", "succeeded", "any"):
        raise typer.BadParameter(
            f"{status!r}: replay takes failed, succeeded or any", param_hint="--status"
        )
    wanted = _status(status)
    moment = _since(since)
    settings = connection_settings(database_url, api_url, token)

    async def go() -> dict[str, Any]:
        async with connect(settings) as backend:
            await backend.get_endpoint(endpoint_id)
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=err,
                transient=True,
                disable=as_json,
            ) as progress:
                progress.add_task(f"requeueing {status} deliveries of {endpoint_id}", total=None)
                return await backend.replay(endpoint_id, moment, wanted)

    result = run_async(go())
    count = int(result["requeued"])
    if as_json:
        print_json({"endpoint_id": endpoint_id, **result})
        return
    out.print(
        Text.assemble(
            ("requeued ", "bold green"),
            f"{count} deliver{'y' if count == 1 else 'ies'} of {endpoint_id}",
        )
    )
    _circuit_note(result, plural=count != 1)
    if count:
        out.print(
            Text(
                f"Watch them go out: scanhook deliveries --endpoint {endpoint_id} --follow",
                style="dim",
            )
        )


def _circuit_note(answer: dict[str, Any], plural: bool) -> None:
    """A line saying that the endpoint's circuit will delay what was requeued, if it will."""
    delay = answer.get("circuit_delay")
    if not isinstance(delay, dict):
        return
    reason = delay.get("reason")
    why = f" ({reason})" if reason else ""
    they = "they wait" if plural else "it waits"
    if delay.get("state") == "open":
        until = short_time(delay.get("open_until"))
        text = f"the endpoint's circuit is open until {until}{why}: {they} until then"
    elif delay.get("state") == "half-open":
        text = (
            f"the endpoint's circuit is half-open{why}: one delivery at a time goes as a probe "
            f"until one succeeds, and {they} for that"
        )
    else:
        return
    out.print(Text.assemble(("note: ", "bold yellow"), text))


def retry(
    delivery_id: Annotated[
        str, typer.Argument(metavar="DELIVERY_ID", help="The failed delivery (dlv_…).")
    ],
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make a failed delivery due now: the running workers send it again (same webhook-id)."""
    settings = connection_settings(database_url, api_url, token)

    async def go() -> dict[str, Any]:
        async with connect(settings) as backend:
            return await backend.retry_delivery(delivery_id)

    result = run_async(go())
    if as_json:
        print_json(result)
        return
    out.print(
        Text.assemble(
            ("retrying ", "bold green"),
            f"{delivery_id} of {result.get('endpoint_id', '')}: due now",
        )
    )
    _circuit_note(result, plural=False)


def stats(
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deliveries by status, the age of the oldest due one, and endpoint counts."""
    settings = connection_settings(database_url, api_url, token)

    async def go() -> dict[str, Any]:
        async with connect(settings) as backend:
            return await backend.stats()

    result = run_async(go())
    if as_json:
        print_json(result)
    else:
        out.print(stats_table(result))


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")
    app.command("deliveries")(deliveries)
    app.command("replay")(replay)
    app.command("retry")(retry)
    app.command("stats")(stats)
