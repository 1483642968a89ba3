"""Bearer-token authentication of every ``/v1`` route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scanhook.api.errors import ApiError
from scanhook.api.state import hub_of

__all__ = ["bearer", "require_token"]

bearer = HTTPBearer(
    auto_error=False,
    description="An API token (scanhook token create, or SCANHOOK_API_TOKEN).",
)


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """401 unless the request carries ``Authorization: Bearer <valid token>``."""
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401,
            "unauthorized",
            "missing bearer token: send 'Authorization: Bearer <token>'",
            field="Authorization",
        )
    hub = hub_of(request)
    if not await hub.authenticate(credentials.credentials):
        raise ApiError(
            401,
            "unauthorized",
            "the bearer token is not valid (unknown or revoked)",
            field="Authorization",
        )
