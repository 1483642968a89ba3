"""What every command shares: the connection options, settings, errors as messages and exit
codes (never a traceback), and running a coroutine."""

from __future__ import annotations

import json
import os
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.text import Text

from scanhook.cli.output import err, write_bytes
from scanhook.errors import ScanhookError

if TYPE_CHECKING:
    from scanhook.config import Settings

__all__ = [
    "ApiUrlOption",
    "DatabaseOption",
    "JsonOption",
    "TokenOption",
    "connection_settings",
    "fail",
    "print_json",
    "run_async",
    "settings_or_exit",
]

T = TypeVar("T")

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="SCANHOOK_DATABASE_URL",
        help="sqlite:///path or postgresql://… (default sqlite:///./scanhook.db).",
        show_envvar=True,
        show_default=False,
    ),
]
ApiUrlOption = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        envvar="SCANHOOK_API_URL",
        help="Talk to a running scanhook service (e.g. http://127.0.0.1:8080) instead of "
        "opening the database directly.",
        show_envvar=True,
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="SCANHOOK_API_TOKEN",
        help="The API token, with --api-url.",
        show_envvar=True,
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    err.print(Text.assemble(("error: ", "bold red"), message))
    raise typer.Exit(code)


def settings_or_exit(**overrides: Any) -> Settings:
    """The validated settings (``None`` overrides are left out), or a clear message and exit 2."""
    from scanhook.config import load_settings

    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ScanhookError as exc:
        fail(exc.message, 2)


def run_async(coro: Coroutine[Any, Any, T], event_loop: str | None = None) -> T:
    """Run ``coro`` on the chosen event loop (``event_loop``, else ``SCANHOOK_EVENT_LOOP``, else
    auto: see :mod:`scanhook.eventloop`); a scanhook error becomes its message and exit status 1,
    Ctrl-C exit 130."""
    from scanhook.eventloop import run

    try:
        return run(coro, event_loop)
    except ScanhookError as exc:
        fail(exc.message)
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise  # the coroutine has already said what went wrong (fail())
    except Exception as exc:
        if os.environ.get("SCANHOOK_LOG_LEVEL", "").lower() == "debug":
            raise
        fail(
            f"unexpected failure ({type(exc).__name__}: {exc}); "
            "run again with SCANHOOK_LOG_LEVEL=debug to see where"
        )


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout."""
    write_bytes(json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8") + b"\n")


def connection_settings(
    database_url: str | None, api_url: str | None, token: str | None
) -> Settings:
    """The settings for a management command: the database, or a service and its token."""
    return settings_or_exit(database_url=database_url, api_url=api_url, api_token=token)
