"""Sealing every endpoint secret again with the first key of the ring (a key rotation), in the
caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from scanhook.store import queries as q
from scanhook.store.codec import sealed_where
from scanhook.store.records import is_secret_header
from scanhook.store.secretbox import KeyRing, keys_of

__all__ = ["Resealed", "reseal"]


@dataclass(frozen=True, slots=True)
class Resealed:
    """What :func:`reseal` did: endpoints seen, values sealed again, and the key they are all
    sealed with now."""

    endpoints: int
    values: int
    key_id: str


def _again(keys: KeyRing, sealed: str, where: str) -> tuple[str, bool]:
    if keys.is_current(sealed):
        return sealed, False
    return keys.seal(keys.open(sealed, where), where), True


def reseal(connection: Connection) -> Resealed:
    """Open every sealed value of every endpoint with whichever key of the ring sealed it and
    seal it again with the first key (values already sealed with it stay as they are). The
    plaintexts do not change, so neither do the endpoints' ``config_version``."""
    keys = keys_of(connection)
    endpoints = changed = 0
    for row in connection.execute(q.SEALED_COLUMNS).all():
        endpoints += 1
        count = 0
        secrets: list[dict[str, Any]] = []
        for item in row.secrets or ():
            value, again = _again(keys, item["value"], sealed_where(row.id, "secrets"))
            secrets.append({**item, "value": value})
            count += again
        auth = row.auth
        if auth is not None:
            sealed, again = _again(keys, auth["sealed"], sealed_where(row.id, "auth"))
            auth = {**auth, "sealed": sealed}
            count += again
        headers: dict[str, str] = {}
        for name, value in (row.headers or {}).items():
            if is_secret_header(name, row.secret_headers or ()):
                value, again = _again(keys, value, sealed_where(row.id, f"header {name}"))
                count += again
            headers[name] = value
        if count:
            connection.execute(
                q.SET_SEALED_COLUMNS,
                {"b_id": row.id, "b_secrets": secrets, "b_auth": auth, "b_headers": headers},
            )
            changed += count
    return Resealed(endpoints, changed, keys.primary)
