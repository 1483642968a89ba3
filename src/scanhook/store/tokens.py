"""API tokens: statements and transaction bodies, dialect-neutral (SQLAlchemy Core)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from scanhook.errors import ConflictError, NotFound
from scanhook.store.records import ApiToken
from scanhook.store.tables import api_tokens

__all__ = ["create_token", "find_token", "list_tokens", "revoke_token", "touch_token"]

INSERT_TOKEN = insert(api_tokens)
TOKEN_BY_ID = select(api_tokens).where(api_tokens.c.id == bindparam("id"))
TOKEN_BY_HASH = select(api_tokens).where(api_tokens.c.token_hash == bindparam("token_hash"))
ALL_TOKENS = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
TOUCH_TOKEN = (
    update(api_tokens)
    .where(api_tokens.c.id == bindparam("b_id"))
    .values(last_used_at=bindparam("now"))
)
REVOKE_TOKEN = (
    update(api_tokens)
    .where(api_tokens.c.id == bindparam("b_id"), api_tokens.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)


def _token(row: Row[Any]) -> ApiToken:
    m = row._mapping
    return ApiToken(
        id=m["id"],
        name=m["name"],
        token_hash=m["token_hash"],
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
    )


def _get(connection: Connection, token_id: str) -> ApiToken:
    row = connection.execute(TOKEN_BY_ID, {"id": token_id}).first()
    if row is None:
        raise NotFound(f"token {token_id!r}: no such token")
    return _token(row)


def create_token(connection: Connection, token: ApiToken) -> ApiToken:
    values = {
        "id": token.id,
        "name": token.name,
        "token_hash": token.token_hash,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }
    try:
        with connection.begin_nested():
            connection.execute(INSERT_TOKEN, values)
    except IntegrityError as exc:
        raise ConflictError(f"token {token.id!r}: a token with this id or hash exists") from exc
    return _get(connection, token.id)


def list_tokens(connection: Connection) -> list[ApiToken]:
    return [_token(row) for row in connection.execute(ALL_TOKENS)]


def find_token(connection: Connection, token_hash: str) -> ApiToken | None:
    row = connection.execute(TOKEN_BY_HASH, {"token_hash": token_hash}).first()
    return None if row is None else _token(row)


def touch_token(connection: Connection, token_id: str, now: float) -> None:
    connection.execute(TOUCH_TOKEN, {"b_id": token_id, "now": now})


def revoke_token(connection: Connection, token_id: str, now: float) -> ApiToken:
    _get(connection, token_id)
    connection.execute(REVOKE_TOKEN, {"b_id": token_id, "now": now})
    return _get(connection, token_id)
