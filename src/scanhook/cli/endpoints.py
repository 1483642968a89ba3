"""``scanhook endpoint …``: where notifications go, on the database or through ``--api-url``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
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
from scanhook.cli.output import out
from scanhook.cli.render import endpoint_detail, endpoints_table
from scanhook.notifications.event_types import EVENT_TYPES

__all__ = ["endpoint_app", "register"]

endpoint_app = typer.Typer(
    help="Endpoints: the URLs scanhook delivers to, with their event types, format and secret.",
    no_args_is_help=True,
)

IdArgument = Annotated[str, typer.Argument(metavar="ENDPOINT_ID", help="The endpoint's id (ep_…).")]
EventTypesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--event-type",
        "-e",
        help="An event type or glob to deliver (repeat it): "
        + ", ".join(EVENT_TYPES)
        + ", ticket.* or *. Default: all.",
        show_default=False,
    ),
]
DescriptionOption = Annotated[
    str | None, typer.Option("--description", "-d", help="A note for people.", show_default=False)
]
HeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--header",
        "-H",
        metavar="NAME:VALUE",
        help="An extra request header (repeat it).",
        show_default=False,
    ),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="raw (the contract's JSON, default), cloudevents, slack, teams, pagerduty, jira, "
        "servicenow, splunk, ocsf or template.",
        show_default=False,
    ),
]
FilterOption = Annotated[
    str | None,
    typer.Option(
        "--filter",
        help='Deliver only what matches, e.g. \'ticket.severity in ["High", "Critical"]\'.',
        show_default=False,
    ),
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout", min=0.1, max=300, help="Seconds for one attempt.", show_default=False
    ),
]
MaxInFlightOption = Annotated[
    int | None,
    typer.Option("--max-in-flight", min=1, max=1000, help="Attempts at once.", show_default=False),
]
RateLimitOption = Annotated[
    float | None,
    typer.Option("--rate-limit", min=0.001, help="Requests per second.", show_default=False),
]


def _headers(values: list[str] | None) -> dict[str, str] | None:
    if values is None:
        return None
    headers: dict[str, str] = {}
    for value in values:
        name, sep, header_value = value.partition(":")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{value!r} is not NAME:VALUE", param_hint="--header")
        headers[name.strip()] = header_value.strip()
    return headers


def _fields(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _act(
    database_url: str | None,
    api_url: str | None,
    token: str | None,
    action: Any,
) -> Any:
    settings = connection_settings(database_url, api_url, token)

    async def go() -> Any:
        async with connect(settings) as backend:
            return await action(backend)

    return run_async(go())


def _show(endpoint: dict[str, Any], as_json: bool, headline: str | None = None) -> None:
    if as_json:
        print_json(endpoint)
        return
    if headline:
        out.print(Text(headline, style="bold green"))
    out.print(endpoint_detail(endpoint))


SecretHeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--secret-header",
        help="A header (given with -H) whose value is a credential: encrypted at rest and"
        " masked. Repeatable.",
    ),
]


@endpoint_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="Where to POST the notifications, http(s)://…")],
    event_types: EventTypesOption = None,
    secret: Annotated[
        str | None,
        typer.Option("--secret", help="whsec_… signing secret; generated when omitted."),
    ] = None,
    description: DescriptionOption = None,
    header: HeaderOption = None,
    secret_header: SecretHeaderOption = None,
    legacy_headers: Annotated[
        bool,
        typer.Option(
            "--legacy-headers", help="Also send Content_Type and Content_Length (the seed's)."
        ),
    ] = False,
    format_: FormatOption = None,
    filter_: FilterOption = None,
    timeout: TimeoutOption = None,
    max_in_flight: MaxInFlightOption = None,
    rate_limit: RateLimitOption = None,
    ordered: Annotated[
        bool, typer.Option("--ordered", help="Deliver one at a time, in event order.")
    ] = False,
    disabled: Annotated[
        bool, typer.Option("--disabled", help="Create it disabled (enable it later).")
    ] = False,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register an endpoint and print its id and signing secret.

    Example: `scanhook endpoint add https://tracker.example.com/hooks -e 'ticket.*'`
    """
    fields = _fields(
        url=url,
        event_types=event_types or None,
        secret=secret,
        description=description,
        headers=_headers(header),
        secret_headers=secret_header or None,
        legacy_headers=legacy_headers or None,
        format=format_,
        filter=filter_,
        timeout=timeout,
        max_in_flight=max_in_flight,
        rate_limit=rate_limit,
        ordered=ordered or None,
        enabled=False if disabled else None,
    )

    async def action(backend: Backend) -> dict[str, Any]:
        return await backend.add_endpoint(fields)

    endpoint = _act(database_url, api_url, token, action)
    if as_json:
        print_json(endpoint)
        return
    out.print(endpoint_detail(endpoint))
    out.print(Text(f"endpoint {endpoint.get('id')} added", style="bold green"))
    out.print(
        Text(
            "Keep the secret: the receiver verifies each delivery's signature with it. "
            f"Rehearse locally: scanhook listen --secret {endpoint.get('secret', '…')}",
            style="dim",
        )
    )


