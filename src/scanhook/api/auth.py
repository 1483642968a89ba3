"""Bearer-token authentication of every ``/v1`` route, and of ``/metrics`` when it has a token of
its own."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scanhook.api.errors import ApiError
from scanhook.api.state import hub_of

__all__ = ["bearer", "metrics_bearer", "require_metrics_token", "require_token"]

bearer = HTTPBearer(
    auto_error=False,
    description="An API token (scanhook token create, or SCANHOOK_API_TOKEN).",
)

metrics_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="MetricsToken",
    description="SCANHOOK_METRICS_TOKEN, when it is set (then /metrics needs it).",
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


async def require_metrics_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(metrics_bearer)],
) -> None:
    """When SCANHOOK_METRICS_TOKEN is set, 401 unless the request carries exactly that token
    (compared in constant time). API tokens are not accepted: a monitoring system needs no API
    access, and the metrics token gives none."""
    expected = hub_of(request).settings.metrics_token
    if expected is None:
        return
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401,
            "unauthorized",
            "missing bearer token: /metrics needs 'Authorization: Bearer <SCANHOOK_METRICS_TOKEN>'",
            field="Authorization",
        )
    if not hmac.compare_digest(
        credentials.credentials.encode("utf-8"), expected.get_secret_value().encode("utf-8")
    ):
        raise ApiError(
            401,
            "unauthorized",
            "the bearer token is not the metrics token (SCANHOOK_METRICS_TOKEN)",
            field="Authorization",
        )
