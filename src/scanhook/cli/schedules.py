"""``scanhook schedule …``: scan schedules whose runs are announced by ``scheduled_scan``
notifications (docs/schedules.md), on the database or through ``--api-url``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from scanhook.cli.client import JSON, Backend, connect
from scanhook.cli.common import (
    ApiUrlOption,
    DatabaseOption,
    JsonOption,
    TokenOption,
    connection_settings,
    print_json,
    run_async,
)
from scanhook.cli.output import out

__all__ = ["register", "schedule_app"]

T = TypeVar("T")

schedule_app = typer.Typer(
    help="Scan schedules: scanhook announces every run with scheduled_scan notifications, "
    "each lead (24h, 1h, …) ahead of it.",
    no_args_is_help=True,
)

IdArgument = Annotated[
    str, typer.Argument(metavar="SCHEDULE_ID", help="The schedule's id (sch_…).")
]
TypeOption = Annotated[
    str | None,
    typer.Option("--type", "-t", help='"network" or "web application".', show_default=False),
]
LinkOption = Annotated[
    str | None,
    typer.Option("--link", help="The scan's page in the Security Center.", show_default=False),
]
RecurrenceOption = Annotated[
    str | None,
    typer.Option(
        "--recurrence",
        "-r",
        help="Cron ('30 2 * * *') or RFC 5545 text ('DTSTART:20261201T023000\\nRRULE:FREQ="
        "WEEKLY;BYDAY=MO'; a literal \\n is read as a line break).",
        show_default=False,
    ),
]
TimezoneOption = Annotated[
    str | None,
    typer.Option(
        "--timezone", "-z", help="IANA zone of the recurrence (default UTC).", show_default=False
    ),
]
LeadOption = Annotated[
    list[str] | None,
    typer.Option(
        "--lead",
        "-l",
        help="How long before each run to announce it (repeat it; default 24h and 1h; 0s: at "
        "the start).",
        show_default=False,
    ),
]

_DETAIL = (
    ("id", "id"),
    ("name", "name"),
    ("type", "type"),
    ("link", "link"),
    ("recurrence", "recurrence"),
    ("timezone", "timezone"),
    ("leads", "leads"),
    ("enabled", "enabled"),
    ("created_at", "created"),
    ("updated_at", "updated"),
)


def _recurrence(text: str | None) -> str | None:
    """A recurrence from the command line: ``\\n`` typed in a shell stands for a line break."""
    return None if text is None else text.replace("\\n", "\n")


def _fields(**values: Any) -> JSON:
    return {key: value for key, value in values.items() if value is not None}


def _act(
    database_url: str | None,
    api_url: str | None,
    token: str | None,
    action: Callable[[Backend], Awaitable[T]],
) -> T:
    settings = connection_settings(database_url, api_url, token)

    async def go() -> T:
        async with connect(settings) as backend:
            return await action(backend)

    return run_async(go())


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def schedule_detail(schedule: JSON) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, label in _DETAIL:
        if key in schedule:
            table.add_row(label, _text(schedule[key]))
    return table


def schedules_table(schedules: list[JSON]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("SCHEDULE", no_wrap=True)
    for column in ("NAME", "TYPE", "RECURRENCE", "ZONE", "LEADS", "ENABLED"):
        table.add_column(column, overflow="fold")
    for s in schedules:
        table.add_row(
            *(
                _text(s.get(key, ""))
                for key in ("id", "name", "type", "recurrence", "timezone", "leads", "enabled")
            )
        )
    return table


def next_table(notices: list[JSON]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("SEND AT", "STARTS AT", "LEAD"):
        table.add_column(column, no_wrap=True)
    for n in notices:
        table.add_row(str(n.get("send_at")), str(n.get("starts_at")), str(n.get("lead")))
    return table


def notices_table(notices: list[JSON]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("SEND AT", "STARTS AT", "LEAD", "STATUS", "EVENT"):
        table.add_column(column, no_wrap=True)
    for n in notices:
        table.add_row(
            str(n.get("send_at")),
            str(n.get("starts_at")),
            str(n.get("lead")),
            str(n.get("status")),
            str(n.get("event_id") or ""),
        )
    return table


def _show(schedule: JSON, as_json: bool, headline: str | None = None) -> None:
    if as_json:
        print_json(schedule)
        return
    out.print(schedule_detail(schedule))
    if headline:
        out.print(Text(headline, style="bold green"))


@schedule_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The scan's name, as sent in the notifications.")],
    type_: TypeOption = None,
    link: LinkOption = None,
    recurrence: RecurrenceOption = None,
    timezone: TimezoneOption = None,
    lead: LeadOption = None,
    disabled: Annotated[
        bool, typer.Option("--disabled", help="Create it disabled (announce nothing yet).")
    ] = False,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a schedule and print it.

    Example: `scanhook schedule add "Nightly scan" -t network --link https://sc.example.com/s/42
    -r "30 2 * * *" -z Europe/Stockholm -l 24h -l 1h`
    """
    fields = _fields(
        name=name,
        type=type_,
        link=link,
        recurrence=_recurrence(recurrence),
        timezone=timezone,
        leads=lead or None,
        enabled=False if disabled else None,
    )
    created = _act(database_url, api_url, token, lambda b: b.add_schedule(fields))
    _show(created, as_json, f"schedule {created.get('id')} added")


