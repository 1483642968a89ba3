"""``scanhook listen``: a local receiver for integrators that verifies signatures, prints each
notification readably and answers with a chosen status (or fails some) to rehearse failures."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from scanhook.cli.common import fail, run_async
from scanhook.cli.output import err, out
from scanhook.receiver.printable import json_line, printable
from scanhook.receiver.summary import key_fields

if TYPE_CHECKING:
    from scanhook.receiver.app import Received, Receiver

__all__ = ["describe", "register"]


def _summary(event_type: str | None, fields: dict[str, Any]) -> str:
    if not fields:
        return ""
    if event_type and event_type.startswith("ticket"):
        return (
            f"#{fields.get('number')} {fields.get('status')} · {fields.get('severity')} · "
            f"{fields.get('vulnerability_name')} on {fields.get('asset_name')} "
            f"(due {fields.get('due_date')})"
        )
    if event_type == "scheduled_scan":
        return f"{fields.get('name')} ({fields.get('type')}) starts {fields.get('starts_at')}"
    counts = " ".join(
        f"{label} {fields.get(key)}"
        for label, key in (
            ("critical", "critical_cnt"),
            ("high", "high_cnt"),
            ("medium", "medium_cnt"),
            ("low", "low_cnt"),
        )
    )
    return (
        f"{fields.get('name')} ({fields.get('type')}) {fields.get('status')} "
        f"in {fields.get('duration')} · {counts}"
    )


#: The most characters of one value (a name, a header) a line shows.
_FIELD_LIMIT = 200


def describe(received: Received) -> Text:
    """One readable line (two for a bad signature) about a request the receiver got; whatever
    came from the request is bounded and has its terminal controls escaped."""
    when = datetime.fromtimestamp(received.received_at).strftime("%H:%M:%S")
    if received.signature == "valid":
        mark = ("✓ signed", "green")
    elif received.signature == "invalid":
        mark = ("✗ BAD SIGNATURE", "bold red")
    else:
        mark = ("· unchecked", "yellow")
    status_style = "green" if 200 <= received.status < 300 else "bold red"
    line = Text.assemble(
        (when, "dim"),
        "  ",
        mark,
        "  ",
        (f"→ {received.status}", status_style),
        "  ",
        (printable(received.event_type or "(no event type)", _FIELD_LIMIT), "bold cyan"),
        "  ",
    )
    summary = _summary(received.event_type, key_fields(received.payload))
    if summary:
        line.append(printable(summary, 2 * _FIELD_LIMIT))
    elif received.body:
        line.append(printable(received.body[:160].decode("utf-8", "replace")), style="dim")
    webhook_id = printable(received.webhook_id or "no webhook-id", _FIELD_LIMIT)
    line.append(f"  [{webhook_id} attempt {received.attempt or '?'}]", style="dim")
    if received.rehearsed_failure:
        line.append("  (rehearsed failure)", style="yellow")
    if received.problem:
        problem = printable(received.problem, 2 * _FIELD_LIMIT)
        line.append(f"\n    signature check failed: {problem}", style="red")
    return line


def listen(
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="The port (0: any free one).")
    ] = 9000,
    secrets: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            help="The endpoint's whsec_… secret (repeat it during a rotation). Default: a new "
            "one, printed at start, to give to `scanhook endpoint add --secret`.",
            show_default=False,
        ),
    ] = None,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Do not check signatures at all.")
    ] = False,
    status: Annotated[
        int,
        typer.Option("--status", min=100, max=599, help="The status to answer with."),
    ] = 200,
    fail_rate: Annotated[
        float,
        typer.Option(
            "--fail-rate",
            min=0.0,
            max=1.0,
            help="The fraction of requests answered 503 instead, to rehearse retries.",
        ),
    ] = 0.0,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON line per request (payload, signature…)."),
    ] = False,
) -> None:
    """Receive webhooks locally: verify each signature, print the notification, answer.

    Bad signatures are reported loudly and answered 401. Point an endpoint here:
    `scanhook endpoint add http://127.0.0.1:9000/ --secret <the secret printed at start>`
    (a service delivers to loopback only with SCANHOOK_ALLOW_PRIVATE_NETWORKS=true).
    """
    from scanhook.delivery.signing import generate_secret, validate_secret

    if no_verify and secrets:
        fail("--no-verify and --secret contradict each other; give one", 2)
    generated = None
    if not no_verify and not secrets:
        generated = generate_secret()
        secrets = [generated]
    for secret in secrets or []:
        try:
            validate_secret(secret)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--secret") from None
    from scanhook.receiver.app import Receiver, ReceiverOptions

    # Each request is printed and forgotten: only the counts are kept.
    options = ReceiverOptions(
        secrets=tuple(secrets or ()), status=status, fail_rate=fail_rate, keep=0, keep_bytes=0
    )
    notes = err if as_json else out

    def on_request(received: Received) -> None:
        if as_json:
            sys.stdout.write(json_line(received.as_json()) + "\n")
            sys.stdout.flush()
        else:
            out.print(describe(received))

    async def run() -> Receiver:
        receiver = Receiver(options, on_request)
        try:
            await receiver.start(host, port)
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        notes.print(Text.assemble(("listening on ", "bold"), (receiver.url, "bold cyan")))
        if generated:
            notes.print(Text.assemble(("secret: ", "bold"), generated))
            notes.print(
                Text(
                    f"  register it: scanhook endpoint add {receiver.url} --secret {generated}",
                    style="dim",
                )
            )
        elif no_verify:
            notes.print(Text("signatures are not checked (--no-verify)", style="yellow"))
        if status != 200 or fail_rate:
            notes.print(
                Text(
                    f"answering {status}"
                    + (f", {fail_rate:.0%} of requests 503" if fail_rate else ""),
                    style="yellow",
                )
            )
        notes.print(Text("Ctrl-C to stop", style="dim"))
        try:
            await stop.wait()
        finally:
            await receiver.stop()
        return receiver

    receiver = run_async(run())
    valid, invalid = receiver.counts["valid"], receiver.counts["invalid"]
    notes.print(
        Text(f"\n{receiver.total} received, {valid} verified, {invalid} with a bad signature")
    )


def register(app: typer.Typer) -> None:
    app.command("listen")(listen)
