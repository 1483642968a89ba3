"""``scanhook emit``: publish a notification from a file, standard input or flags.

``scanhook emit FILE|-`` publishes what the file holds (one notification, a JSON array of them or
JSON lines); ``scanhook emit finished-scan|scheduled-scan|ticket --…`` builds one from flags named
after the contract's fields. Every notification is validated before anything is published.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text
from typer.core import TyperGroup

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
from scanhook.cli.output import err, out, write_bytes

if TYPE_CHECKING:
    from scanhook.config import Settings
from scanhook.errors import InvalidNotification

__all__ = ["emit_app", "register"]


class _FileOrCommand(TyperGroup):
    """``emit FILE`` and ``emit -`` mean ``emit file FILE``; the other words are commands."""

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and args[0] not in self.commands and (args[0] == "-" or args[0][:1] != "-"):
            return "file", self.commands["file"], args
        return super().resolve_command(ctx, args)


emit_app = typer.Typer(
    cls=_FileOrCommand,
    help="Publish a notification: `scanhook emit FILE` (or `-` for standard input), or "
    "`scanhook emit finished-scan|scheduled-scan|ticket` with a flag per field.",
    no_args_is_help=True,
    subcommand_metavar="FILE|-|COMMAND",
)

ScanTypeOption = Annotated[
    str,
    typer.Option(
        "--type", help='The scan type: "network" or "web application".', show_default=False
    ),
]
IdempotencyOption = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        help="Publishing the same key again (within 24 h) returns the first event.",
        show_default=False,
    ),
]
DryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Print the notification exactly as it would be sent; publish nothing."
    ),
]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="minutes")


def _validate(items: list[tuple[str | None, Any]], settings: Settings) -> None:
    """Exit 1 naming every bad field of every bad notification; nothing is published then."""
    from scanhook.notifications.encoding import parse

    bad = 0
    for where, data in items:
        try:
            parse(data, settings.display_tz)
        except InvalidNotification as exc:
            bad += 1
            head = "invalid notification" + (f" ({where})" if where else "")
            err.print(Text(head, style="bold red"))
            for problem in exc.problems:
                err.print(
                    Text.assemble(
                        "  ", (str(problem["field"]), "bold"), ": ", str(problem["message"])
                    )
                )
    if bad:
        fail(f"{bad} of {len(items)} notification(s) invalid; nothing was published")


def _publish(
    items: list[tuple[str | None, Any]],
    settings: Settings,
    idempotency_key: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    from scanhook.notifications.encoding import encode, parse

    _validate(items, settings)
    if dry_run:
        for _, data in items:
            write_bytes(encode(parse(data, settings.display_tz), settings.display_tz) + b"\n")
        return
    if idempotency_key and len(items) > 1:
        fail("--idempotency-key applies to one notification; the input holds several", 2)

    async def go() -> list[dict[str, Any]]:
        results = []
        async with connect(settings) as backend:
            for _, data in items:
                results.append(await _send(backend, data, settings, idempotency_key))
        return results

    results = run_async(go())
    if as_json:
        print_json(results[0] if len(results) == 1 else results)
        return
    for result in results:
        count = result.get("deliveries", 0)
        out.print(
            Text.assemble(
                ("published ", "bold green"),
                (str(result.get("type", "")), "bold"),
                f"  {result.get('id')}  → {count} deliver{'y' if count == 1 else 'ies'}",
            )
        )
    if results and all(not r.get("deliveries") for r in results):
        out.print(
            Text(
                "No endpoint takes these event types yet: scanhook endpoint add URL",
                style="dim",
            )
        )


async def _send(
    backend: Backend, data: Any, settings: Settings, idempotency_key: str | None
) -> dict[str, Any]:
    from scanhook.notifications.encoding import parse, to_wire

    # Send the wire form: what the receivers will get, whatever the input's spelling.
    wire = to_wire(parse(data, settings.display_tz), settings.display_tz)
    return await backend.publish(wire, idempotency_key)


def _read_items(source: str) -> list[tuple[str | None, Any]]:
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror or exc}", 2)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(f"{source} is not UTF-8 text: {exc}", 2)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        fail(f"{'standard input' if source == '-' else source} holds no notification", 2)
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        if len(lines) == 1:
            fail(f"{source} is not JSON: {exc}", 2)
        items: list[tuple[str | None, Any]] = []
        for number, line in lines:
            try:
                items.append((f"line {number}", json.loads(line)))
            except (ValueError, RecursionError) as line_exc:
                fail(f"{source} line {number} is not JSON: {line_exc}", 2)
        return items
    if isinstance(whole, list):
        return [(f"item {index}", value) for index, value in enumerate(whole, 1)]
    return [(None, whole)]


@emit_app.command("file")
def emit_file(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="One JSON notification, a JSON array of them, or JSON lines; - is stdin.",
        ),
    ],
    idempotency_key: IdempotencyOption = None,
    dry_run: DryRunOption = False,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Publish the notifications in FILE (`scanhook emit FILE` works too).

    Try: `scanhook sample mixed -n 5 | scanhook emit -`
    """
    settings = connection_settings(database_url, api_url, token)
    _publish(_read_items(source), settings, idempotency_key, dry_run, as_json)