@schedule_app.command("list")
def list_(
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the schedules."""
    schedules = _act(database_url, api_url, token, lambda b: b.list_schedules())
    if as_json:
        print_json(schedules)
    else:
        out.print(schedules_table(schedules))


@schedule_app.command("show")
def show(
    schedule_id: IdArgument,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one schedule."""
    _show(_act(database_url, api_url, token, lambda b: b.get_schedule(schedule_id)), as_json)


@schedule_app.command("update")
def update(
    schedule_id: IdArgument,
    name: Annotated[
        str | None, typer.Option("--name", help="A new name.", show_default=False)
    ] = None,
    type_: TypeOption = None,
    link: LinkOption = None,
    recurrence: RecurrenceOption = None,
    timezone: TimezoneOption = None,
    lead: LeadOption = None,
    enabled: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="Start or stop announcing.", show_default=False),
    ] = None,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a schedule (options left out stay as they are). A change of the recurrence, zone,
    leads or switch affects only notices sent after it."""
    changes = _fields(
        name=name,
        type=type_,
        link=link,
        recurrence=_recurrence(recurrence),
        timezone=timezone,
        leads=lead or None,
        enabled=enabled,
    )
    if not changes:
        raise typer.BadParameter("give at least one option to change", param_hint="options")
    updated = _act(database_url, api_url, token, lambda b: b.update_schedule(schedule_id, changes))
    _show(updated, as_json, f"schedule {schedule_id} updated")


@schedule_app.command("delete")
def delete(
    schedule_id: IdArgument,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
) -> None:
    """Delete a schedule: it announces nothing more; its notice log stays."""
    _act(database_url, api_url, token, lambda b: b.delete_schedule(schedule_id))
    out.print(Text(f"schedule {schedule_id} deleted", style="bold green"))


@schedule_app.command("next")
def next_(
    schedule_id: IdArgument,
    count: Annotated[
        int, typer.Option("--count", "-n", min=1, max=1000, help="How many notices.")
    ] = 10,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The next notices the schedule will send, in send order."""
    body = _act(database_url, api_url, token, lambda b: b.next_notices(schedule_id, count))
    if as_json:
        print_json(body)
    else:
        out.print(next_table(list(body.get("notices", []))))


@schedule_app.command("notices")
def notices(
    schedule_id: IdArgument,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100000, help="At most this many.")
    ] = 100,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The notices sent (with their events) and skipped (too late after downtime) so far."""
    found = _act(database_url, api_url, token, lambda b: b.schedule_notices(schedule_id, limit))
    if as_json:
        print_json(found)
    else:
        out.print(notices_table(found))


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
