"""``scanhook secrets``: the key that encrypts endpoint secrets at rest.

``generate-key`` prints a new key. ``rotate-key`` seals every endpoint secret again with a new
key: with ``SCANHOOK_SECRET_KEY`` set, the first of its keys (the operator puts the new key first
and keeps the old ones after it until this has run); with the key file of a SQLite database, a
key it generates, which replaces the old one in the file.
"""

from __future__ import annotations

import typer
from rich.text import Text

from scanhook.cli.common import DatabaseOption, fail, run_async, settings_or_exit
from scanhook.cli.output import err, out

__all__ = ["register"]

secrets_app = typer.Typer(
    help="The key that encrypts endpoint secrets at rest (SCANHOOK_SECRET_KEY or the key file).",
    no_args_is_help=True,
)


@secrets_app.command("generate-key")
def generate_key() -> None:
    """Print a new random key for SCANHOOK_SECRET_KEY (32 bytes, URL-safe base64)."""
    from scanhook.store.secretbox import generate_key as new_key

    out.print(new_key(), soft_wrap=True)


@secrets_app.command("rotate-key")
def rotate_key(database_url: DatabaseOption = None) -> None:
    """Encrypt every endpoint secret again under a new key.

    With SCANHOOK_SECRET_KEY: put the new key first and the old one(s) after it
    (SCANHOOK_SECRET_KEY=new,old) in every process, then run this; afterwards drop the old keys.
    With the key file of a SQLite database (no SCANHOOK_SECRET_KEY): a new key is made and
    replaces the old one in the file; stop the scanhook processes on that database first.
    """
    from scanhook.hub import Hub
    from scanhook.store.resealing import Resealed
    from scanhook.store.secretbox import generate_key as new_key
    from scanhook.store.secretbox import key_file_of, write_key_file
    from scanhook.store.sqlite_engine import sqlite_path

    settings = settings_or_exit(database_url=database_url)
    key_file = None
    old_keys: list[str] = []
    if settings.secret_key is None:
        if not settings.database_url.startswith("sqlite:"):
            fail(
                "SCANHOOK_SECRET_KEY is required with PostgreSQL (see --help for the procedure)", 2
            )
        key_file = key_file_of(sqlite_path(settings.database_url))
        if key_file.exists():
            old_keys = key_file.read_text(encoding="ascii").split()
        # The new key first, the old ones after it: both open what the file's old key sealed,
        # so a failure anywhere below leaves a database that still opens.
        key = new_key()
        write_key_file(key_file, [key, *old_keys])

    async def go() -> Resealed:
        async with Hub(settings) as hub:
            return await hub.reseal_secrets()

    resealed = run_async(go())
    if key_file is not None:
        write_key_file(key_file, [key])
    out.print(
        Text(
            f"{resealed.values} secret(s) of {resealed.endpoints} endpoint(s) encrypted again;"
            f" every secret is now encrypted with key {resealed.key_id}",
            style="bold",
        )
    )
    configured = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if key_file is not None:
        err.print(
            Text(
                f"The key file {key_file} now holds the new key only; restart the scanhook"
                " processes that use this database.",
                style="dim",
            )
        )
    elif "," in configured:
        err.print(
            Text(
                "Now remove the old key(s) from SCANHOOK_SECRET_KEY in every process"
                " (keep the first one).",
                style="dim",
            )
        )
    else:
        err.print(
            Text(
                "SCANHOOK_SECRET_KEY holds one key: nothing was rotated. To rotate, set"
                " SCANHOOK_SECRET_KEY=<new>,<old> (scanhook secrets generate-key) and run this"
                " again.",
                style="dim",
            )
        )


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")
