"""``scanhook config show`` and ``scanhook token create|list|revoke``: the operator's settings and
the API's tokens. Tokens live in the database, so these commands open it directly."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from scanhook.cli.common import DatabaseOption, JsonOption, print_json, run_async, settings_or_exit
from scanhook.cli.output import err, out
from scanhook.redaction import MASK, mask_url

if TYPE_CHECKING:
    from scanhook.cli.local import LocalBackend
    from scanhook.config import Settings

__all__ = ["mask_url", "register"]

config_app = typer.Typer(help="The configuration scanhook runs with.", no_args_is_help=True)
token_app = typer.Typer(
    help="API tokens (stored hashed in the database; SCANHOOK_API_TOKEN is a fixed one).",
    no_args_is_help=True,
)

_SECRET_FIELDS = frozenset({"api_token"})


def _file_settings() -> tuple[str | None, dict[str, Any]]:
    path = os.environ.get("SCANHOOK_CONFIG")
    if not path:
        return None, {}
    try:
        with Path(path).open("rb") as handle:
            return path, tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return path, {}  # load_settings has already reported a broken file


def _shown(name: str, value: Any) -> Any:
    from pydantic import SecretStr

    if isinstance(value, SecretStr) or name in _SECRET_FIELDS:
        return None if value is None else MASK
    if name in ("database_url", "api_url") and isinstance(value, str):
        return mask_url(value)
    return value


def _rows(settings: Settings, database_url: str | None) -> list[dict[str, Any]]:
    from scanhook.config import Settings

    _, from_file = _file_settings()
    rows = []
    for name, field in Settings.model_fields.items():
        variable = f"SCANHOOK_{name.upper()}"
        if name == "database_url" and database_url is not None and variable not in os.environ:
            source = "flag"
        elif variable in os.environ:
            source = "environment"
        elif name in from_file:
            source = "file"
        else:
            source = "default"
        rows.append(
            {
                "name": name,
                "variable": variable,
                "value": _shown(name, getattr(settings, name)),
                "source": source,
                "description": field.description or "",
            }
        )
    return rows


@config_app.command("show")
def config_show(database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Every setting, its value and where it came from (a flag, the environment, the
    SCANHOOK_CONFIG file or the default); secrets are masked."""
    settings = settings_or_exit(database_url=database_url)
    rows = _rows(settings, database_url)
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title="scanhook configuration", title_justify="left")
    table.add_column("VARIABLE", no_wrap=True, style="bold")
    table.add_column("VALUE", overflow="fold")
    table.add_column("FROM", no_wrap=True)
    for row in rows:
        value = row["value"]
        shown = Text("—", style="dim") if value is None else Text(str(value))
        source = Text(row["source"], style="dim" if row["source"] == "default" else "cyan")
        table.add_row(row["variable"], shown, source)
    out.print(table)
    path, _ = _file_settings()
    if path:
        out.print(Text(f"configuration file: {path} (SCANHOOK_CONFIG)", style="dim"))


def _tokens(database_url: str | None, action: Any) -> Any:
    settings = settings_or_exit(database_url=database_url)

    from scanhook.cli.local import LocalBackend
    from scanhook.hub import Hub

    async def go() -> Any:
        async with Hub(settings) as hub:
            return await action(LocalBackend(hub))

    return run_async(go())


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'platform backend'.")],
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make an API token and print it; this is the only time it is shown."""

    async def action(backend: LocalBackend) -> Any:
        return await backend.create_token(name)

    created = _tokens(database_url, action)
    if as_json:
        print_json(created)
        return
    out.print(Text(str(created["token"]), style="bold"))
    err.print(
        Text(
            f"token {created['id']} ({name}) created; it is shown only now: store it where the "
            "client can read it, then send 'Authorization: Bearer <token>'.",
            style="dim",
        )
    )


@token_app.command("list")
def token_list(database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """The tokens (never their values): name, when made, last used, revoked."""

    async def action(backend: LocalBackend) -> Any:
        return await backend.list_tokens()

    tokens = _tokens(database_url, action)
    if as_json:
        print_json(tokens)
        return
    from rich.table import Table

    table = Table(title=f"{len(tokens)} token(s)", title_justify="left")
    table.add_column("ID", no_wrap=True)
    for column in ("NAME", "STATE", "CREATED", "LAST USED"):
        table.add_column(column, overflow="fold")
    for t in tokens:
        state = Text("active", style="green") if t["active"] else Text("revoked", style="red")
        table.add_row(t["id"], t["name"], state, _short(t["created_at"]), _short(t["last_used_at"]))
    out.print(table)


def _short(value: str | None) -> str:
    return "" if value is None else value[:19].replace("T", " ")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID", help="The token's id (tok_…).")],
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a token at once: requests with it get 401 from then on."""

    async def action(backend: LocalBackend) -> Any:
        return await backend.revoke_token(token_id)

    revoked = _tokens(database_url, action)
    if as_json:
        print_json(revoked)
    else:
        out.print(Text(f"token {token_id} ({revoked['name']}) revoked", style="bold"))


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
    app.add_typer(token_app, name="token")