@endpoint_app.command("list")
def list_(
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the endpoints."""

    async def action(backend: Backend) -> list[dict[str, Any]]:
        return await backend.list_endpoints()

    endpoints = _act(database_url, api_url, token, action)
    if as_json:
        print_json(endpoints)
    else:
        out.print(endpoints_table(endpoints))


@endpoint_app.command("show")
def show(
    endpoint_id: IdArgument,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one endpoint: its configuration and health."""

    async def action(backend: Backend) -> dict[str, Any]:
        return await backend.get_endpoint(endpoint_id)

    _show(_act(database_url, api_url, token, action), as_json)


@endpoint_app.command("update")
def update(
    endpoint_id: IdArgument,
    url: Annotated[str | None, typer.Option("--url", help="A new URL.", show_default=False)] = None,
    event_types: EventTypesOption = None,
    description: DescriptionOption = None,
    header: HeaderOption = None,
    secret_header: SecretHeaderOption = None,
    legacy_headers: Annotated[
        bool | None,
        typer.Option(
            "--legacy-headers/--no-legacy-headers",
            help="Send (or stop sending) Content_Type and Content_Length.",
            show_default=False,
        ),
    ] = None,
    format_: FormatOption = None,
    filter_: FilterOption = None,
    timeout: TimeoutOption = None,
    max_in_flight: MaxInFlightOption = None,
    rate_limit: RateLimitOption = None,
    ordered: Annotated[
        bool | None,
        typer.Option(
            "--ordered/--unordered", help="Deliver in event order, or not.", show_default=False
        ),
    ] = None,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change an endpoint; options left out stay as they are."""
    changes = _fields(
        url=url,
        event_types=event_types or None,
        description=description,
        headers=_headers(header),
        secret_headers=secret_header or None,
        legacy_headers=legacy_headers,
        format=format_,
        filter=filter_,
        timeout=timeout,
        max_in_flight=max_in_flight,
        rate_limit=rate_limit,
        ordered=ordered,
    )
    if not changes:
        fail("nothing to change: give at least one option (see scanhook endpoint update --help)", 2)

    async def action(backend: Backend) -> dict[str, Any]:
        return await backend.update_endpoint(endpoint_id, changes)

    _show(_act(database_url, api_url, token, action), as_json, f"endpoint {endpoint_id} updated")


@endpoint_app.command("delete")
def delete(
    endpoint_id: IdArgument,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete an endpoint; its pending deliveries become failed ("endpoint deleted")."""

    async def action(backend: Backend) -> None:
        await backend.delete_endpoint(endpoint_id)

    _act(database_url, api_url, token, action)
    if as_json:
        print_json({"id": endpoint_id, "deleted": True})
    else:
        out.print(Text(f"endpoint {endpoint_id} deleted", style="bold"))


def _set_enabled(
    endpoint_id: str,
    enabled: bool,
    database_url: str | None,
    api_url: str | None,
    token: str | None,
    as_json: bool,
) -> None:
    async def action(backend: Backend) -> dict[str, Any]:
        return await backend.set_enabled(endpoint_id, enabled)

    endpoint = _act(database_url, api_url, token, action)
    _show(endpoint, as_json, f"endpoint {endpoint_id} {'enabled' if enabled else 'disabled'}")


@endpoint_app.command("enable")
def enable(
    endpoint_id: IdArgument,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Enable an endpoint: its circuit closes and its pending deliveries resume."""
    _set_enabled(endpoint_id, True, database_url, api_url, token, as_json)


@endpoint_app.command("disable")
def disable(
    endpoint_id: IdArgument,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Disable an endpoint: nothing is sent; pending deliveries wait, new events skip it."""
    _set_enabled(endpoint_id, False, database_url, api_url, token, as_json)


@endpoint_app.command("rotate-secret")
def rotate_secret(
    endpoint_id: IdArgument,
    expire_previous: Annotated[
        bool,
        typer.Option(
            "--expire-previous",
            help="End the previous secrets now (one leaked) instead of after the overlap.",
        ),
    ] = False,
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give an endpoint a new signing secret; the old one keeps signing beside it for the
    overlap (SCANHOOK_SECRET_OVERLAP, default 24 h) so the receiver can switch at leisure.
    At most the two newest previous secrets keep signing."""

    async def action(backend: Backend) -> dict[str, Any]:
        return await backend.rotate_secret(endpoint_id, expire_previous=expire_previous)

    result = _act(database_url, api_url, token, action)
    if as_json:
        print_json(result)
        return
    out.print(Text.assemble(("new secret: ", "bold"), str(result.get("secret"))))
    hint = (
        "The previous secrets no longer sign; update the receiver now."
        if expire_previous
        else "Deliveries carry both signatures until the overlap ends; update the receiver."
    )
    out.print(Text(hint, style="dim"))


@endpoint_app.command("test")
def send_test(
    endpoint_id: IdArgument,
    event_type: Annotated[
        str,
        typer.Option(
            "--event-type", "-e", help="The sample to send: " + ", ".join(EVENT_TYPES) + "."
        ),
    ] = "finished_scan",
    database_url: DatabaseOption = None,
    api_url: ApiUrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send one sample notification now (outside the queue) as a delivery would go: signed,
    in the endpoint's format, with its credentials. Nothing is stored. Show the answer.

    Exit status 1 when the endpoint did not answer with a 2xx.
    """
    if event_type not in EVENT_TYPES:
        raise typer.BadParameter(
            f"{event_type!r} is not an event type; use one of " + ", ".join(EVENT_TYPES),
            param_hint="--event-type",
        )

    async def action(backend: Backend) -> dict[str, Any]:
        return await backend.test_endpoint(endpoint_id, event_type)

    result = _act(database_url, api_url, token, action)
    if as_json:
        print_json(result)
    else:
        ok = bool(result.get("succeeded"))
        out.print(
            Text.assemble(
                ("ok" if ok else "failed", "bold green" if ok else "bold red"),
                f"  HTTP {result.get('status_code') or '—'} in {result.get('duration_ms')} ms",
                f"  {result.get('error')}" if result.get("error") else "",
            )
        )
        if result.get("response_body"):
            out.print(Text(str(result["response_body"])[:500], style="dim"))
    if not result.get("succeeded"):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(endpoint_app, name="endpoint")