@emit_app.command("finished-scan")
def finished_scan(
    name: Annotated[str, typer.Option("--name", help="The scan's name.", show_default=False)],
    scan_type: ScanTypeOption,
    link: Annotated[
        str, typer.Option("--link", help="URL of the scan's results.", show_default=False)
    ],
    started: Annotated[
        str | None,
        typer.Option(
            "--started",
            help="'YYYY-MM-DD HH:MM' (in the display time zone) or ISO 8601. Default: --finished.",
            show_default=False,
        ),
    ] = None,
    finished: Annotated[
        str | None,
        typer.Option("--finished", help="Like --started. Default: now.", show_default=False),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            "--duration",
            help="HH:MM; computed from --started and --finished when omitted.",
            show_default=False,
        ),
    ] = None,
    status: Annotated[str, typer.Option("--status", help="The scan's status.")] = "Completed",
    errors: Annotated[
        list[str] | None,
        typer.Option(
            "--error",
            "--errors",
            help="An error message (repeat it; they are joined by a blank line).",
            show_default=False,
        ),
    ] = None,
    critical: Annotated[
        int, typer.Option("--critical", "--critical-cnt", min=0, help="critical_cnt")
    ] = 0,
    high: Annotated[int, typer.Option("--high", "--high-cnt", min=0, help="high_cnt")] = 0,
    medium: Annotated[int, typer.Option("--medium", "--medium-cnt", min=0, help="medium_cnt")] = 0,
    low: Annotated[int, typer.Option("--low", "--low-cnt", min=0, help="low_cnt")] = 0,
    idempotency_key: IdempotencyOption = None,
    dry_run: DryRunOption = False,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Publish a finished_scan notification.

    Example: `scanhook emit finished-scan --name "Daily scan" --type network
    --started "2018-08-21 12:02" --finished "2018-08-21 12:59" --critical 1 --medium 3
    --link https://sc.example.com/scans/scans/view/123`
    """
    finished = finished or _now()
    fields: dict[str, Any] = {
        "name": name,
        "type": scan_type,
        "started": started or finished,
        "finished": finished,
    }
    if duration is not None:
        fields["duration"] = duration
    fields.update(
        {
            "status": status,
            "errors": "\n\n".join(errors or []),
            "critical_cnt": critical,
            "high_cnt": high,
            "medium_cnt": medium,
            "low_cnt": low,
            "link": link,
        }
    )
    settings = connection_settings(database_url, api_url, token)
    _publish([(None, {"finished_scan": fields})], settings, idempotency_key, dry_run, as_json)


@emit_app.command("scheduled-scan")
def scheduled_scan(
    name: Annotated[str, typer.Option("--name", help="The scan's name.", show_default=False)],
    scan_type: ScanTypeOption,
    starts_at: Annotated[
        str,
        typer.Option(
            "--starts-at",
            help="When the scan starts: 'YYYY-MM-DD HH:MM' (display time zone) or ISO 8601.",
            show_default=False,
        ),
    ],
    link: Annotated[
        str,
        typer.Option("--link", help="URL of the scan's schedule settings.", show_default=False),
    ],
    idempotency_key: IdempotencyOption = None,
    dry_run: DryRunOption = False,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Publish a scheduled_scan notification (a scan is coming)."""
    fields = {"name": name, "type": scan_type, "starts_at": starts_at, "link": link}
    settings = connection_settings(database_url, api_url, token)
    _publish([(None, {"scheduled_scan": fields})], settings, idempotency_key, dry_run, as_json)


@emit_app.command("ticket")
def ticket(
    number: Annotated[int, typer.Option("--number", min=0, help="The ticket number.")],
    severity: Annotated[
        str,
        typer.Option("--severity", help="Info, Low, Medium, High or Critical.", show_default=False),
    ],
    vulnerability_name: Annotated[
        str,
        typer.Option("--vulnerability-name", "--vulnerability", help="The vulnerability's name."),
    ],
    asset_name: Annotated[
        str, typer.Option("--asset-name", "--asset", help="The affected asset's name.")
    ],
    asset_link: Annotated[str, typer.Option("--asset-link", help="URL of the asset's page.")],
    due_date: Annotated[
        str, typer.Option("--due-date", "--due", help="YYYY-MM-DD.", show_default=False)
    ],
    owner: Annotated[str, typer.Option("--owner", help="The ticket owner's e-mail.")],
    status: Annotated[
        str,
        typer.Option(
            "--status",
            help='"Open" (event ticket.opened) or a status starting with "Closed", '
            'e.g. "Closed (Fixed)" (event ticket.closed).',
        ),
    ] = "Open",
    idempotency_key: IdempotencyOption = None,
    dry_run: DryRunOption = False,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Publish a ticket notification: ticket.opened, or ticket.closed for a closed status."""
    fields = {
        "number": number,
        "status": status,
        "severity": severity,
        "vulnerability_name": vulnerability_name,
        "asset_name": asset_name,
        "asset_link": asset_link,
        "due_date": due_date,
        "owner": owner,
    }
    settings = connection_settings(database_url, api_url, token)
    _publish([(None, {"ticket": fields})], settings, idempotency_key, dry_run, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(emit_app, name="emit")
