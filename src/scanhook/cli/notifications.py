"""``scanhook schema``, ``scanhook validate`` and ``scanhook sample``: the notifications at hand."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.text import Text

from scanhook.cli.output import err, out, write_bytes
from scanhook.errors import InvalidNotification

__all__ = ["register"]

SchemaType = Literal[
    "scheduled_scan", "finished_scan", "ticket", "ticket.opened", "ticket.closed", "notification"
]
SampleType = Literal[
    "scheduled_scan", "finished_scan", "ticket", "ticket.opened", "ticket.closed", "all", "mixed"
]

_TZ_HELP = (
    "IANA time zone in which timestamps are written and naive timestamps are read, "
    "e.g. Europe/Stockholm."
)
_SAMPLE_CHUNK = 1000


def _zone(name: str) -> tzinfo:
    from scanhook.notifications.timefmt import load_zone

    try:
        return load_zone(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tz") from None


def schema(
    type_: Annotated[
        SchemaType | None,
        typer.Argument(
            metavar="TYPE",
            help="scheduled_scan, finished_scan or ticket (ticket.opened and ticket.closed "
            "share the ticket schema). Without TYPE: the schema that accepts any notification.",
            show_default=False,
        ),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option(
            "--write",
            metavar="DIR",
            help="Write the schema files (all of them without TYPE) into DIR instead of printing.",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Print the JSON Schema (draft 2020-12) of the notifications scanhook sends.

    Use it to validate what your receiver gets, or to generate types for it.
    """
    from scanhook.notifications.schema import (
        ANY_NOTIFICATION,
        all_schemas,
        file_name,
        json_schema,
        notification_schema,
        render,
        schema_key,
    )

    name = ANY_NOTIFICATION if type_ is None or type_ == ANY_NOTIFICATION else schema_key(type_)
    if write is None:
        document = notification_schema() if name == ANY_NOTIFICATION else json_schema(name)
        write_bytes(render(document).encode("utf-8"))
        return
    schemas = all_schemas() if type_ is None else {name: all_schemas()[name]}
    try:
        write.mkdir(parents=True, exist_ok=True)
        for key, document in schemas.items():
            path = write / file_name(key)
            path.write_text(render(document), encoding="utf-8")
            err.print(Text(f"wrote {path}"))
    except OSError as exc:
        err.print(Text(f"cannot write the schemas to {write}: {exc}", style="red"))
        raise typer.Exit(2) from None


@dataclass
class _Item:
    """One notification found in the input, and where."""

    where: str | None
    data: Any
    problems: list[dict[str, object]] = field(default_factory=list)


def _looks_like_json(line: str) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def _items(raw: bytes) -> list[_Item]:
    """The notifications of ``raw``: one JSON document, a JSON array of them, or JSON lines."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [_Item(None, None, [{"field": "(body)", "message": f"not UTF-8 text: {exc}"}])]
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        return [_Item(None, None, [{"field": "(body)", "message": "no notification in the input"}])]
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to read
        if len(lines) > 1 and any(_looks_like_json(line) for _, line in lines):
            return [_Item(f"line {number}", line) for number, line in lines]
        return [_Item(None, text)]
    if isinstance(whole, list):
        return [_Item(f"item {index}", value) for index, value in enumerate(whole, 1)]
    return [_Item(None, whole)]


def _read(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(file).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        err.print(Text(f"scanhook validate: cannot read {file}: {reason}", style="red"))
        raise typer.Exit(2) from None


def validate(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="A file with one JSON notification, a JSON array of them, or one per line "
            "(JSON lines); - reads standard input.",
        ),
    ],
    tz: Annotated[
        str, typer.Option("--tz", metavar="ZONE", envvar="SCANHOOK_DISPLAY_TIMEZONE", help=_TZ_HELP)
    ] = "UTC",
) -> None:
    """Check notifications against the models: every field, its type and its format.

    Prints `ok  finished_scan` (its event type) for each valid notification and, for each
    invalid one, every problem with the field it is in. Exit status: 0 all valid, 1 any
    invalid, 2 unreadable input.
    """
    from scanhook.notifications.encoding import parse

    zone = _zone(tz)
    items = _items(_read(file))
    invalid = 0
    for item in items:
        if not item.problems:
            try:
                notification = parse(item.data, zone)
            except InvalidNotification as exc:
                item.problems = exc.problems
            else:
                line = Text.assemble(("ok", "green"), "  ", notification.event_type)
                if item.where:
                    line.append(f"  ({item.where})", style="dim")
                out.print(line)
                continue
        invalid += 1
        head = Text.assemble(("invalid", "bold red"))
        if item.where:
            head.append(f"  {item.where}")
        out.print(head)
        for problem in item.problems:
            out.print(
                Text.assemble("  ", (str(problem["field"]), "bold"), ": ", str(problem["message"]))
            )
    if len(items) > 1:
        out.print(Text(f"{len(items) - invalid} valid, {invalid} invalid", style="dim"))
    if invalid:
        raise typer.Exit(1)


def sample(
    type_: Annotated[
        SampleType,
        typer.Argument(
            metavar="TYPE",
            help="scheduled_scan, finished_scan, ticket (opened or closed), ticket.opened, "
            "ticket.closed, all (each event type in turn) or mixed (a realistic mix).",
            show_default=False,
        ),
    ],
    count: Annotated[
        int, typer.Option("--count", "-n", min=1, help="How many notifications to print.")
    ] = 1,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Same seed, same output (times anchored at 2026-01-12 08:30 UTC); "
            "without it, every run differs and times are now.",
        ),
    ] = None,
    tz: Annotated[
        str, typer.Option("--tz", metavar="ZONE", envvar="SCANHOOK_DISPLAY_TIMEZONE", help=_TZ_HELP)
    ] = "UTC",
) -> None:
    """Print realistic sample notifications, one per line, exactly as scanhook sends them.

    Scan names, assets, vulnerability names, severities, owners and links look like a real
    Security Center's. Try: `scanhook sample finished_scan | scanhook validate -`
    """
    from scanhook.notifications.encoding import encode
    from scanhook.notifications.samples import samples

    zone = _zone(tz)
    notifications = samples(type_, count, seed)
    for start in range(0, len(notifications), _SAMPLE_CHUNK):
        chunk = notifications[start : start + _SAMPLE_CHUNK]
        if not write_bytes(b"".join(encode(n, zone) + b"\n" for n in chunk)):
            return


def register(app: typer.Typer) -> None:
    """Put the notification commands on ``app``."""
    app.command("schema")(schema)
    app.command("validate")(validate)
    app.command("sample")(sample)
